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
  /** Activation dtype on CUDA, and the KV cache's unless the engine's cache.dtype asks for fp8; the CPU backend computes in fp32. */
  readonly dtype: ModelDtype;
  /**
   * Sliding-window attention: a query at position p sees keys p-W+1..p (transformers'
   * convention). null or absent: full causal attention.
   */
  readonly slidingWindow?: number | null;
  /**
   * The most token positions a request may use (prompt + generated tokens, less the last one,
   * which is never fed back): a checkpoint's `max_position_embeddings`. The engine's
   * `limits.maxModelLen` defaults to at most this and may not exceed it. null or absent: no bound.
   */
  readonly maxPositions?: number | null;
}

/** Device memory on the CUDA backend. */
export type DeviceTensor = DeviceBuffer | bigint;

/** The tensors of one attention call: `q`/`out` `[numTokens, numHeadsQ, headDim]`, `k`/`v` `[numTokens, numHeadsKv, headDim]`. */
export interface AttentionIO<T> {
  q: T;
  k: T;
  v: T;
  out: T;
  /**
   * fp32 `[numHeadsQ]` attention sinks of this layer (gpt-oss: one learned logit per query head
   * in the softmax denominator), passed to fa3's `forward({ sinks })`; absent = none. Read when
   * the attention runs, so a captured graph sees the values of each replay.
   */
  sinks?: T;
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
export interface StepBuffers<I, F = I> {
  /** int32 `[numTokens]`: the token id of each row. */
  readonly tokenIds: I;
  /** int32 `[numTokens]`: the token's position in its sequence (0 for padding rows). */
  readonly positions: I;
  /** int32 `[numReqs]`: the row whose next token request r samples, or -1 (no sample, padding). */
  readonly sampleRows: I;
  /**
   * int32 `[numReqs]`: the sampled next token of request r (-1 where sampleRows is -1), written
   * by `ctx.sample` (a model may also write it itself, as the synthetic decoder does).
   */
  readonly sampled: I;
  /**
   * fp32 `[numReqs]`, written by `ctx.sample`: log-softmax of the raw logits at the sampled token
   * (0 where nothing is sampled).
   */
  readonly logprobs: F;
}

interface ForwardContextBase<S, T, I, F> {
  /** Launch every kernel of the step on this stream. */
  readonly stream: S;
  /**
   * Rows to compute: the step's token count, padded to the capture size when a graph runs
   * (padding rows have token 0, position 0, and their keys/values are never stored).
   */
  readonly numTokens: number;
  /** Requests in `sampleRows`/`sampled` (padded like numTokens). */
  readonly numReqs: number;
  readonly buffers: StepBuffers<I, F>;
  /** Writes k and v of the step's tokens into layer's KV cache and runs attention; yield the result. */
  attention(layer: number, io: AttentionIO<T>): AttentionCall;
  /**
   * Launches the engine's sampler on `stream`: call it once, after the last attention, with fp32
   * logits `[numReqs, vocabSize]` (row r = the logits of row `sampleRows[r]`; rows whose
   * sampleRows is -1 may hold anything). It writes `buffers.sampled` and `buffers.logprobs` with
   * each request's own temperature, top-k, top-p and seed (the per-step parameter buffers).
   */
  sample(logits: T): void;
}

export interface CudaForwardContext extends ForwardContextBase<Stream, DeviceTensor, DeviceBuffer, DeviceBuffer> {
  readonly backend: 'cuda';
}

export interface CpuForwardContext extends ForwardContextBase<CpuStream, Float32Array, Int32Array, Float32Array> {
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
   * run every layer (yielding each attention call), and sample (`ctx.sample(logits)`, or write
   * `buffers.sampled` itself). It must
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
  /** Tokens that end a request (unless it sets `ignoreEos`); the stopping token is kept in the output. */
  readonly eosTokenIds?: readonly number[];
  /** Backends this model has kernels for. */
  readonly backends: readonly BackendKind[];
  /** Allocates weights and activations for the given backend and limits. */
  load(context: ModelLoadContext): LoadedModel;
}
