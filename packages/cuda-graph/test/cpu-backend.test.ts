// The exported CPU capture backend: closures recorded during a capture, replayed in order, under
// the same runner as CUDA; replay computes what the eager step computes.
import { resolveGraphConfig } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import { nameOfThrown, throwingProxy } from '@flashgraph/tooling/hostile';
import { describe, expect, test } from 'vitest';
import {
  CpuStream,
  CpuStreamError,
  cpuCaptureBackend,
  createCpuGraphRunner,
  type GraphRunner,
  type SegmentedStep,
  type StepContext,
} from '../src/index.js';

describe('CpuStream', () => {
  test('runs kernels at once outside a capture, records them inside, replays them in order', () => {
    const stream = new CpuStream();
    const log: string[] = [];
    stream.launch(() => log.push('now'));
    expect(log).toEqual(['now']);
    stream.beginCapture();
    expect(stream.isCapturing()).toBe(true);
    stream.launch(() => log.push('a'));
    stream.launch(() => log.push('b'));
    const graph = stream.endCapture();
    expect(log).toEqual(['now']);
    expect(Object.isFrozen(graph)).toBe(true);
    CpuStream.replay(graph);
    CpuStream.replay(graph);
    expect(log).toEqual(['now', 'a', 'b', 'a', 'b']);
  });

  test('capture state errors are typed and leave the stream usable', () => {
    const stream = new CpuStream();
    expect(() => stream.endCapture()).toThrow(CpuStreamError);
    expect(() => stream.endCapture()).toThrow(expect.objectContaining({ code: 'not_capturing' }));
    stream.beginCapture();
    expect(() => stream.beginCapture()).toThrow(expect.objectContaining({ code: 'already_capturing' }));
    expect(stream.endCapture()).toEqual([]);
    expect(() => stream.launch(5 as never)).toThrow(expect.objectContaining({ code: 'invalid_type', path: 'kernel' }));
  });

  test('cpuCaptureBackend takes a CpuStream or makes one', () => {
    const stream = new CpuStream();
    expect(cpuCaptureBackend(stream).stream).toBe(stream);
    expect(cpuCaptureBackend().stream).toBeInstanceOf(CpuStream);
    expect(() => cpuCaptureBackend({} as never)).toThrow(InvalidArgumentError);
  });
});

/** A toy forward on the CPU: y = 2x + numTokens, x read when the kernel runs (not at launch). */
function toyStep(input: Float64Array, output: Float64Array): SegmentedStep<CpuStream> {
  const scale = (ctx: StepContext<CpuStream>) =>
    ctx.stream.launch(() => {
      for (let i = 0; i < ctx.numTokens; i++) output[i] = 2 * input[i]!;
    });
  const shift = (ctx: StepContext<CpuStream>) =>
    ctx.stream.launch(() => {
      for (let i = 0; i < ctx.numTokens; i++) output[i] = output[i]! + ctx.numReqs;
    });
  return {
    segments: [
      { kind: 'graph', run: scale },
      { kind: 'eager', run: shift },
    ],
  };
}

describe('createCpuGraphRunner', () => {
  test.each(['full', 'full_and_piecewise', 'piecewise'] as const)('replay == eager at the padded size (%s)', (mode) => {
    const config = resolveGraphConfig({ mode, captureSizes: [2, 4, 8] }, { maxNumSeqs: 8, maxNumBatchedTokens: 16 });
    const input = new Float64Array(16);
    const output = new Float64Array(16);
    const runner: GraphRunner<CpuStream> = createCpuGraphRunner(config, 8);
    const progress: string[] = [];
    const withProgress = createCpuGraphRunner(config, undefined, (e) => progress.push(e.phase));
    withProgress.capture(toyStep(input, output));
    expect(progress).toContain('done');
    runner.capture(toyStep(input, output));
    for (let step = 1; step <= 3; step++) {
      input.forEach((_, i) => {
        input[i] = step * 10 + i;
      });
      const outcome = runner.run({ numTokens: 3, numReqs: 3, uniformDecode: false });
      expect(outcome.mode).not.toBe('eager');
      const replayed = Array.from(output.subarray(0, 3));
      output.fill(0);
      toyStep(input, output).segments.forEach((s) => {
        s.run({ ...outcomeCtx(runner, outcome.paddedTokens, outcome.paddedReqs) });
      });
      expect(replayed).toEqual(Array.from(output.subarray(0, 3)));
    }
    runner.dispose();
    withProgress.dispose();
  });

  test('bad arguments are typed errors before anything is created', () => {
    expect(() => createCpuGraphRunner(null as never)).toThrow(expect.objectContaining({ path: 'options.config' }));
    const config = resolveGraphConfig({ mode: 'full' }, { maxNumSeqs: 8, maxNumBatchedTokens: 16 });
    expect(() => createCpuGraphRunner(config, 0)).toThrow(expect.objectContaining({ path: 'options.maxNumReqs' }));
    expect(() => createCpuGraphRunner(config, 1, 'x' as never)).toThrow(
      expect.objectContaining({ path: 'options.onProgress' }),
    );
  });
});

function outcomeCtx(runner: GraphRunner<CpuStream>, numTokens: number, numReqs: number): StepContext<CpuStream> {
  return {
    stream: runner.stream,
    numTokens,
    numReqs,
    uniformDecode: false,
    phase: 'eager',
    graph: 'eager',
    decodeGraph: false,
  };
}

describe('cpuCaptureBackend given a proxy whose traps throw', () => {
  test('InvalidArgumentError, never the trap', () => {
    expect(nameOfThrown(() => cpuCaptureBackend(throwingProxy() as never))).toBe('InvalidArgumentError');
  });
});
