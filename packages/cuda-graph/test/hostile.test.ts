// Hostile input (issue 17): random hostile values at every public function and at the runner's
// methods. Each answers with a typed FlashgraphError naming the argument or a valid result; a
// rejected call leaves the runner's state and stats as they were; nothing is sized by a token
// count (a runner over capture sizes [1, 2^31 - 1] costs what one over [1, 2] does).
import { resolveGraphConfig } from '@flashgraph/config';
import { FlashgraphError, INT32_MAX, isFlashgraphError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { buildCapturePlan } from '../src/capture-plan.js';
import {
  CpuStream,
  CpuStreamError,
  cpuCaptureBackend,
  createCpuGraphRunner,
  createGraphRunner,
  createGraphRunnerWithBackend,
  GraphCaptureError,
  GraphRunnerError,
  padRequestCount,
  StepError,
  segmentedForward,
} from '../src/index.js';
import { RecordingBackend } from './helpers/recording-backend.js';
import { makeRunner, segmentedStep } from './helpers/steps.js';

const HUGE = [2 ** 31, 2 ** 31 - 1, 2 ** 53, 2 ** 53 - 1, Number.MAX_VALUE] as const;
const hostileNumber = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, -1, 0.5, ...HUGE),
  fc.integer({ min: -4, max: 80 }),
  fc.double(),
);
const hostileValue = fc.oneof(
  hostileNumber,
  fc.constantFrom(null, undefined, '', '8', true, 8n, () => 8, [], {}),
  fc.constantFrom({ length: 2 ** 32 - 1 }, new Array(2 ** 32 - 1), new Uint8Array(2)),
  fc.anything(),
);

function typedOrValue<T>(call: () => T): T | FlashgraphError {
  try {
    return call();
  } catch (error) {
    expect(isFlashgraphError(error)).toBe(true);
    expect((error as FlashgraphError).code).toMatch(/^[a-z_]+$/);
    return error as FlashgraphError;
  }
}

const config = resolveGraphConfig(
  { mode: 'full_and_piecewise', captureSizes: [1, 2, 4, 8, 16] },
  { maxNumSeqs: 16, maxNumBatchedTokens: 64 },
);

