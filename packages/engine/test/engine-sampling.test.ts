import type { GraphMode } from '@flashgraph/config';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/index.js';
import { logitsModel } from './helpers/logits-model.js';

const model = logitsModel();
const base = {
  model,
  cache: { blockSize: 4, numBlocks: 64 },
  limits: { maxNumSeqs: 4, maxNumBatchedTokens: 16 },
  backend: 'cpu' as const,
};
const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22], [30, 31]];

async function generate(mode: GraphMode, requests: { promptTokens: number[]; maxNewTokens: number }[]) {
  const engine = await createEngine({ ...base, graph: { mode } });
  for (const r of requests) engine.addRequest(r);
  const { outputs } = await engine.run();
  engine.dispose();
  return outputs.map((o) => [...o.outputTokens]);
}

describe('ctx.sample on the CPU backend', () => {
  it('greedy tokens are the same alone, batched, and in every graph mode', async () => {
    const alone = [];
    for (const p of prompts) alone.push(...(await generate('none', [{ promptTokens: p, maxNewTokens: 6 }])));
    for (const mode of ['none', 'piecewise', 'full', 'full_and_piecewise'] as const) {
      const batched = await generate(
        mode,
        prompts.map((p) => ({ promptTokens: p, maxNewTokens: 6 })),
      );
      expect(batched, mode).toEqual(alone);
    }
    // Not a degenerate model: the requests produce different continuations.
    expect(new Set(alone.map((t) => t.join())).size).toBeGreaterThan(1);
  });
});
