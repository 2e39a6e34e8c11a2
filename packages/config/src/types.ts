// Public types of @flashgraph/config.

/** How CUDA graphs are used for a step (vLLM's `CUDAGraphMode`). */
export type GraphMode = 'none' | 'piecewise' | 'full' | 'full_decode_only' | 'full_and_piecewise';

/** What an attention backend can run inside a full CUDA graph (vLLM's `AttentionCGSupport`). */
export type CudagraphSupport = 'always' | 'uniform_batch' | 'uniform_single_token_decode' | 'never';

/** The attention backend's declared capability. */
export interface BackendCapability {
  /** Which batches the backend can run inside a full graph. */
  cudagraphSupport: CudagraphSupport;
  /** Whether the backend plans its attention schedule ahead of time on the device (FA3-style AoT). */
  aotScheduling: boolean;
  /**
   * Largest batch the backend's AoT metadata can hold: a capture size that gets a full graph above
   * it is an error (in the decode-only modes, only the sizes uniform decode batches pad to).
   */
  maxAotBatch?: number;
  /** Head dims of q / k / v the backend's kernels are built for (informational; absent = not stated). */
  headDims?: readonly number[];
  /** Whether the backend applies attention sinks (one logit per query head in the softmax denominator). */
  attentionSinks?: boolean;
}

/** What a graph configuration depends on. */
export interface GraphConfigContext {
  /** Most requests in one step. */
  maxNumSeqs: number;
  /** Most tokens in one step; no capture size is larger. */
  maxNumBatchedTokens: number;
  /** Query tokens per request in a uniform decode step: 1 + speculative tokens. Default 1. */
  uniformDecodeQueryLen?: number;
  /** The attention backend's capability. Default: flashgraph's FA3 (`always`, AoT scheduling). */
  backend?: BackendCapability;
  /** Whether the runtime can capture piecewise graphs around eager attention. Default true. */
  supportsPiecewise?: boolean;
}

/** The user-facing graph configuration (also the shape of a JSON config file). */
export interface GraphConfigInput {
  /** Editors' JSON Schema reference in config files; ignored. */
  $schema?: string;
  /** Default `full_and_piecewise` (or the best mode the backend supports). */
  mode?: GraphMode;
  /** Token counts to capture graphs for. Default: see `defaultCaptureSizes`. */
  captureSizes?: readonly number[];
  /** Largest capture size; with `captureSizes` it must equal the largest one. */
  maxCaptureSize?: number;
  /** Upper bound of KV splits per request (sizes the split-KV workspace). Default 32, 1..256. */
  maxNumSplits?: number;
  /** Eager runs per size before capture. Default 1, 0..100. */
  numWarmups?: number;
  /** Deprecated: `true` means `mode: 'full'`, `false` means `mode: 'piecewise'`. */
  fullCudaGraph?: boolean;
}

/** A non-fatal adjustment made while resolving, returned as data (never printed). */
export interface ConfigWarning {
  /** Stable machine-readable id. */
  readonly code:
    | 'mode_downgraded'
    | 'capture_sizes_dropped'
    | 'capture_sizes_rounded'
    | 'max_capture_size_capped'
    | 'option_ignored'
    | 'deprecated_option';
  /** The input path the warning is about (`captureSizes`, `mode`). */
  readonly path: string;
  readonly message: string;
}

/** One problem found in the input or context. */
export interface ConfigIssue {
  /** Stable machine-readable id. */
  readonly code: string;
  /** Where the problem is: `captureSizes[3]`, `mode`, `context.maxNumSeqs`; `''` for the whole input. */
  readonly path: string;
  /** The offending value as given. */
  readonly value: unknown;
  /** What the value must satisfy. */
  readonly rule: string;
  /** What to change. */
  readonly fix: string;
}

/** Which batches run inside full graphs. */
export type FullGraphsFor = 'all' | 'uniform_decode' | 'none';

/** A validated configuration; frozen. */
export interface ResolvedGraphConfig {
  /** The mode after capability resolution. */
  readonly mode: GraphMode;
  /** The mode asked for (explicit, from `fullCudaGraph`, or the default), before resolution. */
  readonly requestedMode: GraphMode;
  /** Ascending, unique token counts; empty when mode is `none`. */
  readonly captureSizes: readonly number[];
  /** The largest capture size (0 when mode is `none`); larger steps run eagerly. */
  readonly maxCaptureSize: number;
  readonly maxNumSplits: number;
  readonly numWarmups: number;
  readonly warnings: readonly ConfigWarning[];
  /** Query tokens per request in a uniform decode step. */
  readonly uniformDecodeQueryLen: number;
  /** Most requests in one step (`context.maxNumSeqs`). */
  readonly maxNumSeqs: number;
  /**
   * Most tokens in one step (`context.maxNumBatchedTokens`): the runner rejects a larger step
   * instead of running it eagerly.
   */
  readonly maxNumBatchedTokens: number;
  /** Whether any full graphs are captured. */
  readonly hasFullGraphs: boolean;
  /** Which batches replay a full graph. */
  readonly fullGraphsFor: FullGraphsFor;
  /** Whether piecewise graphs (attention eager in between) are captured. */
  readonly piecewise: boolean;
}

/** Arguments of `estimateSplitWorkspaceBytes`. */
export interface SplitWorkspaceShape {
  maxNumSplits: number;
  numHeadsQ: number;
  maxNumTokens: number;
  headDim: number;
}
