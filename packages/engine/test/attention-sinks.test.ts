// A model's attention sinks (AttentionIO.sinks) reach the attention: on the CPU backend the
// engine passes them to fa3's referenceAttention (the CUDA backend passes them to fa3's forward
// the same way, through attn-metadata's forwardArgs), read when the attention runs, so a captured
// graph sees the values of each replay.
import type { GraphMode } from '@flashgraph/config';
import { describe, expect, it } from 'vitest';
import { type AttentionIO, createEngine, type Model, syntheticDecoder } from '../src/index.js';
import { referenceGenerate, rng } from './helpers/reference-model.js';

const inner = syntheticDecoder({ numLayers: 2, numHeadsQ: 4, numHeadsKv: 2, headDim: 64, vocabSize: 512 });

/** The synthetic decoder with one fixed sinks buffer, given to every attention call. */
function withSinks(sinks: Float32Array): Model {
  return {
    ...inner,
    name: `${inner.name} + sinks`,
    load(context) {
      const loaded = inner.load(context);
      return {
        *forward(ctx) {
          const attention = ctx.attention as (
            layer: number,
            io: AttentionIO<unknown>,
          ) => ReturnType<typeof ctx.attention>;
          const wrapped = Object.create(ctx, {
            attention: { value: (layer: number, io: AttentionIO<unknown>) => attention(layer, { ...io, sinks }) },
          });
          yield* loaded.forward(wrapped);
        },
        dispose: () => loaded.dispose(),
      };
    },
  };
}

const requests = (() => {
  const r = rng(11);
  return Array.from({ length: 6 }, () => ({
    promptTokens: Array.from({ length: 1 + Math.floor(r() * 20) }, () => Math.floor(r() * 512)),
    maxNewTokens: 1 + Math.floor(r() * 6),
  }));
})();

describe('attention sinks through the engine (CPU backend)', () => {
  it.each<GraphMode>(['none', 'full'])(
    'mode %s: tokens equal the reference with the sinks; new values reach the next run',
    async (mode) => {
      const sinks = new Float32Array(inner.shape.numHeadsQ);
      const engine = await createEngine({
        model: withSinks(sinks),
        cache: { blockSize: 4, numBlocks: 64 },
        limits: { maxNumSeqs: 4, maxNumBatchedTokens: 16 },
        backend: 'cpu',
        graph: { mode },
      });
      try {
        // The same buffer, new values each round (a captured graph is not recaptured).
        for (const values of [
          [0.5, -1, 2, Number.NEGATIVE_INFINITY],
          [4, 4, -3, 1],
          new Array(4).fill(Number.NEGATIVE_INFINITY),
        ]) {
          sinks.set(values);
          for (const r of requests) engine.addRequest(r);
          const { outputs } = await engine.run();
          let changed = false;
          for (const [i, o] of outputs.entries()) {
            const r = requests[i]!;
            expect([...o.outputTokens], `request ${i}, sinks ${values}`).toEqual(
              referenceGenerate(inner.shape, r.promptTokens, r.maxNewTokens, sinks),
            );
            changed ||= o.outputTokens.join() !== referenceGenerate(inner.shape, r.promptTokens, r.maxNewTokens).join();
          }
          // Finite sinks change some request's tokens (so they were applied); all -Infinity is none.
          expect(changed, `sinks ${values}`).toBe(values.some((v) => v !== Number.NEGATIVE_INFINITY));
        }
      } finally {
        engine.dispose();
      }
    },
  );

  it('the sinks change the tokens (they are not ignored)', () => {
    const big = new Float32Array(inner.shape.numHeadsQ).fill(3);
    const differs = requests.some(
      (r) =>
        referenceGenerate(inner.shape, r.promptTokens, r.maxNewTokens, big).join() !==
        referenceGenerate(inner.shape, r.promptTokens, r.maxNewTokens).join(),
    );
    expect(differs).toBe(true);
  });
});
