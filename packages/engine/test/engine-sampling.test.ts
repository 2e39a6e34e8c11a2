import type { GraphMode } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import { referenceAttention } from '@flashgraph/fa3';
import { nameOfThrown, throwingProxy, trap } from '@flashgraph/tooling/hostile';
import { describe, expect, it } from 'vitest';
import { attentionWindow } from '../src/attention-window.js';
import {
  type AddRequestOptions,
  checkSamplingOptions,
  createEngine,
  type Model,
  UnknownRequestError,
} from '../src/index.js';
import { CpuSampler } from '../src/sampling/cpu-sampler.js';
import { bigramLogits, logitsModel } from './helpers/logits-model.js';

const model = logitsModel();
const base = {
  model,
  cache: { blockSize: 4, numBlocks: 64 },
  limits: { maxNumSeqs: 4, maxNumBatchedTokens: 16 },
  backend: 'cpu' as const,
};
const prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22], [30, 31]];
const MODES = ['none', 'piecewise', 'full', 'full_and_piecewise'] as const;

async function generate(mode: GraphMode, requests: AddRequestOptions[], m: Model = model) {
  const engine = await createEngine({ ...base, model: m, graph: { mode } });
  for (const r of requests) engine.addRequest(r);
  const { outputs } = await engine.run();
  engine.dispose();
  return outputs;
}
const tokensOf = (outputs: readonly { outputTokens: readonly number[] }[]) => outputs.map((o) => [...o.outputTokens]);

describe('sampling in the engine (CPU backend)', () => {
  it('greedy tokens are the same alone, batched, and in every graph mode', async () => {
    const alone = [];
    for (const p of prompts) alone.push(...tokensOf(await generate('none', [{ promptTokens: p, maxNewTokens: 6 }])));
    for (const mode of MODES) {
      const batched = tokensOf(
        await generate(
          mode,
          prompts.map((p) => ({ promptTokens: p, maxNewTokens: 6 })),
        ),
      );
      expect(batched, mode).toEqual(alone);
    }
    // Not a degenerate model: the requests produce different continuations.
    expect(new Set(alone.map((t) => t.join())).size).toBeGreaterThan(1);
  });

  it('a seeded request samples the same tokens whatever its batch-mates, slot and graph mode', async () => {
    const target: AddRequestOptions = {
      promptTokens: [7, 8, 9],
      maxNewTokens: 10,
      temperature: 1.5,
      topK: 40,
      seed: 1234,
    };
    const [alone] = tokensOf(await generate('none', [target]));
    const mates = (seed: number): AddRequestOptions[] =>
      prompts.slice(0, 3).map((p, i) => ({ promptTokens: p, maxNewTokens: 4 + i, temperature: 1, seed: seed + i }));
    for (const mode of MODES) {
      // Last slot behind three others, then first slot with different mates.
      const late = tokensOf(await generate(mode, [...mates(1), target]));
      const early = tokensOf(await generate(mode, [target, ...mates(50)]));
      expect(late[3], `${mode}, slot 3`).toEqual(alone);
      expect(early[0], `${mode}, slot 0`).toEqual(alone);
    }
    // The seed matters (and sampling is not greedy here).
    const other = tokensOf(await generate('none', [{ ...target, seed: 99 }]));
    const greedy = tokensOf(await generate('none', [{ ...target, temperature: 0 }]));
    expect(other[0]).not.toEqual(alone);
    expect(greedy[0]).not.toEqual(alone);
  });

  it('unseeded requests get a random seed, reported in the output', async () => {
    const outs = await generate('none', [
      { promptTokens: [1], maxNewTokens: 2, temperature: 1 },
      { promptTokens: [1], maxNewTokens: 2, temperature: 1 },
      { promptTokens: [1], maxNewTokens: 2, temperature: 1, seed: 5 },
    ]);
    expect(outs[0]?.seed).not.toBe(outs[1]?.seed);
    expect(outs[2]?.seed).toBe(5);
    const again = await generate('none', [{ promptTokens: [1], maxNewTokens: 2, temperature: 1, seed: outs[0]?.seed }]);
    expect(again[0]?.outputTokens).toEqual(outs[0]?.outputTokens);
  });

  it('logprobs are the raw-logit log-softmax of each token, also under temperature and filters', async () => {
    const V = 64;
    const bigram = logitsModel({ head: 'bigram' });
    const engine = await createEngine({ ...base, model: bigram, graph: { mode: 'full_and_piecewise' } });
    engine.addRequest({ promptTokens: [3, 4], maxNewTokens: 5 });
    engine.addRequest({ promptTokens: [9], maxNewTokens: 5, temperature: 0.7, topK: 5, topP: 0.9, seed: 8 });
    const streamed: { id: number; token: number; logprob: number }[] = [];
    const outputs = [];
    while (engine.numWaiting + engine.numRunning > 0) {
      const step = await engine.step();
      streamed.push(...step.sampled);
      outputs.push(...step.finished);
    }
    engine.dispose();
    const sampler = new CpuSampler(V);
    for (const o of outputs) {
      let prev = o.id === 0 ? 4 : 9;
      for (const [i, token] of o.outputTokens.entries()) {
        const logits = bigramLogits(prev, V);
        const lse = Math.log(logits.reduce((a, l) => a + Math.exp(l), 0));
        expect(o.logprobs[i]).toBeCloseTo((logits[token] as number) - lse, 5);
        if (o.id === 0)
          expect(token).toBe(sampler.sampleRow(logits, 0, { temperature: 0, topK: 0, topP: 1, seed: 0 }, 0).token);
        prev = token;
      }
      // The stream carried the same tokens and logprobs.
      const mine = streamed.filter((s) => s.id === o.id);
      expect(mine.map((s) => s.token)).toEqual([...o.outputTokens]);
      expect(mine.map((s) => s.logprob)).toEqual([...o.logprobs]);
    }
    // Request 1's tokens are the contract-B draws at positions 1..5 (prompt length 1).
    const o1 = outputs.find((o) => o.id === 1);
    let prev = 9;
    for (const [i, token] of (o1?.outputTokens ?? []).entries()) {
      const expected = sampler.sampleRow(
        bigramLogits(prev, V),
        0,
        { temperature: 0.7, topK: 5, topP: 0.9, seed: 8 },
        1 + i,
      );
      expect(token).toBe(expected.token);
      prev = token;
    }
  });
});

