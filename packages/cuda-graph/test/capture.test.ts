import { DisposedError, InvalidArgumentError } from '@flashgraph/errors';
import { describe, expect, test } from 'vitest';
import { GraphCaptureError, GraphRunnerError } from '../src/errors.js';
import type { CaptureProgress } from '../src/types.js';
import { BYTES_PER_EXEC } from './helpers/recording-backend.js';
import { type Ctx, makeRunner, SMALL_SIZES, type StepCall, segmentedStep } from './helpers/steps.js';

const descending = [...SMALL_SIZES].reverse();

describe('capture', () => {
  test('captures largest size first, warm-ups before each capture', () => {
    const { runner } = makeRunner('full', { numWarmups: 2 });
    const seen: string[] = [];
    runner.capture((ctx: Ctx) => {
      seen.push(`${ctx.phase}:${ctx.numTokens}`);
      ctx.stream.kernel('k');
    });
    // Every size gets a mixed and a uniform decode full graph: warm-ups of both, then both captures.
    const expected = descending.flatMap((s) => [...Array(4).fill(`warmup:${s}`), `capture:${s}`, `capture:${s}`]);
    expect(seen).toEqual(expected);
  });

  test.each([
    // mode, numWarmups, graphs per size, warm-up runs per size
    ['full', 3, 2, 6],
    ['full_decode_only', 2, 1, 2],
    ['piecewise', 2, 2, 2],
    ['full_and_piecewise', 1, 3, 2],
    ['full_and_piecewise', 0, 3, 0],
  ] as const)(
    '%s with numWarmups %i: %i graphs and %i warm-ups per size',
    (mode, numWarmups, graphsPerSize, warmupsPerSize) => {
      const { runner, backend } = makeRunner(mode, { numWarmups });
      const calls: StepCall[] = [];
      const stats = runner.capture(segmentedStep(calls));
      for (const size of SMALL_SIZES) {
        // A warm-up runs every segment (pre, attn, post) once.
        const warmups = calls.filter((c) => c.phase === 'warmup' && c.numTokens === size && c.segment === 'pre');
        expect(warmups).toHaveLength(warmupsPerSize);
      }
      expect(stats.graphs).toBe(graphsPerSize * SMALL_SIZES.length);
      expect(backend.liveExecs.size).toBe(stats.graphs);
      expect(backend.liveGraphs.size).toBe(0); // templates are freed after instantiation
      expect(stats.sizes.map((s) => s.graphs)).toEqual(SMALL_SIZES.map(() => graphsPerSize));
      expect(stats.state).toBe('locked');
      expect(stats.graphMemory.usedBytes).toBe(stats.graphs * BYTES_PER_EXEC);
      expect(stats.graphMemoryAtCaptureStart?.usedBytes).toBe(0);
      // Warm-ups are synchronized per size (errors surface against it), plus once at the end.
      expect(backend.count('synchronize')).toBe((warmupsPerSize > 0 ? SMALL_SIZES.length : 0) + 1);
    },
  );

  test('piecewise captures only graph segments, with the padded request count', () => {
    const { runner } = makeRunner('piecewise', { numWarmups: 0 });
    const calls: StepCall[] = [];
    runner.capture(segmentedStep(calls));
    expect(calls.filter((c) => c.segment === 'attn')).toEqual([]);
    expect(calls).toEqual(
      descending.flatMap((s) => [
        { segment: 'pre', phase: 'capture', numTokens: s, numReqs: s, uniformDecode: false },
        { segment: 'post', phase: 'capture', numTokens: s, numReqs: s, uniformDecode: false },
      ]),
    );
  });

  test('full_and_piecewise captures a uniform decode full graph and piecewise graphs per size', () => {
    const { runner } = makeRunner('full_and_piecewise', { numWarmups: 0, maxNumReqs: 8 });
    const calls: StepCall[] = [];
    runner.capture(segmentedStep(calls));
    const at16 = calls.filter((c) => c.numTokens === 16);
    expect(at16).toEqual([
      // maxNumReqs 8 < 16: no uniform decode batch of query length 1 reaches size 16.
      { segment: 'pre', phase: 'capture', numTokens: 16, numReqs: 8, uniformDecode: false },
      { segment: 'post', phase: 'capture', numTokens: 16, numReqs: 8, uniformDecode: false },
    ]);
    const at8 = calls.filter((c) => c.numTokens === 8);
    expect(at8.map((c) => `${c.segment}:${c.uniformDecode}`)).toEqual([
      'pre:true',
      'attn:true',
      'post:true',
      'pre:false',
      'post:false',
    ]);
  });

  test('full captures a mixed full graph per size and a uniform decode one where a decode batch reaches', () => {
    const { runner } = makeRunner('full', { numWarmups: 0, maxNumReqs: 8 });
    const calls: StepCall[] = [];
    const stats = runner.capture(segmentedStep(calls));
    const at = (size: number) =>
      calls.filter((c) => c.numTokens === size && c.segment === 'pre').map((c) => [c.numReqs, c.uniformDecode]);
    // maxNumReqs 8 < 16: no uniform decode batch of query length 1 reaches size 16.
    expect(at(16)).toEqual([[8, false]]);
    expect(at(8)).toEqual([
      [8, false],
      [8, true],
    ]);
    expect(at(1)).toEqual([
      [1, false],
      [1, true],
    ]);
    // Full graphs hold the attention segment too, captured with the graph's uniformity.
    expect(calls.filter((c) => c.numTokens === 8).map((c) => `${c.segment}:${c.uniformDecode}`)).toEqual([
      'pre:false',
      'attn:false',
      'post:false',
      'pre:true',
      'attn:true',
      'post:true',
    ]);
    expect(stats.graphs).toBe(1 + 4 * 2);
    expect(stats.sizes.map((s) => [s.size, s.graphs])).toEqual([
      [1, 2],
      [2, 2],
      [4, 2],
      [8, 2],
      [16, 1],
    ]);
  });

  test('progress events: warmup, capture, done per size, in capture order', () => {
    const events: CaptureProgress[] = [];
    const { runner } = makeRunner('full', { onProgress: (e) => events.push(e) });
    runner.capture(segmentedStep());
    expect(events.map((e) => [e.size, e.index, e.total, e.phase])).toEqual(
      descending.flatMap((size, index) => [
        [size, index, 5, 'warmup'],
        [size, index, 5, 'capture'],
        [size, index, 5, 'done'],
      ]),
    );
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.elapsedMs).toBeGreaterThanOrEqual(events[i - 1]!.elapsedMs);
    }
  });

  test('mode none captures nothing and runs every batch eagerly', () => {
    const { runner, backend } = makeRunner('none');
    const calls: StepCall[] = [];
    const stats = runner.capture(segmentedStep(calls));
    expect(stats.graphs).toBe(0);
    expect(calls).toEqual([]);
    expect(backend.count('begin')).toBe(0);
    expect(runner.run({ numTokens: 3, numReqs: 1, uniformDecode: false }).mode).toBe('eager');
    expect(runner.stats()).toMatchObject({ eagerFallbacks: 1, eagerAboveMax: 0 });
  });

  test('a plain function step works for full modes and is rejected by piecewise modes', () => {
    for (const mode of ['none', 'full', 'full_decode_only'] as const) {
      const { runner } = makeRunner(mode);
      expect(() => runner.capture((ctx: Ctx) => ctx.stream.kernel('k'))).not.toThrow();
    }
    for (const mode of ['piecewise', 'full_and_piecewise'] as const) {
      const { runner, backend } = makeRunner(mode);
      expect(() => runner.capture((ctx: Ctx) => ctx.stream.kernel('k'))).toThrow(InvalidArgumentError);
      expect(() => runner.capture((ctx: Ctx) => ctx.stream.kernel('k'))).toThrow(/segmented step/);
      expect(backend.calls).toEqual([]);
    }
  });

  test.each([
    [null, 'invalid_type', 'step', /step must be a function/],
    [{}, 'invalid_type', 'step.segments', /step must be a function/],
    [{ segments: [] }, 'out_of_range', 'step.segments.length', /length in \[1, 65536\]/],
    [{ segments: [{ kind: 'attention', run() {} }] }, 'invalid_value', 'step.segments[0].kind', /'graph' or 'eager'/],
    [{ segments: [{ kind: 'graph' }] }, 'invalid_type', 'step.segments[0].run', /run must be a function/],
    [{ segments: [{ kind: 'eager', run() {} }] }, 'invalid_value', 'step.segments', /at least one 'graph' segment/],
  ])('bad step %o', (step, code, path, message) => {
    const { runner, backend } = makeRunner('piecewise');
    expect(() => runner.capture(step as never)).toThrow(expect.objectContaining({ code, path }));
    expect(() => runner.capture(step as never)).toThrow(message);
    expect(backend.calls).toEqual([]);
    expect(runner.stats().state).toBe('idle');
  });

  test('segments written as methods keep their this', () => {
    const { runner, backend } = makeRunner('piecewise', { numWarmups: 0 });
    class Layer {
      readonly kind = 'graph' as const;
      constructor(private readonly name: string) {}
      run(ctx: Ctx) {
        ctx.stream.kernel(this.name);
      }
    }
    runner.capture({ segments: [new Layer('a'), new Layer('b')] });
    backend.executed.length = 0;
    runner.run({ numTokens: 1, numReqs: 1, uniformDecode: false });
    expect(backend.executed).toEqual(['a', 'b']);
  });
});

