// @flashgraph/fa3: public API. See README.md.

export type { Attention, AttentionMetadata } from './attention.js';
export { createAttention } from './attention.js';
export type { ForwardArgs, ScheduleArgs, WriteKvCacheArgs } from './call-args.js';
export type { DeviceMemory, StreamLike } from './device-args.js';
export { Fa3Error } from './errors.js';
export type { ForwardKernelName, KernelRequest } from './forward-kernel.js';
export {
  DECODE_MAX_ROWS,
  forwardKernel,
  kernelRequestFromEnv,
  WGMMA_BY_DEFAULT,
  WGMMA_HEAD_DIMS,
} from './forward-kernel.js';
export { writeKvCacheReference } from './kv-cache-reference.js';
export { mergeSplitsReference } from './merge-splits-reference.js';
export type { AttentionDtype, AttentionOptions, HeadDim, ResolvedAttentionOptions } from './options.js';
export type { SplitPlan } from './plan-splits.js';
export { MAX_NUM_SPLITS, planSplits } from './plan-splits.js';
export type { ReferenceAttentionArgs, ReferenceAttentionResult } from './reference-attention.js';
export { referenceAttention } from './reference-attention.js';
export type { TileShape } from './tile-shape.js';
export { tileShape } from './tile-shape.js';
