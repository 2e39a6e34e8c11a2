// Issue 17: random hostile values at the engine's public functions (createEngine, addRequest,
// abort, syntheticDecoder). Each call returns a valid result or throws a FlashgraphError naming the
// argument, within a bound (no hang); a rejected call leaves the engine exactly as it was and
// still usable. Sizes are bounded up front: no raw "Invalid typed array length" or allocation
// failure, whatever the number.
import { isFlashgraphError } from '@flashgraph/errors';
import { hostile, hostileArrayLike, hostileRecord, hostileScalar, typedOrValid } from '@flashgraph/tooling/hostile';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, syntheticDecoder } from '../src/index.js';

const model = syntheticDecoder({ numLayers: 1, numHeadsQ: 2, numHeadsKv: 1, headDim: 64, vocabSize: 64 });
const cache = { blockSize: 4, numBlocks: 16 };
const limits = { maxNumSeqs: 2, maxNumBatchedTokens: 8 };
const base = { model, cache, limits, backend: 'cpu' as const, graph: { mode: 'none' as const } };
/** A hang guard, far above any real call here (milliseconds), not a timing test. */
const BOUND_MS = 5000;

/** Like typedOrValid, for async calls, with the bound. */
async function typedOrValidAsync<T>(fn: () => Promise<T>, onResult: (value: T) => void | Promise<void>) {
  const start = performance.now();
  let value: T;
  try {
    value = await fn();
  } catch (err) {
    if (!isFlashgraphError(err)) throw new Error(`not a FlashgraphError: ${String(err)}`, { cause: err });
    expect(err.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(typeof err.path === 'string' && err.path.length > 0).toBe(true);
    expect(performance.now() - start).toBeLessThan(BOUND_MS);
    return;
  }
  expect(performance.now() - start).toBeLessThan(BOUND_MS);
  await onResult(value);
}

/**
 * An engine that works: one request runs to completion. The request fits the engine's maxModelLen
 * (a prompt of p tokens and n new ones need p + n - 1 cache slots), which hostile limits can set
 * as low as 1.
 */
async function expectUsable(engine: Engine) {
  const maxModelLen = engine.limits.maxModelLen;
  const maxNewTokens = Math.min(2, maxModelLen);
  const promptTokens = [1, 2, 3].slice(0, Math.min(3, maxModelLen - maxNewTokens + 1));
  const id = engine.addRequest({ promptTokens, maxNewTokens });
  const { outputs } = await engine.run();
  expect(outputs.find((o) => o.id === id)?.outputTokens.length).toBe(maxNewTokens);
}

describe('hostile input: createEngine', () => {
  it('random options: a typed error naming the option, or a working engine', async () => {
    let created = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // The valid options themselves, so every run also sees working engines (with hostile
          // records alone a run could reject all 300 and the check below would fail by chance).
          fc.constant(base),
          hostile,
          hostileRecord(base),
          hostileRecord(cache).map((c) => ({ ...base, cache: c })),
          hostileRecord({ ...limits, maxModelLen: 32 }).map((l) => ({ ...base, limits: l })),
          fc
            .record({ device: hostileScalar, onProgress: hostileScalar, scheduler: hostileScalar })
            .map((o) => ({ ...base, ...o })),
        ),
        async (options) => {
          await typedOrValidAsync(
            () => createEngine(options as never),
            async (engine) => {
              created++;
              await expectUsable(engine);
              engine.dispose();
            },
          );
        },
      ),
      { numRuns: 300 },
    );
    // The property saw working engines too, not only rejections.
    expect(created).toBeGreaterThan(0);
  });

  it.each([2 ** 31, 2 ** 31 - 1, 2 ** 53, 2 ** 53 - 1, Number.NaN, -0, 0.5, 4.5, -1, Number.POSITIVE_INFINITY])(
    'every size option set to %d is rejected up front with its path, or works',
    async (value) => {
      const cases: [string, object][] = [
        ['options.cache.blockSize', { ...base, cache: { ...cache, blockSize: value } }],
        ['options.cache.numBlocks', { ...base, cache: { ...cache, numBlocks: value } }],
        ['options.cache.numBlocks', { ...base, cache: { blockSize: 1, numBlocks: value } }],
        ['options.limits.maxNumSeqs', { ...base, limits: { ...limits, maxNumSeqs: value } }],
        ['options.limits.maxNumBatchedTokens', { ...base, limits: { ...limits, maxNumBatchedTokens: value } }],
        ['options.limits.maxModelLen', { ...base, limits: { ...limits, maxModelLen: value } }],
        ['options.device', { ...base, device: value }],
      ];
      for (const [path, options] of cases) {
        const outcome = await createEngine(options as never).then(
          (engine) => engine,
          (error: unknown) => error,
        );
        if (isFlashgraphError(outcome)) {
          expect(outcome.path, String(outcome)).toBe(path);
        } else {
          // -0 for a device ordinal is device 0.
          expect(Object.is(value, -0) && path === 'options.device', `${path} = ${value} accepted`).toBe(true);
          (outcome as Engine).dispose();
        }
      }
    },
  );

  it('reads own properties only (prototype keys are neither read nor accepted)', async () => {
    const inherited = Object.create(base);
    await expect(createEngine(inherited)).rejects.toMatchObject({ code: 'invalid_type', path: 'options.model' });
    const proto = JSON.parse('{"__proto__": {"backend": "cuda"}}');
    await expect(createEngine({ ...base, ...proto })).rejects.toMatchObject({
      code: 'unknown_option',
      path: 'options.__proto__',
    });
    await expect(createEngine({ ...base, cache: Object.create(cache) })).rejects.toMatchObject({
      path: 'options.cache.blockSize',
    });
  });
});

