// Public types of @flashgraph/cuda-graph.
import type { ResolvedGraphConfig } from '@flashgraph/config';
import type { Stream } from '@flashgraph/cuda';

/** Why the step is being called. */
export type StepPhase = 'warmup' | 'capture' | 'eager';

/**
 * What a step sees. During `warmup` and `capture`, and for eager segments between replayed graph
 * segments, `numTokens` is a capture size and `numReqs` its padded request count; when a whole step
 * runs eagerly (`run()` fell back), they are the batch's real counts.
 */
export interface StepContext<S = Stream> {
  /** The runner's stream; launch every kernel of the step on it. */
  readonly stream: S;
  readonly numTokens: number;
  /** Request count the step must build its metadata for (padded, see `padRequestCount`). */
  readonly numReqs: number;
  /** Every request has `uniformDecodeQueryLen` query tokens. */
  readonly uniformDecode: boolean;
  readonly phase: StepPhase;
  /**
   * How this run of the step executes: inside one full graph (captured or replayed), as piecewise
   * graphs with eager segments between, or entirely eagerly. The runner's one decision; a step
   * reads it here instead of recomputing it.
   */
  readonly graph: 'full' | 'piecewise' | 'eager';
  /**
   * The run is (or is captured as) a uniform-decode full graph: build attention metadata for the
   * decode graph (decode query length, decode kernel). Equals `RunOutcome.decodeGraph` of the
   * batch; false for mixed full graphs, piecewise and eager runs.
   */
  readonly decodeGraph: boolean;
}

/** One piece of a segmented step: `graph` pieces are captured, `eager` pieces (attention) never. */
export interface StepSegment<S = Stream> {
  readonly kind: 'graph' | 'eager';
  run(ctx: StepContext<S>): void;
}

/**
 * A step written once as an ordered list of segments. Full graphs capture all segments in one
 * graph; piecewise graphs capture each `graph` segment on its own (one graph per size and segment)
 * and run the `eager` segments eagerly in between, in order.
 */
export interface SegmentedStep<S = Stream> {
  readonly segments: readonly StepSegment<S>[];
}

/** A plain function (modes `none`, `full`, `full_decode_only`) or a segmented step (any mode). */
export type GraphStep<S = Stream> = ((ctx: StepContext<S>) => void) | SegmentedStep<S>;

/** Progress of `capture()`, one event per phase of each size. */
export interface CaptureProgress {
  /** The capture size. */
  readonly size: number;
  /** Position of this size in capture order (largest first), 0-based. */
  readonly index: number;
  /** Number of sizes that get at least one graph. */
  readonly total: number;
  /** Milliseconds since `capture()` started. */
  readonly elapsedMs: number;
  /** `warmup` and `capture` mark the start of that phase for this size, `done` its end. */
  readonly phase: 'warmup' | 'capture' | 'done';
}

export interface GraphRunnerOptions {
  config: ResolvedGraphConfig;
  /** The stream every step runs on; a raw `cudaStream_t` handle is wrapped without taking ownership. */
  stream: Stream | bigint;
  onProgress?: (event: CaptureProgress) => void;
  /**
   * Most requests in one step (the engine's `maxNumSeqs`). Caps the padded request count of a
   * mixed batch; without it a mixed batch of size `s` is padded to `s` requests. Decode graphs
   * are captured for the sizes decode batches of at most min(this, config.maxNumSeqs) requests
   * pad to (`decodeGraphSizes` of @flashgraph/config).
   */
  maxNumReqs?: number;
}

/** One step to run. */
export interface RunBatch {
  /** Real tokens in the step, 1..config.maxNumBatchedTokens (a larger step is an error, not an eager run). */
  numTokens: number;
  /** Real requests, 1..numTokens (and <= maxNumReqs when set). */
  numReqs: number;
  /** Every request has `uniformDecodeQueryLen` query tokens (so numTokens = numReqs * that). */
  uniformDecode: boolean;
}

/**
 * What `run()` did (or `plan()` would do). Replay outcomes are frozen objects shared by every run
 * of the same size and route, so comparing by identity is fine and `run()` allocates nothing;
 * eager outcomes are fresh frozen objects.
 */
export interface RunOutcome {
  readonly mode: 'full' | 'piecewise' | 'eager';
  /** Tokens the launched work covers: the capture size, or the real count when eager. */
  readonly paddedTokens: number;
  /** Requests the launched work covers: the padded request count, or the real count when eager. */
  readonly paddedReqs: number;
  /**
   * The batch replays a uniform-decode full graph (captured with `uniformDecode: true`, replayed
   * only by uniform decode batches); false for mixed full graphs, piecewise and eager. Known from
   * `plan()`, so the caller can build metadata that matches the graph before `run()`.
   */
  readonly decodeGraph: boolean;
}

export interface SizeStats {
  readonly size: number;
  /** Replays of a full graph of this size. */
  readonly fullReplays: number;
  /** Of those, replays of its uniform-decode full graph (`RunOutcome.decodeGraph`). */
  readonly decodeGraphReplays: number;
  /** Replays of this size's piecewise graphs. */
  readonly piecewiseReplays: number;
  /** fullReplays + piecewiseReplays. */
  readonly replays: number;
  /** Sum over replays of (size - real tokens). */
  readonly paddingTokens: number;
  /** Warm-up + capture + instantiate + upload time of this size's graphs. */
  readonly captureMs: number;
  /** Graphs held for this size. */
  readonly graphs: number;
}

export interface GraphMemory {
  readonly usedBytes: number;
  readonly highBytes: number;
  readonly reservedBytes: number;
}

export interface GraphRunnerStats {
  readonly mode: ResolvedGraphConfig['mode'];
  /** `idle` before capture, `locked` after, `disposed` after dispose(). */
  readonly state: 'idle' | 'locked' | 'disposed';
  /** Ascending by size; only sizes that hold graphs. */
  readonly sizes: readonly SizeStats[];
  readonly graphs: number;
  readonly captureMs: number;
  /** The driver's graph memory now (`deviceGraphMemory`). */
  readonly graphMemory: GraphMemory;
  /** The driver's graph memory when the last `capture()` started. */
  readonly graphMemoryAtCaptureStart: GraphMemory | null;
  readonly replays: number;
  /** Runs that executed the whole step eagerly, for any reason. */
  readonly eagerFallbacks: number;
  /** Of those, runs above the largest capture size. */
  readonly eagerAboveMax: number;
}

export interface GraphRunner<S = Stream> {
  readonly config: ResolvedGraphConfig;
  /** The stream the runner launches on (`ctx.stream` of every step). */
  readonly stream: S;
  /** Capture every graph the mode needs, largest size first; then the runner is locked. */
  capture(step: GraphStep<S>): GraphRunnerStats;
  /** Replay (padding the batch) or run eagerly; O(1), no allocation on replay. */
  run(batch: RunBatch): RunOutcome;
  /** What `run(batch)` would do, without launching anything. */
  plan(batch: RunBatch): RunOutcome;
  stats(): GraphRunnerStats;
  /** Free every graph and unlock, so `capture()` may be called again. */
  reset(): void;
  /** Free every graph; the runner can't be used afterwards. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;
}
