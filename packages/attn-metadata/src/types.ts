// Public types, declared structurally so that this package (and its CPU tests) depend on the
// shapes of @flashgraph/fa3 and @flashgraph/config, not on their native layer.

/** One request of a step, as the engine's scheduler sees it. */
export type MetadataRequest = MetadataRequestWithBlockIds | MetadataRequestWithRow;

interface MetadataRequestCounts {
  /** Query tokens of this step (1 for a decode, the chunk length for a prefill). */
  readonly numNewTokens: number;
  /** Tokens already in the KV cache before this step (the context). */
  readonly numComputedTokens: number;
}

/** A request that hands its KV pages every step (each id is checked and copied every step). */
export interface MetadataRequestWithBlockIds extends MetadataRequestCounts {
  /** The request's KV pages in order; page i holds positions [i * blockSize, (i + 1) * blockSize). */
  readonly blockIds: ArrayLike<number>;
  readonly blockTableRow?: undefined;
}

/**
 * A request whose KV pages live in a block-table row across steps (`blockTableRows`): the step
 * checks O(1) things and copies only ids appended or changed since the row was last staged.
 */
export interface MetadataRequestWithRow extends MetadataRequestCounts {
  /** An acquired row of `blockTableRows`; its ids are the request's KV pages in order. */
  readonly blockTableRow: number;
  readonly blockIds?: undefined;
}

export interface MetadataBatch {
  readonly requests: ArrayLike<MetadataRequest>;
}

/** The capacities that fix the metadata layout; nothing in it depends on a batch. */
export interface MetadataCapacities {
  readonly maxNumReqs: number;
  readonly maxNumTokens: number;
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly maxBlocksPerReq: number;
}

/**
 * The members of a resolved graph config (`@flashgraph/config`) that the step rule reads: the
 * full-graph decision (`graphRouteLookup` of @flashgraph/config) and the split bound.
 */
export interface GraphConfigLike {
  readonly captureSizes: readonly number[];
  readonly maxCaptureSize: number;
  readonly maxNumSplits: number;
  readonly uniformDecodeQueryLen: number;
  readonly hasFullGraphs: boolean;
  readonly fullGraphsFor: 'all' | 'uniform_decode' | 'none';
  /** Whether piecewise graphs are captured (part of the config's route decision). */
  readonly piecewise: boolean;
  /** Most requests in one step: uniform decode batches above it get no decode graph. */
  readonly maxNumSeqs: number;
}

/** What `attention.schedule` receives (FA3's `get_scheduler_metadata` arguments). */
export interface ScheduleArgs<Buffer, StreamArg> {
  stream: StreamArg;
  cuSeqlensQ: Buffer;
  seqLens: Buffer;
  numReqs: number;
  maxSeqlenQ: number;
  maxSeqlenK: number;
  numSplits: number;
}

/** The capacities of an `@flashgraph/fa3` `Attention` (its `options`) that the builders check against. */
export interface AttentionCapacities {
  readonly numHeadsQ: number;
  readonly numHeadsKv: number;
  readonly headDim: number;
  readonly pageSize: number;
  readonly numPages: number;
  readonly maxNumReqs: number;
  readonly maxNumTokens: number;
  readonly maxNumPagesPerReq: number;
  readonly maxNumSplits: number;
}

/**
 * The shape of the attention a host builder's metadata feeds (no device, no `schedule`): its
 * capacities, and the SM count `describe` plans splits for (default `DEFAULT_SM_COUNT` of
 * `@flashgraph/fa3/reference`).
 */
export interface AttentionShape {
  readonly options: AttentionCapacities;
  readonly smCount?: number;
}

/** The members of an `@flashgraph/fa3` `Attention` that the CUDA builder uses. */
export interface AttentionLike<Buffer = unknown, StreamArg = unknown> extends AttentionShape {
  readonly smCount: number;
  schedule(args: ScheduleArgs<Buffer, StreamArg>): void;
}

/** The step's metadata. Frozen; the buffers are views of the builder's persistent device buffer. */
export interface AttentionMetadata<Buffer = unknown> {
  /** Tokens of the real requests. */
  readonly numActualTokens: number;
  /** Real requests. */
  readonly numReqs: number;
  /** Token rows the step runs (>= numActualTokens); rows past numActualTokens have slot -1. */
  readonly numPaddedTokens: number;
  /** Requests the kernels see (>= numReqs); padded requests have zero tokens and zero length. */
  readonly numPaddedReqs: number;
  /** Longest query of a real request (0 without requests). */
  readonly maxQueryLen: number;
  /** Longest seqLen (context + new tokens) of a real request. */
  readonly maxSeqLen: number;
  /**
   * The max lengths the kernels receive. Eagerly maxQueryLen and maxSeqLen; in a full graph the
   * capacity bounds (numPaddedTokens and maxBlocksPerReq x blockSize), because the graph keeps the
   * values seen at capture and they must hold for every batch replayed at this padded size.
   */
  readonly maxSeqlenQ: number;
  readonly maxSeqlenK: number;
  /** Every real request has exactly `graphConfig.uniformDecodeQueryLen` new tokens (and there is one). */
  readonly uniformDecode: boolean;
  /**
   * The step runs inside a full graph: numPaddedTokens is a capture size whose route
   * (`graphRoute` of @flashgraph/config, the graph runner's decision) replays a full graph.
   */
  readonly fullGraph: boolean;
  /**
   * The step's split request (FA3's `num_splits`), given to both `schedule` and `forward`:
   * graphConfig.maxNumSplits in a full graph, else 0 (the heuristic). Not a capacity: the
   * attention's `maxNumSplits` option is the split capacity its workspace holds.
   */
  readonly numSplits: number;
  /** int32 [numPaddedReqs + 1] live; every entry past numReqs holds numActualTokens. */
  readonly queryStartLoc: Buffer;
  /** int32 [numPaddedReqs] live; 0 past numReqs. */
  readonly seqLens: Buffer;
  /** int32 [numPaddedReqs, blockTableStride] live; -1 where no block id is stored. */
  readonly blockTable: Buffer;
  /** Elements between rows of blockTable (= maxBlocksPerReq). */
  readonly blockTableStride: number;
  /** int32 [numPaddedTokens] live; -1 for padded tokens. */
  readonly slotMapping: Buffer;
  /** int32 [numPaddedTokens] live; 0 for padded tokens. */
  readonly positions: Buffer;
}
