// Turns a model's generator forward into the segmented step of @flashgraph/cuda-graph:
//   [eager: prologue] [graph: forward up to attention 0] [eager: attention 0] [graph: ... ] ...
//   [graph: after the last attention, sampling]
// A full graph captures every segment in one graph; piecewise graphs capture each graph segment
// alone and run attention eagerly in between (the runner calls the eager segments on replay,
// with the attention tensors recorded when the forward last ran, which sit at fixed addresses).
import type { SegmentedStep, StepContext, StepSegment } from '@flashgraph/cuda-graph';
import { EngineError } from './errors.js';
import type { AttentionCall, AttentionIO, ForwardContext, LoadedModel } from './model.js';

export interface ForwardDriverOptions<S> {
  numLayers: number;
  model: LoadedModel;
  /** The forward context of one pass; `attention` is supplied by the driver. */
  makeContext(ctx: StepContext<S>, attention: (layer: number, io: AttentionIO<never>) => AttentionCall): ForwardContext;
  /** Work before the forward (metadata and input copies), an eager segment. */
  prologue(ctx: StepContext<S>): void;
  /** KV-cache write plus attention of one call, on ctx.stream. */
  runAttention(call: AttentionCall, ctx: StepContext<S>): void;
}

function contractError(message: string): EngineError {
  return new EngineError(
    'model_contract',
    `model forward: ${message}. A forward must \`yield ctx.attention(layer, io)\` once per layer, for layers 0..numLayers-1 in order`,
  );
}

export function segmentedForward<S>(options: ForwardDriverOptions<S>): SegmentedStep<S> {
  const { numLayers } = options;
  const calls: (AttentionCall | undefined)[] = new Array(numLayers).fill(undefined);
  let generator: Generator<AttentionCall, void, void> | null = null;
  let pending: AttentionCall | null = null;

  const attention = (layer: number, io: AttentionIO<never>): AttentionCall => {
    if (pending !== null)
      throw contractError(`ctx.attention(${layer}) was called before the call for layer ${pending.layer} was yielded`);
    if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) {
      throw contractError(`ctx.attention got layer ${String(layer)}, outside [0, ${numLayers - 1}]`);
    }
    if (io === null || typeof io !== 'object' || !io.q || !io.k || !io.v || !io.out) {
      throw contractError(`ctx.attention(${layer}) needs { q, k, v, out }`);
    }
    pending = Object.freeze({ layer, io: Object.freeze({ ...io }) });
    return pending;
  };

  const advance = (piece: number, ctx: StepContext<S>) => {
    if (piece === 0) {
      pending = null;
      generator = options.model.forward(options.makeContext(ctx, attention));
      if (!generator || typeof generator.next !== 'function')
        throw contractError('forward() must be a generator function (function*)');
    }
    if (generator === null) throw contractError('the forward pass was interrupted (an earlier segment failed)');
    let result: IteratorResult<AttentionCall, void>;
    try {
      result = generator.next();
    } catch (err) {
      generator = null;
      pending = null;
      throw err;
    }
    if (piece < numLayers) {
      if (result.done) throw contractError(`it returned after ${piece} attention calls, expected ${numLayers}`);
      const call = result.value;
      if (call !== pending)
        throw contractError(`it yielded something other than the value of ctx.attention() at piece ${piece}`);
      if (call.layer !== piece) throw contractError(`attention call ${piece} was for layer ${call.layer}`);
      calls[piece] = call;
      pending = null;
    } else {
      if (!result.done) throw contractError(`it yielded more than ${numLayers} attention calls`);
      if (pending !== null) throw contractError('ctx.attention() was called but never yielded');
      generator = null;
    }
  };

  const segments: StepSegment<S>[] = [{ kind: 'eager', run: (ctx) => options.prologue(ctx) }];
  for (let piece = 0; piece <= numLayers; piece++) {
    segments.push({ kind: 'graph', run: (ctx) => advance(piece, ctx) });
    if (piece < numLayers) {
      const layer = piece;
      segments.push({
        kind: 'eager',
        run: (ctx) => {
          const call = calls[layer];
          if (!call) throw contractError(`attention of layer ${layer} ran before the forward reached it`);
          options.runAttention(call, ctx);
        },
      });
    }
  }
  return Object.freeze({ segments: Object.freeze(segments) });
}
