// What the engine needs from an execution backend (CUDA or CPU): capture once, then run one
// scheduled batch and hand back the sampled tokens.

import type { BlockTableRows } from '@flashgraph/attn-metadata';
import type { GraphRunnerStats, RunOutcome } from '@flashgraph/cuda-graph';
import type { KvCacheDtype } from '@flashgraph/fa3';
import type { BackendKind } from './model.js';
import type { ScheduledBatch } from './scheduler.js';

export interface ExecuteResult {
  readonly outcome: RunOutcome;
  /** sampled[i]: the next token of batch.requests[i] (-1 where it samples nothing). */
  readonly sampled: Int32Array;
  /** logprobs[i]: the raw-logit log-probability of sampled[i] (0 when the model sampled itself). */
  readonly logprobs: Float32Array;
}

export interface ExecutionBackend {
  readonly kind: BackendKind;
  /** Device memory held by the backend (KV cache, activations, attention workspace), 0 on CPU. */
  readonly deviceBytes: number;
  /**
   * The block-table rows of the backend's metadata (the CUDA builder's, the CPU host mirror's).
   * The engine's block manager keeps one row per running request in them, and `execute` hands
   * the batch's requests (which name their rows) to the metadata build as they are.
   */
  readonly blockTableRows: BlockTableRows;
  /** Captures every graph of the resolved mode. */
  capture(): GraphRunnerStats;
  execute(batch: ScheduledBatch): ExecuteResult;
  runnerStats(): GraphRunnerStats;
  dispose(): void;
}

/** Sizes every backend derives from the engine options. */
export interface BackendLimits {
  blockSize: number;
  numBlocks: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxBlocksPerReq: number;
  device: number;
  kvCache: KvCacheSpec;
}

/** The KV cache's element type and, for fp8, its descales (fp32 [numLayers x numHeadsKv] each). */
export interface KvCacheSpec {
  readonly dtype: KvCacheDtype;
  readonly kDescale: Float32Array | null;
  readonly vDescale: Float32Array | null;
}