describe('stopping', () => {
  const eosModel = (eos: number[]) => logitsModel({ eosTokenIds: eos });

  it('stops at an eos token (kept in the output) unless ignoreEos, and at stopTokenIds', async () => {
    const [chain] = await generate('none', [{ promptTokens: [1, 2, 3], maxNewTokens: 12 }]);
    const tokens = [...(chain?.outputTokens ?? [])];
    expect(chain?.finishReason).toBe('length');
    const stopAt = tokens[3] as number;
    const cut = tokens.indexOf(stopAt);
    for (const mode of MODES) {
      const [eos] = await generate(mode, [{ promptTokens: [1, 2, 3], maxNewTokens: 12 }], eosModel([stopAt]));
      expect([...(eos?.outputTokens ?? [])], mode).toEqual(tokens.slice(0, cut + 1));
      expect(eos?.finishReason).toBe('stop');
      expect(eos?.logprobs).toHaveLength(cut + 1);
    }
    const [ignored] = await generate(
      'full',
      [{ promptTokens: [1, 2, 3], maxNewTokens: 12, ignoreEos: true }],
      eosModel([stopAt]),
    );
    expect([...(ignored?.outputTokens ?? [])]).toEqual(tokens);
    const [stopped] = await generate('full', [{ promptTokens: [1, 2, 3], maxNewTokens: 12, stopTokenIds: [stopAt] }]);
    expect([...(stopped?.outputTokens ?? [])]).toEqual(tokens.slice(0, cut + 1));
    expect(stopped?.finishReason).toBe('stop');
    // An early stop returns the pages at once: the engine can take another request.
    const engine = await createEngine({ ...base, model: eosModel([stopAt]) });
    engine.addRequest({ promptTokens: [1, 2, 3], maxNewTokens: 12 });
    await engine.run();
    expect(engine.numFreeBlocks).toBe(64);
    engine.dispose();
  });
});

