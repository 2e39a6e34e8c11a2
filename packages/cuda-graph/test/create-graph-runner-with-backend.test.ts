// createGraphRunnerWithBackend: option checks before any backend call, and the runner over a
// backend whose graphs are recorded closures (what a CPU runtime does).
import { resolveGraphConfig } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import { describe, expect, test } from 'vitest';
import {
  type CaptureBackend,
  createGraphRunnerWithBackend,
  type SegmentedStep,
  type StepContext,
} from '../src/index.js';
import { RecordingBackend } from './helpers/recording-backend.js';

const config = resolveGraphConfig(
  { mode: 'full_and_piecewise', captureSizes: [1, 2, 4, 8] },
  { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
);

const METHODS = [
  'beginCapture',
  'endCapture',
  'isCapturing',
  'synchronize',
  'instantiate',
  'disposeGraph',
  'upload',
  'launch',
  'disposeExec',
  'graphMemory',
  'release',
] as const;

describe('createGraphRunnerWithBackend validates before any backend call', () => {
  const backend = new RecordingBackend();
  const without = (name: string) => {
    const b = new RecordingBackend();
    return Object.assign(Object.create(b), { [name]: undefined });
  };
  test.each<[string, unknown, string, string]>([
    ['options null', null, 'invalid_type', 'options'],
    ['config missing', { backend }, 'invalid_type', 'options.config'],
    [
      'config sizes',
      { config: { ...config, captureSizes: [4, 2] }, backend },
      'invalid_value',
      'options.config.captureSizes[1]',
    ],
    ['onProgress', { config, backend, onProgress: 1 }, 'invalid_type', 'options.onProgress'],
    ['maxNumReqs', { config, backend, maxNumReqs: 1.5 }, 'out_of_range', 'options.maxNumReqs'],
    ['backend missing', { config }, 'invalid_type', 'options.backend'],
    ['backend null', { config, backend: null }, 'invalid_type', 'options.backend'],
    [
      'backend stream',
      { config, backend: { ...backend, stream: undefined } },
      'invalid_type',
      'options.backend.stream',
    ],
    ...METHODS.map((name): [string, unknown, string, string] => [
      `backend.${name}`,
      { config, backend: without(name) },
      'invalid_type',
      `options.backend.${name}`,
    ]),
  ])('%s', (_name, options, code, path) => {
    expect(() => createGraphRunnerWithBackend(options as never)).toThrow(InvalidArgumentError);
    expect(() => createGraphRunnerWithBackend(options as never)).toThrow(expect.objectContaining({ code, path }));
  });

  test('a bad option leaves the backend untouched', () => {
    const b = new RecordingBackend();
    expect(() => createGraphRunnerWithBackend({ config, backend: b, maxNumReqs: 0 })).toThrow(InvalidArgumentError);
    expect(b.calls).toEqual([]);
    expect(b.released).toBe(0);
  });

  test('methods inherited from a class prototype count', () => {
    const b = new RecordingBackend();
    const runner = createGraphRunnerWithBackend({ config, backend: b });
    expect(runner.stream).toBe(b.stream);
    expect(runner.config).toBe(config);
    runner.dispose();
    expect(b.released).toBe(1);
  });
});

/** A stream whose kernels are closures: run now, or recorded while capturing. */
class ClosureStream {
  recording: (() => void)[] | null = null;
  launch(kernel: () => void): void {
    if (this.recording) this.recording.push(kernel);
    else kernel();
  }
}

function closureBackend(stream: ClosureStream, log: string[]): CaptureBackend<ClosureStream> {
  return {
    stream,
    beginCapture: () => {
      stream.recording = [];
    },
    endCapture: () => {
      const graph = Object.freeze(stream.recording ?? []);
      stream.recording = null;
      return graph;
    },
    isCapturing: () => stream.recording !== null,
    synchronize: () => {},
    instantiate: (graph) => graph,
    disposeGraph: () => {},
    upload: () => {},
    launch: (exec) => {
      for (const kernel of exec as readonly (() => void)[]) kernel();
    },
    disposeExec: () => log.push('disposeExec'),
    graphMemory: () => ({ usedBytes: 0, highBytes: 0, reservedBytes: 0 }),
    release: () => log.push('release'),
  };
}

describe('the runner over a closure-recording backend', () => {
  test('replays recorded kernels that read the live inputs; eager segments run between pieces', () => {
    const stream = new ClosureStream();
    const log: string[] = [];
    const runner = createGraphRunnerWithBackend({ config, backend: closureBackend(stream, log), maxNumReqs: 8 });
    // "Device memory": the input a kernel reads when it runs, and what each segment produced.
    const input = { value: 0 };
    const trace: string[] = [];
    const step: SegmentedStep<ClosureStream> = {
      segments: [
        {
          kind: 'graph',
          run: (ctx: StepContext<ClosureStream>) =>
            ctx.stream.launch(() => trace.push(`pre ${input.value}@${ctx.numTokens}`)),
        },
        {
          kind: 'eager',
          run: (ctx) => ctx.stream.launch(() => trace.push(`attn ${ctx.phase}@${ctx.numTokens}/${ctx.numReqs}`)),
        },
        { kind: 'graph', run: (ctx) => ctx.stream.launch(() => trace.push(`post ${input.value}@${ctx.numTokens}`)) },
      ],
    };
    const captured = runner.capture(step);
    // Decode full graphs for sizes 1..8 (reachable by 1..8 requests), piecewise pieces for all.
    expect(captured.graphs).toBe(4 + 4 * 2);
    trace.length = 0;

    input.value = 7;
    expect(runner.run({ numTokens: 3, numReqs: 3, uniformDecode: true })).toEqual({
      mode: 'full',
      paddedTokens: 4,
      paddedReqs: 4,
      decodeGraph: true,
    });
    // The full graph holds the attention too (captured with the capture-phase context).
    expect(trace).toEqual(['pre 7@4', 'attn capture@4/4', 'post 7@4']);

    trace.length = 0;
    input.value = 9;
    expect(runner.run({ numTokens: 5, numReqs: 2, uniformDecode: false })).toEqual({
      mode: 'piecewise',
      paddedTokens: 8,
      paddedReqs: 8,
      decodeGraph: false,
    });
    expect(trace).toEqual(['pre 9@8', 'attn eager@8/8', 'post 9@8']);

    trace.length = 0;
    const eager = runner.run({ numTokens: 20, numReqs: 4, uniformDecode: false });
    expect(eager).toEqual({ mode: 'eager', paddedTokens: 20, paddedReqs: 4, decodeGraph: false });
    expect(trace).toEqual(['pre 9@20', 'attn eager@20/4', 'post 9@20']);

    const stats = runner.stats();
    expect(stats).toMatchObject({ state: 'locked', replays: 2, eagerFallbacks: 1, eagerAboveMax: 1 });
    expect(stats.graphMemory).toEqual({ usedBytes: 0, highBytes: 0, reservedBytes: 0 });
    expect(stats.sizes.find((s) => s.size === 8)).toMatchObject({ piecewiseReplays: 1, paddingTokens: 3 });

    runner.dispose();
    expect(log.filter((l) => l === 'disposeExec')).toHaveLength(captured.graphs);
    expect(log.at(-1)).toBe('release');
    runner.dispose();
    expect(log.filter((l) => l === 'release')).toHaveLength(1);
  });

  test('a step that throws mid-capture leaves the stream out of capture and the runner idle', () => {
    const stream = new ClosureStream();
    const runner = createGraphRunnerWithBackend({ config, backend: closureBackend(stream, []) });
    let calls = 0;
    const step: SegmentedStep<ClosureStream> = {
      segments: [
        {
          kind: 'graph',
          run: (ctx) => {
            if (ctx.phase === 'capture' && ++calls === 2) throw new Error('boom');
            ctx.stream.launch(() => {});
          },
        },
      ],
    };
    expect(() => runner.capture(step)).toThrow(/boom/);
    expect(stream.recording).toBeNull();
    expect(runner.stats()).toMatchObject({ state: 'idle', graphs: 0 });
    runner.dispose();
  });
});