describe('hostile input: a live engine', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ ...base, limits: { ...limits, maxModelLen: 48 } });
  });
  afterAll(() => engine.dispose());

  const goodRequest = {
    promptTokens: [1, 2, 3],
    maxNewTokens: 2,
    temperature: 0.5,
    topK: 4,
    topP: 0.9,
    seed: 7,
    stopTokenIds: [5],
    ignoreEos: false,
  };

  it('addRequest: a typed error and no state change, or a queued request', async () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostile,
          hostileRecord(goodRequest),
          hostileArrayLike.map((promptTokens) => ({ promptTokens, maxNewTokens: 1 })),
          fc
            .array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 60 })
            .map((promptTokens) => ({ promptTokens, maxNewTokens: 1 })),
        ),
        (request) => {
          const waiting = engine.numWaiting;
          const free = engine.numFreeBlocks;
          const start = performance.now();
          const queued = typedOrValid(() => engine.addRequest(request as never));
          expect(performance.now() - start).toBeLessThan(BOUND_MS);
          expect(engine.numWaiting).toBe(queued ? waiting + 1 : waiting);
          expect(engine.numFreeBlocks).toBe(free);
        },
      ),
      { numRuns: 500 },
    );
    // Every queued request runs to completion and every page comes back.
    const { outputs } = await engine.run();
    expect(engine.numWaiting + engine.numRunning).toBe(0);
    expect(engine.numFreeBlocks).toBe(16);
    for (const o of outputs) expect(o.outputTokens.length).toBeGreaterThan(0);
  });

  it.each<[string, unknown, string]>([
    [
      'a Proxy array of length 1.5',
      new Proxy([1], { get: (t, k) => (k === 'length' ? 1.5 : Reflect.get(t, k)) }),
      'request.promptTokens.length',
    ],
    [
      'a Proxy array of length 2^53',
      new Proxy([1], { get: (t, k) => (k === 'length' ? 2 ** 53 : Reflect.get(t, k)) }),
      'request.promptTokens.length',
    ],
    ['a typed array longer than maxModelLen', new Int32Array(1 << 20), 'request.promptTokens.length'],
    ['an array-like { length: 2^32 }', { length: 2 ** 32 }, 'request.promptTokens'],
  ])('addRequest with %s is rejected before any token is read', (_name, promptTokens, path) => {
    const waiting = engine.numWaiting;
    expect(() => engine.addRequest({ promptTokens: promptTokens as number[], maxNewTokens: 1 })).toThrow(
      expect.objectContaining({ path }),
    );
    expect(engine.numWaiting).toBe(waiting);
  });

  it('step and run options: a typed error and no step taken, or a result', async () => {
    engine.addRequest({ promptTokens: [1, 2], maxNewTokens: 3 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, hostileRecord({ signal: new AbortController().signal })), async (options) => {
        const steps = engine.stats().steps;
        const waiting = engine.numWaiting;
        const ok = await engine.step(options as never).then(
          () => true,
          (err: unknown) => {
            expect(isFlashgraphError(err), String(err)).toBe(true);
            return false;
          },
        );
        if (!ok) {
          expect(engine.stats().steps).toBe(steps);
          expect(engine.numWaiting).toBe(waiting);
        }
        await typedOrValidAsync(
          () => engine.run(options as never),
          (result) => expect(Array.isArray(result.outputs)).toBe(true),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('abort: a typed error or a boolean, and no state change on rejection', () => {
    const id = engine.addRequest({ promptTokens: [1], maxNewTokens: 1 });
    fc.assert(
      fc.property(fc.oneof(hostile, fc.integer({ min: -2, max: id + 2 })), (value) => {
        const waiting = engine.numWaiting;
        typedOrValid(
          () => engine.abort(value as never),
          (result) => expect(typeof result).toBe('boolean'),
        );
        expect(engine.numWaiting).toBe(waiting);
      }),
      { numRuns: 300 },
    );
  });
});

describe('hostile input: syntheticDecoder', () => {
  it('a typed error naming the option, or a model with the options it was given', () => {
    const valid = {
      numLayers: 2,
      numHeadsQ: 4,
      numHeadsKv: 2,
      headDim: 64,
      hiddenSize: 256,
      vocabSize: 64,
      dtype: 'fp16',
    };
    fc.assert(
      fc.property(fc.oneof(hostile, hostileRecord(valid)), (options) => {
        typedOrValid(
          () => syntheticDecoder(options as never),
          (m) => {
            expect(m.shape.numHeadsQ % m.shape.numHeadsKv).toBe(0);
            expect([64, 128, 256]).toContain(m.shape.headDim);
          },
        );
      }),
      { numRuns: 500 },
    );
  });
});