describe('locking, reset and dispose', () => {
  test('capturing twice without reset is an error; reset unlocks', () => {
    const { runner, backend } = makeRunner('full');
    runner.capture(segmentedStep());
    const err = (() => {
      try {
        runner.capture(segmentedStep());
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GraphRunnerError);
    expect(err).toMatchObject({ code: 'runner_locked', message: expect.stringMatching(/reset\(\)/) });
    runner.reset();
    expect(backend.liveExecs.size).toBe(0);
    expect(runner.stats()).toMatchObject({ state: 'idle', graphs: 0, captureMs: 0 });
    expect(() => runner.run({ numTokens: 1, numReqs: 1, uniformDecode: false })).toThrow(/capture\(step\) first/);
    runner.capture(segmentedStep());
    expect(runner.stats().graphs).toBe(10);
  });

  test('run before capture is an error naming the fix', () => {
    const { runner } = makeRunner('full');
    expect(() => runner.run({ numTokens: 1, numReqs: 1, uniformDecode: false })).toThrow(
      expect.objectContaining({ code: 'not_captured' }),
    );
  });

  test('a step may not call back into its runner during capture', () => {
    const { runner } = makeRunner('full');
    let inner: unknown;
    expect(() =>
      runner.capture((ctx: Ctx) => {
        try {
          runner.run({ numTokens: 1, numReqs: 1, uniformDecode: false });
        } catch (e) {
          inner = e;
        }
        ctx.stream.kernel('k');
      }),
    ).not.toThrow();
    expect(inner).toMatchObject({ code: 'capture_in_progress' });
  });

  test('dispose frees every graph, returns graph memory to its start, and is final', () => {
    const { runner, backend } = makeRunner('full_and_piecewise');
    const start = backend.graphMemory().usedBytes;
    runner.capture(segmentedStep());
    expect(backend.graphMemory().usedBytes).toBeGreaterThan(start);
    runner.run({ numTokens: 3, numReqs: 3, uniformDecode: true });
    runner.dispose();
    expect(backend.liveExecs.size).toBe(0);
    expect(backend.graphMemory().usedBytes).toBe(start);
    expect(backend.released).toBe(1);
    runner.dispose();
    runner[Symbol.dispose]();
    expect(backend.released).toBe(1);
    for (const call of [
      () => runner.run({ numTokens: 1, numReqs: 1, uniformDecode: false }),
      () => runner.capture(segmentedStep()),
      () => runner.reset(),
      () => runner.plan({ numTokens: 1, numReqs: 1, uniformDecode: false }),
    ]) {
      expect(call).toThrow(DisposedError);
      expect(call).toThrow(expect.objectContaining({ code: 'disposed' }));
    }
    expect(runner.stats().state).toBe('disposed');
  });

  test('using disposes', () => {
    const { runner, backend } = makeRunner('full');
    {
      using r = runner;
      r.capture(segmentedStep());
    }
    expect(backend.liveExecs.size).toBe(0);
  });
});

describe('stats', () => {
  test('per size replays, padding and capture time; totals', () => {
    const { runner } = makeRunner('full_and_piecewise');
    runner.capture(segmentedStep());
    runner.run({ numTokens: 3, numReqs: 3, uniformDecode: true }); // full at 4, 1 padding token
    runner.run({ numTokens: 3, numReqs: 1, uniformDecode: false }); // piecewise at 4, 1 padding token
    runner.run({ numTokens: 9, numReqs: 2, uniformDecode: false }); // piecewise at 16, 7 padding
    runner.run({ numTokens: 40, numReqs: 2, uniformDecode: false }); // eager above max
    const stats = runner.stats();
    const at = (size: number) => stats.sizes.find((s) => s.size === size)!;
    expect(at(4)).toMatchObject({
      fullReplays: 1,
      decodeGraphReplays: 1,
      piecewiseReplays: 1,
      replays: 2,
      paddingTokens: 2,
      graphs: 3,
    });
    expect(at(16)).toMatchObject({
      fullReplays: 0,
      decodeGraphReplays: 0,
      piecewiseReplays: 1,
      replays: 1,
      paddingTokens: 7,
    });
    expect(at(1)).toMatchObject({ replays: 0, paddingTokens: 0 });
    expect(stats).toMatchObject({
      replays: 3,
      eagerFallbacks: 1,
      eagerAboveMax: 1,
      graphs: 15,
      mode: 'full_and_piecewise',
    });
    for (const s of stats.sizes) expect(s.captureMs).toBeGreaterThanOrEqual(0);
    expect(stats.captureMs).toBeCloseTo(
      stats.sizes.reduce((a, s) => a + s.captureMs, 0),
      6,
    );
    expect(Object.isFrozen(stats)).toBe(true);
  });
});

test('GraphCaptureError is exported from the entry', async () => {
  const entry = await import('../src/index.js');
  expect(entry.GraphCaptureError).toBe(GraphCaptureError);
  expect(Object.keys(entry).sort()).toEqual([
    'CpuStream',
    'CpuStreamError',
    'GraphCaptureError',
    'GraphRunnerError',
    'StepError',
    'cpuCaptureBackend',
    'createCpuGraphRunner',
    'createGraphRunner',
    'createGraphRunnerWithBackend',
    'padRequestCount',
    'segmentedForward',
  ]);
});
