// The generator adapter: a forward that yields at each attention becomes the runner's segmented
// step; replayed graphs (full or piecewise) compute what the eager forward computes, and a forward
// that breaks the contract fails with a StepError naming what it did.
import { resolveGraphConfig } from '@flashgraph/config';
import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, test } from 'vitest';
import {
  type AttentionCall,
  type CpuStream,
  createCpuGraphRunner,
  GraphCaptureError,
  type StepContext,
  StepError,
  segmentedForward,
} from '../src/index.js';

interface Io {
  x: Float64Array;
}
interface ToyContext {
  stream: CpuStream;
  numTokens: number;
  attention(layer: number, io: Io): AttentionCall<Io>;
}

const NUM_LAYERS = 3;

/** x -> x + 1 per layer before attention; attention (eager) doubles x; all read at run time. */
function toyModel(x: Float64Array) {
  return {
    *forward(ctx: ToyContext): Generator<AttentionCall<Io>, void, void> {
      for (let layer = 0; layer < NUM_LAYERS; layer++) {
        ctx.stream.launch(() => {
          for (let i = 0; i < ctx.numTokens; i++) x[i] = x[i]! + 1;
        });
        yield ctx.attention(layer, { x });
      }
    },
  };
}

function makeStep(x: Float64Array, seen: StepContext<CpuStream>[] = [], model: unknown = toyModel(x)) {
  return segmentedForward<CpuStream, ToyContext, Io>({
    numLayers: NUM_LAYERS,
    model: model as ReturnType<typeof toyModel>,
    makeContext: (ctx, attention) => ({ stream: ctx.stream, numTokens: ctx.numTokens, attention }),
    prologue: (ctx) => {
      seen.push(ctx);
    },
    runAttention: (call, ctx) =>
      ctx.stream.launch(() => {
        for (let i = 0; i < ctx.numTokens; i++) call.io.x[i] = call.io.x[i]! * 2;
      }),
  });
}

function eager(values: number[]): number[] {
  return values.map((v) => {
    let x = v;
    for (let layer = 0; layer < NUM_LAYERS; layer++) x = (x + 1) * 2;
    return x;
  });
}

