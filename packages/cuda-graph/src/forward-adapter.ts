// The generator adapter: a forward pass written once as a generator that yields at each attention
// call becomes the runner's segmented step:
//   [eager: prologue] [graph: forward up to attention 0] [eager: attention 0] [graph: ...] ...
//   [graph: after the last attention]
// A full graph captures every segment in one graph; piecewise graphs capture each graph segment
// alone and run attention eagerly in between (the runner calls the eager segments on replay, with
// the attention call recorded when the forward last ran, whose tensors sit at fixed addresses).
// Nothing here knows a model, a tensor type or a device: `C` is whatever context the forward
// takes, `IO` whatever an attention call carries.
import { checkFunction, checkInt, checkObject } from '@flashgraph/errors';
import { StepError } from './errors.js';
import type { SegmentedStep, StepContext, StepSegment } from './types.js';

/** The most attention calls (layers) of one forward: bounds the segment list (2 per layer + 2). */
export const MAX_NUM_ATTENTION_LAYERS = 32_767;

/** What `attention(layer, io)` returns; the forward yields it unchanged. */
export interface AttentionCall<IO = unknown> {
  readonly layer: number;
  readonly io: IO;
}

/** A forward pass: runs the layers, yielding the value of each `attention(layer, io)` call. */
export interface GeneratorForward<C, IO> {
  forward(ctx: C): Generator<AttentionCall<IO>, void, void>;
}

// IO defaults to `any` so that a caller naming only the stream type (`segmentedForward<Stream>`)
// can hand the call's io to its own typed attention without a cast through unknown.
// biome-ignore lint/suspicious/noExplicitAny: see above
export interface SegmentedForwardOptions<S, C = unknown, IO = any> {
  /** Attention calls per forward, for layers 0..numLayers-1 in order. */
  numLayers: number;
  /** Whose `forward` is driven (called with `makeContext`'s result). */
  model: GeneratorForward<C, IO>;
  /** The forward's context for one pass; `attention` is supplied by the adapter. */
  makeContext(ctx: StepContext<S>, attention: (layer: number, io: IO) => AttentionCall<IO>): C;
  /** Work before the forward (metadata and input copies): an eager segment. */
  prologue(ctx: StepContext<S>): void;
  /** The attention of one call (and its KV-cache write), launched on ctx.stream: an eager segment. */
  runAttention(call: AttentionCall<IO>, ctx: StepContext<S>): void;
}

const CONTRACT = 'A forward must `yield ctx.attention(layer, io)` once per layer, for layers 0..numLayers-1 in order.';

function contractError(path: string, problem: string): StepError {
  return new StepError('forward_contract', path, `forward: ${problem}`, CONTRACT);
}

/**
 * The segmented step of a generator forward (see the file comment). Segment `2i + 1` advances the
 * forward to attention call i (the last one to its end), segment `2i + 2` runs attention i. Throws
 * InvalidArgumentError for bad options; a forward that breaks the contract fails its segment with
 * a `forward_contract` StepError naming what it did.
 */
// biome-ignore lint/suspicious/noExplicitAny: the default of SegmentedForwardOptions
export function segmentedForward<S, C = unknown, IO = any>(
  options: SegmentedForwardOptions<S, C, IO>,
): SegmentedStep<S> {
  const given = checkObject('options', options);
  const numLayers = checkInt('options.numLayers', given.numLayers, { min: 0, max: MAX_NUM_ATTENTION_LAYERS });
  checkObject('options.model', given.model);
  checkFunction('options.model.forward', (given.model as { forward?: unknown }).forward);
  const makeContext = checkFunction<SegmentedForwardOptions<S, C, IO>['makeContext']>(
    'options.makeContext',
    given.makeContext,
  );
  const prologue = checkFunction<SegmentedForwardOptions<S, C, IO>['prologue']>('options.prologue', given.prologue);
  const runAttention = checkFunction<SegmentedForwardOptions<S, C, IO>['runAttention']>(
    'options.runAttention',
    given.runAttention,
  );
  const forwardOf = (given.model as GeneratorForward<C, IO>).forward.bind(given.model);
  // Called as methods of the options object, as a caller writing `prologue(ctx) { this... }` expects.
  const callContext = (ctx: StepContext<S>, attention: (layer: number, io: IO) => AttentionCall<IO>) =>
    makeContext.call(options, ctx, attention);

  const calls: (AttentionCall<IO> | undefined)[] = new Array(numLayers).fill(undefined);
  let generator: Generator<AttentionCall<IO>, void, void> | null = null;
  let pending: AttentionCall<IO> | null = null;

  const attention = (layer: number, io: IO): AttentionCall<IO> => {
    const path = `attention(${String(layer)})`;
    if (pending !== null) {
      throw contractError(
        path,
        `ctx.attention(${layer}) was called before the call for layer ${pending.layer} was yielded`,
      );
    }
    if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) {
      throw contractError(path, `ctx.attention got layer ${String(layer)}, outside [0, ${numLayers - 1}]`);
    }
    if (io === null || typeof io !== 'object') {
      throw contractError(
        path,
        `ctx.attention(${layer}) needs its tensors as an object, got ${io === null ? 'null' : typeof io}`,
      );
    }
    pending = Object.freeze({ layer, io: Object.freeze({ ...io }) as IO });
    return pending;
  };

  const advance = (piece: number, ctx: StepContext<S>) => {
    const path = `step.segments[${2 * piece + 1}]`;
    if (piece === 0) {
      pending = null;
      generator = forwardOf(callContext(ctx, attention));
      if (!generator || typeof generator.next !== 'function') {
        generator = null;
        throw contractError(path, 'forward() must be a generator function (function*)');
      }
    }
    if (generator === null) throw contractError(path, 'the forward pass was interrupted (an earlier segment failed)');
    let result: IteratorResult<AttentionCall<IO>, void>;
    try {
      result = generator.next();
    } catch (err) {
      generator = null;
      pending = null;
      throw err;
    }
    if (piece < numLayers) {
      if (result.done) {
        generator = null;
        throw contractError(path, `it returned after ${piece} attention calls, expected ${numLayers}`);
      }
      const call = result.value;
      if (call !== pending) {
        generator = null;
        throw contractError(path, `it yielded something other than the value of ctx.attention() at piece ${piece}`);
      }
      if (call.layer !== piece) {
        generator = null;
        throw contractError(path, `attention call ${piece} was for layer ${call.layer}`);
      }
      calls[piece] = call;
      pending = null;
    } else {
      const stillPending = pending !== null;
      generator = null;
      pending = null;
      if (!result.done) throw contractError(path, `it yielded more than ${numLayers} attention calls`);
      if (stillPending) throw contractError(path, 'ctx.attention() was called but never yielded');
    }
  };

  const segments: StepSegment<S>[] = [{ kind: 'eager', run: (ctx) => prologue.call(options, ctx) }];
  for (let piece = 0; piece <= numLayers; piece++) {
    segments.push({ kind: 'graph', run: (ctx) => advance(piece, ctx) });
    if (piece < numLayers) {
      const layer = piece;
      segments.push({
        kind: 'eager',
        run: (ctx) => {
          const call = calls[layer];
          if (!call) {
            throw contractError(
              `step.segments[${2 * layer + 2}]`,
              `attention of layer ${layer} ran before the forward reached it`,
            );
          }
          runAttention.call(options, call, ctx);
        },
      });
    }
  }
  return Object.freeze({ segments: Object.freeze(segments) });
}