describe('abort', () => {
  it('frees a running and a waiting request at the next step boundary, with finishReason abort', async () => {
    const engine = await createEngine({ ...base, limits: { maxNumSeqs: 1, maxNumBatchedTokens: 16 } });
    const running = engine.addRequest({ promptTokens: [1, 2, 3], maxNewTokens: 20 });
    const waiting = engine.addRequest({ promptTokens: [4, 5], maxNewTokens: 20 });
    const kept = engine.addRequest({ promptTokens: [6], maxNewTokens: 2 });
    await engine.step();
    await engine.step();
    expect(engine.numRunning).toBe(1);
    const held = engine.numFreeBlocks;
    expect(held).toBeLessThan(64);
    expect(engine.abort(running)).toBe(true);
    expect(engine.abort(waiting)).toBe(true);
    expect(engine.abort(waiting)).toBe(true); // twice is fine
    expect(engine.numFreeBlocks).toBe(held); // not before the boundary
    const step = await engine.step();
    const aborted = step.finished.filter((f) => f.finishReason === 'abort');
    expect(aborted.map((f) => f.id)).toEqual([running, waiting]);
    expect(aborted[0]?.outputTokens).toHaveLength(2);
    expect(aborted[1]?.outputTokens).toHaveLength(0);
    // The step ran the remaining request in the freed slot.
    expect(step.sampled.map((s) => s.id)).toEqual([kept]);
    const { outputs } = await engine.run();
    expect(outputs.map((o) => [o.id, o.finishReason])).toEqual([[kept, 'length']]);
    expect(engine.numFreeBlocks).toBe(64);
    // Finished: a no-op. Never issued: a typed error.
    expect(engine.abort(running)).toBe(false);
    expect(engine.abort(kept)).toBe(false);
    for (const bad of [3, -1, 0.5, '0', Number.NaN]) {
      expect(() => engine.abort(bad as number)).toThrow(UnknownRequestError);
    }
    expect(() => engine.abort(99)).toThrow(expect.objectContaining({ code: 'unknown_request', value: 99 }));
    engine.dispose();
  });

  it('an engine whose every request was aborted is idle and reports them', async () => {
    const engine = await createEngine({ ...base, graph: { mode: 'full' } });
    const id = engine.addRequest({ promptTokens: [1, 2], maxNewTokens: 5 });
    engine.abort(id);
    const { outputs } = await engine.run();
    expect(outputs.map((o) => [o.id, o.finishReason, o.outputTokens.length])).toEqual([[id, 'abort', 0]]);
    expect(engine.numFreeBlocks).toBe(64);
    engine.dispose();
  });
});

describe('addRequest validation', () => {
  const ok = { promptTokens: [1, 2], maxNewTokens: 3 };
  it.each<[string, Record<string, unknown>, string, string]>([
    ['topP 0', { topP: 0 }, 'request.topP', 'out_of_range'],
    ['topP above 1', { topP: 1.5 }, 'request.topP', 'out_of_range'],
    ['temperature -1', { temperature: -1 }, 'request.temperature', 'out_of_range'],
    ['temperature NaN', { temperature: Number.NaN }, 'request.temperature', 'out_of_range'],
    ['temperature Infinity', { temperature: Number.POSITIVE_INFINITY }, 'request.temperature', 'out_of_range'],
    ['temperature a string', { temperature: '1' }, 'request.temperature', 'invalid_type'],
    ['fractional topK', { topK: 2.5 }, 'request.topK', 'out_of_range'],
    ['negative topK', { topK: -1 }, 'request.topK', 'out_of_range'],
    ['seed -1', { seed: -1 }, 'request.seed', 'out_of_range'],
    ['seed 2^32', { seed: 2 ** 32 }, 'request.seed', 'out_of_range'],
    ['fractional seed', { seed: 0.5 }, 'request.seed', 'out_of_range'],
    ['a stop id outside the vocabulary', { stopTokenIds: [1, 64] }, 'request.stopTokenIds[1]', 'out_of_range'],
    ['stopTokenIds not an array', { stopTokenIds: 5 }, 'request.stopTokenIds', 'invalid_type'],
    ['ignoreEos not a boolean', { ignoreEos: 'yes' }, 'request.ignoreEos', 'invalid_type'],
    ['an unknown option', { temprature: 1 }, 'request.temprature', 'unknown_option'],
    ['maxNewTokens 0', { maxNewTokens: 0 }, 'request.maxNewTokens', 'out_of_range'],
    ['a prompt token outside the vocabulary', { promptTokens: [1, 64] }, 'request.promptTokens[1]', 'out_of_range'],
  ])('%s: a typed error naming the option, nothing queued', async (_name, patch, path, code) => {
    const engine = await createEngine(base);
    let error: unknown;
    try {
      engine.addRequest({ ...ok, ...patch } as AddRequestOptions);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code, path });
    expect((error as Error).message).toContain('allowed');
    expect(engine.numWaiting).toBe(0);
    // The engine is fine afterwards, and the next id is 0.
    expect(engine.addRequest(ok)).toBe(0);
    engine.dispose();
  });

  it('checks the model: eos ids inside the vocabulary, an integer sliding window', async () => {
    await expect(createEngine({ ...base, model: logitsModel({ eosTokenIds: [64] }) })).rejects.toMatchObject({
      code: 'out_of_range',
      path: 'options.model.eosTokenIds[0]',
    });
    await expect(createEngine({ ...base, model: logitsModel({ slidingWindow: 0 }) })).rejects.toMatchObject({
      code: 'out_of_range',
      path: 'options.model.shape.slidingWindow',
    });
  });
});