describe('segmentedForward', () => {
  test('segments: prologue, then a graph segment before each attention and after the last', () => {
    const step = makeStep(new Float64Array(4));
    expect(step.segments.map((s) => s.kind)).toEqual([
      'eager',
      'graph',
      'eager',
      'graph',
      'eager',
      'graph',
      'eager',
      'graph',
    ]);
  });

  test.each(['full', 'full_decode_only', 'full_and_piecewise', 'piecewise', 'none'] as const)(
    'replay == eager forward (%s), and the step context carries the runner decision',
    (mode) => {
      const config = resolveGraphConfig({ mode, captureSizes: [1, 2, 4] }, { maxNumSeqs: 4, maxNumBatchedTokens: 8 });
      const x = new Float64Array(8);
      const seen: StepContext<CpuStream>[] = [];
      const runner = createCpuGraphRunner(config, 4);
      runner.capture(makeStep(x, seen));
      for (const batch of [
        { numTokens: 3, numReqs: 3, uniformDecode: true },
        { numTokens: 3, numReqs: 1, uniformDecode: false },
        { numTokens: 6, numReqs: 2, uniformDecode: false },
      ]) {
        const input = [1, 2, 3, 4, 5, 6].slice(0, batch.numTokens);
        x.fill(0);
        x.set(input);
        seen.length = 0;
        const outcome = runner.run(batch);
        expect(Array.from(x.subarray(0, batch.numTokens))).toEqual(eager(input));
        if (outcome.mode !== 'full') {
          // The prologue ran eagerly in this run: it saw the runner's one decision.
          expect(seen).toHaveLength(1);
          expect(seen[0]!.graph).toBe(outcome.mode);
          expect(seen[0]!.decodeGraph).toBe(outcome.decodeGraph);
        }
      }
      runner.dispose();
    },
  );

  test('the capture context of a decode graph says decodeGraph, a mixed one does not', () => {
    const config = resolveGraphConfig(
      { mode: 'full', captureSizes: [1, 2, 4] },
      { maxNumSeqs: 2, maxNumBatchedTokens: 8 },
    );
    const seen: StepContext<CpuStream>[] = [];
    const runner = createCpuGraphRunner(config);
    runner.capture(makeStep(new Float64Array(8), seen));
    const captured = seen.filter((c) => c.phase === 'capture').map((c) => [c.numTokens, c.graph, c.decodeGraph]);
    // Decode batches of at most maxNumSeqs = 2 requests reach sizes 1 and 2 only.
    expect(captured).toEqual([
      [4, 'full', false],
      [2, 'full', false],
      [2, 'full', true],
      [1, 'full', false],
      [1, 'full', true],
    ]);
    expect(runner.plan({ numTokens: 2, numReqs: 2, uniformDecode: true }).decodeGraph).toBe(true);
    expect(runner.plan({ numTokens: 3, numReqs: 3, uniformDecode: true }).decodeGraph).toBe(false);
  });

  test.each<[string, (x: Float64Array) => unknown, RegExp]>([
    ['not a generator', () => ({ forward: () => undefined }), /must be a generator function/],
    [
      'calls attention twice before yielding',
      (x) => ({
        *forward(ctx: ToyContext) {
          ctx.attention(0, { x });
          yield ctx.attention(1, { x });
        },
      }),
      /was called before the call for layer 0 was yielded/,
    ],
    [
      'returns early',
      (x) => ({
        *forward(ctx: ToyContext) {
          yield ctx.attention(0, { x });
        },
      }),
      /returned after 1 attention calls, expected 3/,
    ],
    [
      'yields something else',
      () => ({
        *forward() {
          yield { layer: 0, io: {} };
        },
      }),
      /yielded something other than the value of ctx.attention/,
    ],
    [
      'a layer out of range',
      (x) => ({
        *forward(ctx: ToyContext) {
          yield ctx.attention(7, { x });
        },
      }),
      /outside \[0, 2\]/,
    ],
  ])('a forward that %s fails capture with a forward_contract StepError', (_name, model, message) => {
    const config = resolveGraphConfig(
      { mode: 'full_and_piecewise', captureSizes: [1, 2] },
      { maxNumSeqs: 2, maxNumBatchedTokens: 4 },
    );
    const runner = createCpuGraphRunner(config);
    const x = new Float64Array(4);
    let error: unknown;
    try {
      runner.capture(makeStep(x, [], model(x)));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphCaptureError);
    const cause = (error as GraphCaptureError).cause;
    expect(cause).toBeInstanceOf(StepError);
    expect(cause).toMatchObject({ code: 'forward_contract' });
    expect((cause as Error).message).toMatch(message);
    expect((error as GraphCaptureError).segment).toBeTypeOf('number');
    // The runner is usable again: a correct forward captures.
    runner.capture(makeStep(x));
    expect(runner.stats().graphs).toBeGreaterThan(0);
  });

  test('bad options are InvalidArgumentErrors naming the option', () => {
    const good = {
      numLayers: 1,
      model: toyModel(new Float64Array(1)),
      makeContext: () => ({}) as never,
      prologue: () => {},
      runAttention: () => {},
    };
    for (const [patch, path] of [
      [{ numLayers: -1 }, 'options.numLayers'],
      [{ numLayers: 2 ** 31 }, 'options.numLayers'],
      [{ numLayers: Number.NaN }, 'options.numLayers'],
      [{ model: null }, 'options.model'],
      [{ model: {} }, 'options.model.forward'],
      [{ makeContext: 1 }, 'options.makeContext'],
      [{ prologue: undefined }, 'options.prologue'],
      [{ runAttention: 'x' }, 'options.runAttention'],
    ] as const) {
      let error: unknown;
      try {
        segmentedForward({ ...good, ...patch } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(isFlashgraphError(error)).toBe(true);
      expect((error as InvalidArgumentError).path).toBe(path);
    }
    expect(() => segmentedForward(null as never)).toThrow(expect.objectContaining({ path: 'options' }));
  });
});
