import { describe, expect, test } from 'vitest';
import { GraphCaptureError } from '../src/errors.js';
import type { Op } from './helpers/recording-backend.js';
import { type Ctx, makeRunner, segmentedStep } from './helpers/steps.js';

function captureError(run: () => unknown): GraphCaptureError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(GraphCaptureError);
    return e as GraphCaptureError;
  }
  throw new Error('expected capture() to throw');
}

/** After any failed capture: nothing captured is left, the stream works, the runner can retry. */
function expectCleanAndRetryable(env: ReturnType<typeof makeRunner>) {
  const { backend, runner } = env;
  expect(backend.capturing).toBe(false);
  expect(backend.liveGraphs.size).toBe(0);
  expect(backend.liveExecs.size).toBe(0);
  expect(backend.graphMemory().usedBytes).toBe(0);
  backend.executed.length = 0;
  backend.stream.kernel('after');
  expect(backend.executed).toEqual(['after']);
  expect(runner.stats()).toMatchObject({ state: 'idle', graphs: 0 });
  runner.capture(segmentedStep());
  expect(runner.stats().graphs).toBeGreaterThan(0);
}

describe('failing captures end cleanly and name the size, phase and cause', () => {
  test('the step throws during warm-up', () => {
    const env = makeRunner('full');
    const boom = new Error('boom');
    const err = captureError(() =>
      env.runner.capture((ctx: Ctx) => {
        if (ctx.numTokens === 4) throw boom;
        ctx.stream.kernel('k');
      }),
    );
    expect(err).toMatchObject({ code: 'graph_capture_failed', size: 4, phase: 'warmup', graph: 'full', cause: boom });
    expect(err.message).toMatch(/size 4 failed during warmup.*boom/);
    expectCleanAndRetryable(env);
  });

  test('the step synchronizes while captured', () => {
    const env = makeRunner('full');
    const err = captureError(() =>
      env.runner.capture((ctx: Ctx) => {
        ctx.stream.kernel('k');
        if (ctx.phase === 'capture' && ctx.numTokens === 2) ctx.stream.synchronize();
      }),
    );
    expect(err).toMatchObject({ size: 2, phase: 'capture', graph: 'full', uniformDecode: false });
    expect((err.cause as Error).message).toMatch(/cudaErrorStreamCaptureUnsupported/);
    expect(err.message).toMatch(/must not synchronize, allocate/);
    expectCleanAndRetryable(env);
  });

  test('the step allocates while captured (and swallows the error)', () => {
    const env = makeRunner('full_decode_only');
    const err = captureError(() =>
      env.runner.capture((ctx: Ctx) => {
        if (ctx.phase === 'capture' && ctx.numTokens === 8) {
          try {
            ctx.stream.alloc();
          } catch {
            // a step that hides the failure still invalidated the capture
          }
        }
        ctx.stream.kernel('k');
      }),
    );
    expect(err).toMatchObject({ size: 8, phase: 'capture', graph: 'full', uniformDecode: true });
    expect((err.cause as Error).message).toMatch(/cudaErrorStreamCaptureInvalidated/);
    expectCleanAndRetryable(env);
  });

  test('the step throws while captured: the capture is ended and the partial graph destroyed', () => {
    const env = makeRunner('full');
    const boom = new TypeError('bad buffer');
    const err = captureError(() =>
      env.runner.capture((ctx: Ctx) => {
        ctx.stream.kernel('k');
        if (ctx.phase === 'capture' && ctx.numTokens === 1) throw boom;
      }),
    );
    expect(err).toMatchObject({ size: 1, phase: 'capture', cause: boom });
    // sizes 16, 8, 4, 2 were captured (a mixed and a uniform decode graph each) and are freed again
    expect(env.backend.count('disposeExec')).toBe(8);
    expect(env.backend.calls.filter((c) => c.startsWith('disposeGraph')).length).toBe(env.backend.count('end'));
    expectCleanAndRetryable(env);
  });

  test('a piecewise segment fails: the error names the segment', () => {
    const env = makeRunner('piecewise', { numWarmups: 0 });
    const step = segmentedStep();
    const post = step.segments[2]!;
    const err = captureError(() =>
      env.runner.capture({
        segments: [
          step.segments[0]!,
          step.segments[1]!,
          {
            kind: 'graph',
            run(ctx: Ctx) {
              if (ctx.numTokens === 8) ctx.stream.synchronize();
              post.run(ctx);
            },
          },
        ],
      }),
    );
    expect(err).toMatchObject({ size: 8, phase: 'capture', graph: 'piecewise', segment: 2 });
    expect(err.message).toMatch(/piecewise graph segment 2/);
    expectCleanAndRetryable(env);
  });

  test.each([
    ['begin', 'capture'],
    ['end', 'capture'],
    ['instantiate', 'instantiate'],
    ['upload', 'upload'],
  ] as [Op, string][])('the backend fails at %s -> phase %s', (op, phase) => {
    const env = makeRunner('full');
    env.backend.failOn(op, 3);
    const err = captureError(() => env.runner.capture(segmentedStep()));
    expect(err.phase).toBe(phase);
    // Two graphs per size (mixed, then uniform decode), largest first: 16, 16, then 8's mixed fails.
    expect(err).toMatchObject({ size: 8, uniformDecode: false });
    expect((err.cause as Error).message).toMatch(`${op} #3 failed`);
    expectCleanAndRetryable(env);
  });

  test('a failing warm-up synchronize is reported against its size', () => {
    const env = makeRunner('full');
    env.backend.failOn('synchronize', 2);
    const err = captureError(() => env.runner.capture(segmentedStep()));
    expect(err).toMatchObject({ size: 8, phase: 'warmup' });
    expectCleanAndRetryable(env);
  });

  test('a step that returns a promise is rejected', () => {
    const env = makeRunner('full', { numWarmups: 0 });
    const err = captureError(() => env.runner.capture((async () => {}) as never));
    expect(err).toMatchObject({ size: 16, phase: 'capture', segment: 0 });
    expect(err.cause).toMatchObject({ code: 'async_step', path: 'step.segments[0]' });
    expect((err.cause as Error).message).toMatch(/synchronously/);
    expectCleanAndRetryable(env);
  });

  test('an onProgress callback that throws aborts the capture and frees its graphs', () => {
    const stop = new Error('stop');
    const env = makeRunner('full', {
      onProgress: (e) => {
        if (e.size === 4 && e.phase === 'done') throw stop;
      },
    });
    expect(() => env.runner.capture(segmentedStep())).toThrow(stop);
    expect(env.backend.liveExecs.size).toBe(0);
    expect(env.runner.stats().state).toBe('idle');
  });

  test('a failing eager segment during piecewise replay propagates and leaves the runner usable', () => {
    const env = makeRunner('piecewise');
    let fail = false;
    const step = segmentedStep();
    const attn = step.segments[1]!;
    env.runner.capture({
      segments: [
        step.segments[0]!,
        {
          kind: 'eager',
          run(ctx: Ctx) {
            if (fail) throw new Error('attention failed');
            attn.run(ctx);
          },
        },
        step.segments[2]!,
      ],
    });
    fail = true;
    expect(() => env.runner.run({ numTokens: 2, numReqs: 1, uniformDecode: false })).toThrow('attention failed');
    fail = false;
    expect(env.runner.run({ numTokens: 2, numReqs: 1, uniformDecode: false }).mode).toBe('piecewise');
  });
});

test('a stream that is already capturing is left alone', () => {
  const env = makeRunner('full', { numWarmups: 0 });
  env.backend.beginCapture(); // someone else's capture
  const err = captureError(() => env.runner.capture(segmentedStep()));
  expect(err).toMatchObject({ size: 16, phase: 'capture' });
  expect((err.cause as Error).message).toMatch(/already capturing/);
  expect(env.backend.capturing).toBe(true);
  env.backend.disposeGraph(env.backend.endCapture());
  expectCleanAndRetryable(env);
});
