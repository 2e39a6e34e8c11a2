// Every error the README documents, thrown for real: its class, its code and the flashgraph brand.
import { resolveGraphConfig } from '@flashgraph/config';
import { DisposedError, type FlashgraphError, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, test } from 'vitest';
import {
  CpuStream,
  CpuStreamError,
  createCpuGraphRunner,
  GraphCaptureError,
  GraphRunnerError,
  padRequestCount,
  StepError,
} from '../src/index.js';

function thrown(call: () => unknown): FlashgraphError {
  try {
    call();
  } catch (error) {
    expect(isFlashgraphError(error)).toBe(true);
    return error as FlashgraphError;
  }
  throw new Error('expected a throw');
}

const config = resolveGraphConfig({ mode: 'full', captureSizes: [1, 2] }, { maxNumSeqs: 2, maxNumBatchedTokens: 4 });
const batch = { numTokens: 1, numReqs: 1, uniformDecode: false };

describe('documented errors', () => {
  test.each<[string, () => unknown, new (...args: never[]) => FlashgraphError, string]>([
    ['bad option', () => createCpuGraphRunner(config, 0), InvalidArgumentError, 'out_of_range'],
    [
      'unknown option',
      () => padRequestCount({ paddedTokens: 1, uniformDecode: false, uniformDecodeQueryLen: 1, extra: 1 } as never),
      InvalidArgumentError,
      'unknown_option',
    ],
    ['run before capture', () => createCpuGraphRunner(config).run(batch), GraphRunnerError, 'not_captured'],
    [
      'capture twice',
      () => {
        const runner = createCpuGraphRunner(config);
        runner.capture(() => {});
        runner.capture(() => {});
      },
      GraphRunnerError,
      'runner_locked',
    ],
    [
      'use after dispose',
      () => {
        const runner = createCpuGraphRunner(config);
        runner.dispose();
        runner.plan(batch);
      },
      DisposedError,
      'disposed',
    ],
    [
      'capture fails',
      () =>
        createCpuGraphRunner(config).capture(() => {
          throw new Error('x');
        }),
      GraphCaptureError,
      'graph_capture_failed',
    ],
    ['stream state', () => new CpuStream().endCapture(), CpuStreamError, 'not_capturing'],
  ])('%s', (_name, call, type, code) => {
    const error = thrown(call);
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(code);
  });

  test('capture_in_progress, async_step (naming the segment) and forward_contract', () => {
    const runner = createCpuGraphRunner(config);
    let inner: unknown;
    runner.capture(() => {
      try {
        runner.run(batch);
      } catch (e) {
        inner = e;
      }
    });
    expect(inner).toBeInstanceOf(GraphRunnerError);
    expect(inner).toMatchObject({ code: 'capture_in_progress' });

    const asyncStep = createCpuGraphRunner(config);
    const error = thrown(() =>
      asyncStep.capture({
        segments: [
          { kind: 'graph', run() {} },
          { kind: 'eager', run: async () => {} },
        ],
      } as never),
    ) as GraphCaptureError;
    expect(error.segment).toBe(1);
    expect(error.message).toMatch(/segment 1/);
    expect(error.cause).toBeInstanceOf(StepError);
    expect(error.cause).toMatchObject({ code: 'async_step', path: 'step.segments[1]' });
  });
});