describe('runner.run / runner.plan under hostile batches', () => {
  test('property: an outcome or a typed error naming batch.*; a rejection changes nothing', () => {
    const { runner, backend } = makeRunner('full_and_piecewise');
    runner.capture(segmentedStep());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record(
            { numTokens: hostileValue, numReqs: hostileValue, uniformDecode: hostileValue },
            { requiredKeys: [] },
          ),
          hostileValue,
        ),
        (batch) => {
          const before = JSON.stringify(runner.stats());
          const calls = backend.calls.length;
          const planned = typedOrValue(() => runner.plan(batch as never));
          const result = typedOrValue(() => runner.run(batch as never));
          if (result instanceof FlashgraphError) {
            expect(result.path).toMatch(/^batch/);
            expect(planned).toBeInstanceOf(FlashgraphError);
            expect(JSON.stringify(runner.stats())).toBe(before);
            expect(backend.calls.length).toBe(calls);
          } else {
            expect(result).toEqual(planned);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  test('numTokens 2^53 and anything above maxNumBatchedTokens are rejected, never run eagerly', () => {
    const { runner } = makeRunner('full');
    runner.capture(segmentedStep());
    for (const numTokens of [65, 2 ** 31, 2 ** 53]) {
      expect(() => runner.run({ numTokens, numReqs: 1, uniformDecode: false })).toThrow(
        expect.objectContaining({
          code: 'out_of_range',
          path: 'batch.numTokens',
          allowed: 'integer in [1, 64] (maxNumBatchedTokens)',
        }),
      );
    }
    expect(runner.stats().eagerFallbacks).toBe(0);
    // Within the limit but above the largest capture size: an explicit eager outcome.
    expect(runner.run({ numTokens: 64, numReqs: 1, uniformDecode: false }).mode).toBe('eager');
  });
});

describe('no structure grows per token', () => {
  test('a runner over capture sizes [1, 2^31 - 1] plans in O(number of sizes)', () => {
    const huge = resolveGraphConfig(
      { mode: 'full', captureSizes: [1, INT32_MAX] },
      { maxNumSeqs: INT32_MAX, maxNumBatchedTokens: INT32_MAX },
    );
    const plan = buildCapturePlan(huge, undefined);
    expect(plan.sizes).toHaveLength(2);
    // Every array reachable from the plan is as long as the size list at most.
    const lengths: number[] = [];
    const walk = (value: unknown) => {
      if (value === null || typeof value !== 'object') return;
      if (ArrayBuffer.isView(value) || Array.isArray(value)) lengths.push((value as ArrayLike<unknown>).length);
      for (const child of Object.values(value)) walk(child);
    };
    walk(plan);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(2);

    const runner = createCpuGraphRunner(huge);
    let kernels = 0;
    runner.capture((ctx) => ctx.stream.launch(() => kernels++));
    expect(runner.run({ numTokens: 3, numReqs: 3, uniformDecode: false })).toMatchObject({
      mode: 'full',
      paddedTokens: INT32_MAX,
    });
    expect(runner.run({ numTokens: INT32_MAX, numReqs: 1, uniformDecode: false }).paddedTokens).toBe(INT32_MAX);
    expect(() => runner.run({ numTokens: 2 ** 31, numReqs: 1, uniformDecode: false })).toThrow(
      expect.objectContaining({ path: 'batch.numTokens' }),
    );
    expect(kernels).toBeGreaterThan(0);
  });

  test('a hand-made config with a capture size of 2^31 is rejected up front', () => {
    const bad = { ...config, captureSizes: [1, 2 ** 31], maxCaptureSize: 2 ** 31, maxNumBatchedTokens: 2 ** 31 };
    expect(() => createGraphRunnerWithBackend({ config: bad, backend: new RecordingBackend() })).toThrow(
      expect.objectContaining({ code: 'out_of_range', path: 'options.config.captureSizes[1]' }),
    );
  });
});

describe('factories and helpers under hostile options', () => {
  test('createGraphRunnerWithBackend: a runner or a typed error naming options.*, the backend untouched', () => {
    fc.assert(
      fc.property(
        fc.record(
          { config: fc.oneof(fc.constant(config), hostileValue), maxNumReqs: hostileValue, onProgress: hostileValue },
          { requiredKeys: [] },
        ),
        fc.constantFrom('__proto__', 'constructor', 'maxNumReq', undefined),
        (options, extra) => {
          const backend = new RecordingBackend();
          const given = extra === undefined ? { ...options, backend } : { ...options, backend, [extra]: 1 };
          const result = typedOrValue(() => createGraphRunnerWithBackend(given as never));
          if (result instanceof FlashgraphError) {
            expect(result.path).toMatch(/^options/);
            expect(backend.calls).toEqual([]);
          } else result.dispose();
        },
      ),
      { numRuns: 300 },
    );
  });

  test('createGraphRunner: typed errors for every bad option (validated before the device is touched)', () => {
    fc.assert(
      fc.property(
        fc.record({ config: hostileValue, stream: hostileValue, maxNumReqs: hostileValue }, { requiredKeys: [] }),
        (options) => {
          const result = typedOrValue(() => createGraphRunner(options as never));
          if (result instanceof FlashgraphError) expect(result.path ?? '').toMatch(/^options/);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('padRequestCount: a count in [1, paddedTokens] or a typed error naming args.*', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            paddedTokens: fc.oneof(hostileValue, fc.integer({ min: 1, max: 64 })),
            uniformDecode: fc.oneof(fc.boolean(), hostileValue),
            uniformDecodeQueryLen: fc.oneof(hostileValue, fc.integer({ min: 1, max: 4 })),
            maxNumReqs: fc.oneof(hostileValue, fc.integer({ min: 1, max: 64 })),
          },
          { requiredKeys: [] },
        ),
        (args) => {
          const result = typedOrValue(() => padRequestCount(args as never));
          if (result instanceof FlashgraphError) expect(result.path).toMatch(/^args/);
          else {
            expect(result).toBeGreaterThanOrEqual(1);
            expect(result).toBeLessThanOrEqual(args.paddedTokens as number);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  test('the error classes: constructed from hostile values, a FlashgraphError either way', () => {
    fc.assert(
      fc.property(hostileValue, hostileValue, hostileValue, (a, b, c) => {
        for (const make of <(() => FlashgraphError)[]>[
          () => new GraphCaptureError(a as never),
          () =>
            new GraphCaptureError({
              size: a,
              phase: 'capture',
              graph: 'full',
              uniformDecode: false,
              segment: b,
              cause: c,
            } as never),
          () => new GraphRunnerError(a as never, b as never, c as never, 'fix'),
          () => new StepError('async_step', a as never, b as never, c as never),
          () => new CpuStreamError(a as never, b as never, c as never),
        ]) {
          const made = typedOrValue<FlashgraphError>(make);
          expect(made).toBeInstanceOf(FlashgraphError);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('segmentedForward, cpuCaptureBackend, createCpuGraphRunner, CpuStream.launch: typed errors', () => {
    fc.assert(
      fc.property(hostileValue, hostileValue, (a, b) => {
        typedOrValue(() => segmentedForward({ numLayers: a, model: b } as never));
        typedOrValue(() => cpuCaptureBackend(a as never));
        const runner = typedOrValue(() => createCpuGraphRunner(config, a as never));
        if (!(runner instanceof FlashgraphError)) runner.dispose();
        typedOrValue(() => new CpuStream().launch(a as never));
      }),
      { numRuns: 200 },
    );
  });

  test('CpuStream.replay takes only a captured graph (an array of functions), checked before any kernel runs', () => {
    let ran = 0;
    const kernel = () => {
      ran++;
    };
    for (const graph of [null, undefined, 5, {}, 'x', [kernel, 1], [kernel, null]]) {
      const error = typedOrValue(() => CpuStream.replay(graph as never));
      expect(error).toBeInstanceOf(FlashgraphError);
    }
    expect(ran).toBe(0);
    const stream = new CpuStream();
    stream.beginCapture();
    stream.launch(kernel);
    CpuStream.replay(stream.endCapture());
    expect(ran).toBe(1);
  });

  test("the runner plans, warms up and reports from its checked copy: later changes to the caller's object do nothing", () => {
    const mutable = {
      ...resolveGraphConfig({ mode: 'full', captureSizes: [4] }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 }),
    };
    const runner = createCpuGraphRunner(mutable);
    (mutable as { numWarmups: number }).numWarmups = 1e6;
    (mutable as { mode: string }).mode = 'bogus';
    let calls = 0;
    runner.capture(() => {
      calls++;
    });
    // One warm-up (the resolved default) and one capture per graph, not a million.
    expect(calls).toBeLessThan(10);
    expect(runner.stats().mode).toBe('full');
    runner.dispose();
  });

  test('a hand-made config whose fullGraphsFor / piecewise disagree with its mode is rejected', () => {
    const none = resolveGraphConfig({ mode: 'none' }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 });
    const contradictory = { ...none, captureSizes: [4], maxCaptureSize: 4, fullGraphsFor: 'all' };
    expect(() => createCpuGraphRunner(contradictory as never)).toThrow(
      expect.objectContaining({ code: 'invalid_value', path: 'options.config.fullGraphsFor' }),
    );
    const piecewiseFull = {
      ...resolveGraphConfig({ mode: 'full' }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 }),
      piecewise: true,
    };
    expect(() => createCpuGraphRunner(piecewiseFull as never)).toThrow(
      expect.objectContaining({ code: 'invalid_value', path: 'options.config.piecewise' }),
    );
  });
});