describe('sliding window', () => {
  it('maps W to the attention window [W - 1, 0]: the query at p sees keys p-W+1..p', () => {
    expect(attentionWindow({ slidingWindow: null })).toBeUndefined();
    expect(attentionWindow({})).toBeUndefined();
    const window = attentionWindow({ slidingWindow: 4 }) as [number, number];
    expect(window).toEqual([3, 0]);
    // Decode at position 10 over 11 cached keys, equal scores, value j at key j: the output is
    // the mean of the visible keys, 7..10.
    const D = 64;
    const vCache = new Float32Array(16 * D);
    for (let j = 0; j < 11; j++) vCache[j * D] = j;
    const { out } = referenceAttention({
      q: new Float32Array(D),
      kCache: new Float32Array(16 * D),
      vCache,
      pageTable: Int32Array.from([0]),
      cuSeqlensQ: Int32Array.from([0, 1]),
      seqLens: Int32Array.from([11]),
      numHeadsQ: 1,
      numHeadsKv: 1,
      headDim: D,
      pageSize: 16,
      causal: true,
      window,
    });
    expect(out[0]).toBeCloseTo((7 + 8 + 9 + 10) / 4, 5);
  });

  it('changes tokens only once a sequence outgrows the window, the same in every mode', async () => {
    const prompt = Array.from({ length: 12 }, (_, i) => (i * 7) % 64);
    const full = tokensOf(await generate('none', [{ promptTokens: prompt, maxNewTokens: 6 }]));
    const wide = tokensOf(
      await generate('none', [{ promptTokens: prompt, maxNewTokens: 6 }], logitsModel({ slidingWindow: 64 })),
    );
    expect(wide).toEqual(full);
    const narrow = logitsModel({ slidingWindow: 3 });
    const windowed = tokensOf(await generate('none', [{ promptTokens: prompt, maxNewTokens: 6 }], narrow));
    expect(windowed).not.toEqual(full);
    for (const mode of MODES) {
      const batched = tokensOf(
        await generate(
          mode,
          [
            { promptTokens: [5, 6], maxNewTokens: 3 },
            { promptTokens: prompt, maxNewTokens: 6 },
          ],
          narrow,
        ),
      );
      expect(batched[1], mode).toEqual(windowed[0]);
    }
  });
});

describe('checkSamplingOptions given values whose reads throw', () => {
  it('InvalidArgumentError, never the trap', () => {
    const getter = Object.defineProperty({}, 'temperature', { enumerable: true, get: trap });
    for (const options of [throwingProxy(), getter]) {
      expect(nameOfThrown(() => checkSamplingOptions(options as never))).toBe('InvalidArgumentError');
    }
  });
});
