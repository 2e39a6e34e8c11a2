import type { GraphMode } from '@flashgraph/config';
import { describe, expect, it } from 'vitest';
import {
  type CpuForwardContext,
  createEngine,
  EngineDisposedError,
  type Model,
  RequestTooLargeError,
  syntheticDecoder,
} from '../src/index.js';
import { referenceGenerate, rng } from './helpers/reference-model.js';

const model = syntheticDecoder({ numLayers: 2, numHeadsQ: 4, numHeadsKv: 2, headDim: 64, vocabSize: 512 });

function workload(seed: number, n: number, maxPrompt: number, maxOut: number) {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({
    promptTokens: Array.from({ length: 1 + Math.floor(r() * maxPrompt) }, () => Math.floor(r() * 512)),
    maxNewTokens: 1 + Math.floor(r() * maxOut),
  }));
}

const base = {
  model,
  cache: { blockSize: 4, numBlocks: 48 },
  limits: { maxNumSeqs: 4, maxNumBatchedTokens: 16 },
  backend: 'cpu' as const,
};

describe('engine on the CPU backend', () => {
  const requests = workload(7, 10, 30, 6);
  const expected = requests.map((r) => referenceGenerate(model.shape, r.promptTokens, r.maxNewTokens));

  it.each<[GraphMode, string[]]>([
    ['none', ['eager']],
    ['piecewise', ['piecewise', 'eager']],
    ['full', ['full', 'eager']],
    ['full_decode_only', ['full', 'eager']],
    ['full_and_piecewise', ['full', 'piecewise', 'eager']],
  ])('mode %s: outputs equal a direct recomputation of each sequence', async (mode, modesSeen) => {
    const engine = await createEngine({ ...base, graph: { mode } });
    expect(engine.backend).toBe('cpu');
    expect(engine.backendReason).toMatch(/requested/);
    const ids = requests.map((r) => engine.addRequest(r));
    const { outputs, stats } = await engine.run();
    expect(outputs.map((o) => o.id)).toEqual(ids);
    for (const [i, o] of outputs.entries()) expect([...o.outputTokens], `request ${i}`).toEqual(expected[i]);
    expect(stats.generatedTokens).toBe(expected.flat().length);
    expect(stats.promptTokens).toBe(requests.reduce((n, r) => n + r.promptTokens.length, 0));
    const used = (['full', 'piecewise', 'eager'] as const).filter((m) => stats.byMode[m].steps > 0);
    for (const m of used) expect(modesSeen).toContain(m);
    expect(stats.stepLatencyMs.count).toBe(stats.steps);
    // Every page is back once all requests finished.
    expect(engine.numFreeBlocks).toBe(48);
    expect(engine.numRunning + engine.numWaiting).toBe(0);
    engine.dispose();
  });

  it('step() reports decode-first batches, padding and finished requests', async () => {
    const engine = await createEngine({ ...base, graph: { mode: 'full_and_piecewise' } });
    engine.addRequest({ promptTokens: [1, 2, 3], maxNewTokens: 2 });
    engine.addRequest({ promptTokens: Array.from({ length: 20 }, (_, i) => i), maxNewTokens: 1 });
    const s0 = await engine.step();
    expect(s0.numTokens).toBe(16); // 3 + a 13-token chunk
    expect(s0.numPrefills).toBe(2);
    expect(s0.sampled.map((s) => s.id)).toEqual([0]);
    const s1 = await engine.step();
    expect(s1.numDecodes).toBe(1);
    expect(s1.numTokens).toBe(1 + 7);
    expect(s1.finished.map((f) => f.id).sort()).toEqual([0, 1]);
    expect(s1.paddedTokens).toBeGreaterThanOrEqual(s1.numTokens);
    const idle = await engine.step();
    expect(idle.mode).toBe('idle');
    engine.dispose();
  });

  it('replays a decode full graph with padding (3 requests pad to capture size 4)', async () => {
    const engine = await createEngine({
      ...base,
      graph: { mode: 'full_and_piecewise', captureSizes: [1, 2, 4, 8, 16] },
    });
    for (let i = 0; i < 3; i++) engine.addRequest({ promptTokens: [i + 1], maxNewTokens: 3 });
    await engine.step(); // three 1-token prompts: a uniform batch
    const s = await engine.step();
    expect(s.uniformDecode).toBe(true);
    expect(s.mode).toBe('full');
    expect(s.paddedTokens).toBe(4);
    expect(s.paddedReqs).toBe(4);
    const { outputs } = await engine.run();
    expect(outputs).toHaveLength(3);
    for (const [i, o] of outputs.entries())
      expect([...o.outputTokens]).toEqual(referenceGenerate(model.shape, [i + 1], 3));
    const stats = engine.stats();
    expect(stats.byMode.full.paddingTokens).toBeGreaterThan(0);
    expect(stats.runner.graphs).toBeGreaterThan(0);
    engine.dispose();
  });

  it('mode full: a decode step and a mixed step of the same padded size replay their own full graphs', async () => {
    const engine = await createEngine({ ...base, graph: { mode: 'full', captureSizes: [1, 2, 4, 8, 16] } });
    // 1..4 one-token requests pad to 1, 2, 4: those sizes hold a mixed and a decode graph, 8 and 16 a mixed one.
    expect(engine.capture.graphs).toBe(3 * 2 + 2);
    const at4 = () => engine.stats().runner.sizes.find((s) => s.size === 4);
    engine.addRequest({ promptTokens: [5, 6, 7], maxNewTokens: 3 });
    const mixed = await engine.step(); // a 3-token prefill pads to 4
    expect(mixed).toMatchObject({ mode: 'full', uniformDecode: false, numTokens: 3, paddedTokens: 4, paddedReqs: 4 });
    expect(at4()).toMatchObject({ graphs: 2, fullReplays: 1, decodeGraphReplays: 0 });
    for (let i = 0; i < 3; i++) engine.addRequest({ promptTokens: [i + 1], maxNewTokens: 3 });
    const decode = await engine.step(); // request 0's decode and three 1-token prompts: uniform, 4 tokens
    expect(decode).toMatchObject({ mode: 'full', uniformDecode: true, numTokens: 4, paddedTokens: 4, paddedReqs: 4 });
    expect(at4()).toMatchObject({ graphs: 2, fullReplays: 2, decodeGraphReplays: 1 });
    const { outputs, stats } = await engine.run();
    expect(outputs.map((o) => o.id)).toEqual([0, 1, 2, 3]);
    expect([...outputs[0]!.outputTokens]).toEqual(referenceGenerate(model.shape, [5, 6, 7], 3));
    for (let i = 1; i <= 3; i++)
      expect([...outputs[i]!.outputTokens], `request ${i}`).toEqual(referenceGenerate(model.shape, [i], 3));
    // Every step replayed a full graph; the decode steps the decode ones.
    expect(stats.byMode.eager.steps + stats.byMode.piecewise.steps).toBe(0);
    const replays = stats.runner.sizes.reduce((n, s) => n + s.fullReplays, 0);
    const decodeReplays = stats.runner.sizes.reduce((n, s) => n + s.decodeGraphReplays, 0);
    expect(decodeReplays).toBeGreaterThan(1);
    expect(replays - decodeReplays).toBe(1);
    engine.dispose();
  });

  it('reports capture progress, largest size first', async () => {
    const events: string[] = [];
    const engine = await createEngine({
      ...base,
      graph: { mode: 'full', captureSizes: [2, 8] },
      onProgress: (e) => events.push(e.phase === 'capture' ? `${e.capturePhase}:${e.size}` : e.phase),
    });
    expect(events).toEqual(['load', 'warmup:8', 'capture:8', 'done:8', 'warmup:2', 'capture:2', 'done:2', 'ready']);
    // A mixed and a uniform decode full graph per size: 1..4 one-token requests pad to 2 or 8.
    expect(engine.capture.graphs).toBe(4);
    engine.dispose();
  });

  it('chooses the CPU backend under auto when no GPU is present, and says why', async () => {
    const engine = await createEngine({ ...base, backend: 'auto' });
    expect(engine.backend).toBe('cpu');
    expect(engine.backendReason).toMatch(/CPU backend: /);
    engine.dispose();
  });

  it("backend 'cuda' without a device fails before any work, saying what to do", async () => {
    await expect(createEngine({ ...base, backend: 'cuda' })).rejects.toThrow(
      /backend 'cuda' is not available: .*use backend 'auto' or 'cpu'/,
    );
  });

  it('rejects requests that can never fit, and bad tokens', async () => {
    const engine = await createEngine({ ...base, limits: { ...base.limits, maxModelLen: 32 } });
    expect(() => engine.addRequest({ promptTokens: new Array(30).fill(1), maxNewTokens: 4 })).toThrow(
      RequestTooLargeError,
    );
    expect(() => engine.addRequest({ promptTokens: [], maxNewTokens: 1 })).toThrow(
      expect.objectContaining({ code: 'out_of_range', path: 'request.promptTokens.length', value: 0 }),
    );
    expect(() => engine.addRequest({ promptTokens: [512], maxNewTokens: 1 })).toThrow(
      /request.promptTokens\[0\]: out of range \(got 512, allowed a token id in \[0, 511\]\)/,
    );
    expect(() => engine.addRequest({ promptTokens: [1], maxNewTokens: 0 })).toThrow(
      /request.maxNewTokens: out of range \(got 0, allowed integer in \[1,/,
    );
    engine.dispose();
    expect(() => engine.addRequest({ promptTokens: [1], maxNewTokens: 1 })).toThrow(EngineDisposedError);
    await expect(engine.step()).rejects.toThrow(EngineDisposedError);
    engine.dispose(); // idempotent
  });

  it('queues requests when the cache is full and still finishes all of them', async () => {
    const engine = await createEngine({ ...base, cache: { blockSize: 4, numBlocks: 8 } });
    const reqs = workload(11, 6, 20, 4);
    for (const r of reqs) engine.addRequest(r);
    const { outputs } = await engine.run();
    for (const [i, o] of outputs.entries())
      expect([...o.outputTokens]).toEqual(referenceGenerate(model.shape, reqs[i]!.promptTokens, reqs[i]!.maxNewTokens));
    expect(engine.numFreeBlocks).toBe(8);
    engine.dispose();
  });

  it.each([
    [{ cache: { blockSize: 0, numBlocks: 4 } }, /cache.blockSize/],
    [{ limits: { maxNumSeqs: 8, maxNumBatchedTokens: 4 } }, /limits.maxNumBatchedTokens: .*integer in \[8,/],
    [{ backend: 'gpu' }, /options.backend: .*one of "auto", "cuda", "cpu"/],
    [{ model: {} }, /options.model.load: wrong type/],
    [{ graph: { mode: 'fast' } }, /mode/],
    [
      { limits: { maxNumSeqs: 4, maxNumBatchedTokens: 16, maxModelLen: 10_000 } },
      /options.limits.maxModelLen: .*integer in \[1, 192\]/,
    ],
  ])('rejects bad options %j', async (patch, message) => {
    await expect(createEngine({ ...base, ...(patch as object) } as never)).rejects.toThrow(message);
  });

  it("caps maxModelLen at the model's shape.maxPositions (its max_position_embeddings)", async () => {
    const bounded = { ...model, shape: { ...model.shape, maxPositions: 24 } };
    const engine = await createEngine({ ...base, model: bounded });
    expect(engine.limits.maxModelLen).toBe(24);
    expect(() => engine.addRequest({ promptTokens: [1, 2, 3, 4], maxNewTokens: 22 })).toThrow(
      expect.objectContaining({ code: 'request_too_large' }),
    );
    engine.dispose();
    await expect(
      createEngine({ ...base, model: bounded, limits: { ...base.limits, maxModelLen: 25 } }),
    ).rejects.toThrow(/options.limits.maxModelLen: .*integer in \[1, 24\]/);
    for (const bad of [0, 1.5, -1, 'x']) {
      await expect(
        createEngine({ ...base, model: { ...model, shape: { ...model.shape, maxPositions: bad } } } as never),
      ).rejects.toThrow(/options.model.shape.maxPositions/);
    }
  });
});

describe('model contract', () => {
  const broken = (forward: Model['load']): Model => ({ ...model, name: 'broken', load: forward });

  it('names the problem when a forward forgets to yield attention', async () => {
    const m = broken(() => ({
      *forward(ctx) {
        ctx.attention(0, {
          q: new Float32Array(1),
          k: new Float32Array(1),
          v: new Float32Array(1),
          out: new Float32Array(1),
        } as never);
        yield ctx.attention(1, {
          q: new Float32Array(1),
          k: new Float32Array(1),
          v: new Float32Array(1),
          out: new Float32Array(1),
        } as never);
      },
      dispose() {},
    }));
    await expect(createEngine({ ...base, model: m })).rejects.toThrow(
      /was called before the call for layer 0 was yielded/,
    );
  });

  it('names the problem when a forward is not a generator', async () => {
    const m = broken(() => ({ forward: (() => undefined) as never, dispose() {} }));
    await expect(createEngine({ ...base, model: m })).rejects.toThrow(/must be a generator function/);
  });
});

describe('non-finite logits', () => {
  const good = { promptTokens: [1, 2, 3], maxNewTokens: 6, ignoreEos: true };
  const goodTokens = referenceGenerate(model.shape, good.promptTokens, good.maxNewTokens);
  // A token the good request never sees: rows holding it sample from NaN logits.
  const trigger = Array.from({ length: 512 }, (_, t) => t).find((t) => t > 3 && !goodTokens.includes(t))!;
  // The synthetic decoder, except that a row whose token is the trigger samples from NaN logits
  // (its log-softmax, what both samplers report, is NaN), as a checkpoint with a NaN weight would.
  const nanOnTrigger: Model = {
    ...model,
    name: 'nan-after-13',
    load(context) {
      const inner = model.load(context);
      return {
        *forward(ctx) {
          yield* inner.forward(ctx);
          const c = ctx as CpuForwardContext;
          const { sampleRows, tokenIds, logprobs } = c.buffers;
          const n = c.numReqs;
          c.stream.launch(() => {
            for (let i = 0; i < n; i++) {
              const row = sampleRows[i] as number;
              logprobs[i] = row >= 0 && tokenIds[row] === trigger ? Number.NaN : 0;
            }
          });
        },
        dispose: () => inner.dispose(),
      };
    },
  };

  it.each(['none', 'full'] as const)(
    "mode %s: that request ends with finishReason 'error' and no token from the bad row; the others go on",
    async (mode) => {
      const engine = await createEngine({ ...base, model: nanOnTrigger, graph: { mode } });
      const a = engine.addRequest({ promptTokens: [5, trigger], maxNewTokens: 6, ignoreEos: true });
      const b = engine.addRequest(good);
      const streamed: number[] = [];
      const outputs = [];
      while (engine.numWaiting + engine.numRunning > 0) {
        const step = await engine.step();
        for (const s of step.sampled) if (s.id === a) streamed.push(s.token);
        outputs.push(...step.finished);
      }
      const failed = outputs.find((o) => o.id === a)!;
      expect(failed.finishReason).toBe('error');
      expect(failed.outputTokens).toEqual([]);
      expect(failed.logprobs).toEqual([]);
      expect(failed.error).toEqual(expect.objectContaining({ code: 'non_finite_logits', requestId: a }));
      expect(streamed).toEqual([]);
      const ok = outputs.find((o) => o.id === b)!;
      expect(ok.finishReason).toBe('length');
      expect([...ok.outputTokens]).toEqual(goodTokens);
      expect(engine.numFreeBlocks).toBe(base.cache.numBlocks);
      engine.dispose();
    },
  );
});
