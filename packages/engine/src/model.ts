// The contract between the engine and a model. A model declares its shape and writes one
// forward pass as a generator: it launches its kernels on `ctx.stream` and, at each attention,
// `yield ctx.attention(layer, { q, k, v, out })`. Those yields are the only places where the
// engine may leave a CUDA graph, so the same forward code runs eagerly, inside one full graph,
// and split into piecewise graphs with attention eager in between.
import type { DeviceBuffer, Stream } from '@flashgraph/cuda';

export type ModelDtype = 'bf16' | 'fp16';
export type BackendKind = 'cuda' | 'cpu';

/** What the engine needs to know about a model to size its KV cache and attention. */
export interface ModelShape {
  readonly numLayers: number;
  readonly numHeadsQ: number;
  readonly numHeadsKv: number;
  /** 64, 128 or 256 (the attention kernels' head dims). */
  readonly headDim: number;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  /** Activation and KV-cache dtype on CUDA; the CPU backend computes in fp32. */
  readonly dtype: ModelDtype;
}

/** Device memory on the CUDA backend. */
export type DeviceTensor = DeviceBuffer | bigint;

/** The tensors of one attention call: `q`/`out` `[numTokens, numHeadsQ, headDim]`, `k`/`v` `[numTokens, numHeadsKv, headDim]`. */
export interface AttentionIO<T> {
  q: T;
  k: T;
  v: T;
  out: T;
}

/** What `ctx.attention()` returns; yield it unchanged. */
export interface AttentionCall {
  readonly layer: number;
  /** Opaque to the model. */
  readonly io: AttentionIO<unknown>;
}

/**
 * A CPU "stream": kernels are closures. Outside a capture `launch` runs the closure at once;
 * inside one it is recorded and runs again on every replay, like a kernel node of a CUDA graph.
 * So a CPU kernel must read its inputs when it runs, never when it is launched.
 */
export interface CpuStream {
  launch(kernel: () => void): void;
}

/** Per-step inputs at fixed addresses (the engine writes them before every step). */
export interface StepBuffers<I> {
  /** int32 `[numTokens]`: the token id of each row. */
  readonly tokenIds: I;
  /** int32 `[numTokens]`: the token's position in its sequence (0 for padding rows). */
  readonly positions: I;
  /** int32 `[numReqs]`: the row whose next token request r samples, or -1 (no sample, padding). */
  readonly sampleRows: I;
  /** int32 `[numReqs]`, written by the model: the sampled next token of request r (-1 where sampleRows is -1). */
  readonly sampled: I;
}

interface ForwardContextBase<S, T, I> {
  /** Launch every kernel of the step on this stream. */
  readonly stream: S;
  /**
   * Rows to compute: the step's token count, padded to the capture size when a graph runs
   * (padding rows have token 0, position 0, and their keys/values are never stored).
   */
  readonly numTokens: number;
  /** Requests in `sampleRows`/`sampled` (padded like numTokens). */
  readonly numReqs: number;
  readonly buffers: StepBuffers<I>;
  /** Writes k and v of the step's tokens into layer's KV cache and runs attention; yield the result. */
  attention(layer: number, io: AttentionIO<T>): AttentionCall;
}

export interface CudaForwardContext extends ForwardContextBase<Stream, DeviceTensor, DeviceBuffer> {
  readonly backend: 'cuda';
}

export interface CpuForwardContext extends ForwardContextBase<CpuStream, Float32Array, Int32Array> {
  readonly backend: 'cpu';
}

export type ForwardContext = CudaForwardContext | CpuForwardContext;

/** What the engine tells a model when loading it. */
export interface ModelLoadContext {
  readonly backend: BackendKind;
  /** CUDA device ordinal (0 on the CPU backend). */
  readonly device: number;
  /** Most rows a forward pass computes (the largest step, padded). */
  readonly maxNumTokens: number;
  /** Most requests in one step. */
  readonly maxNumReqs: number;
}

/** A model loaded for one backend: its weights and activation buffers live here, at fixed addresses. */
export interface LoadedModel {
  /**
   * One forward pass over `ctx.numTokens` rows: embed `buffers.tokenIds` at `buffers.positions`,
   * run every layer (yielding each attention call), and sample into `buffers.sampled`. It must
   * launch work only (no synchronization, no allocation, no host reads of device data), so it can
   * be captured into a CUDA graph.
   */
  forward(ctx: ForwardContext): Generator<AttentionCall, void, void>;
  /** Frees what `load` allocated. */
  dispose(): void;
}

export interface Model {
  readonly name: string;
  readonly shape: ModelShape;
  /** Backends this model has kernels for. */
  readonly backends: readonly BackendKind[];
  /** Allocates weights and activations for the given backend and limits. */
  load(context: ModelLoadContext): LoadedModel;
}
