// @flashgraph/fa3/reference: the host-only half of fa3, which loads no native code: the
// scheduling maths (planSplits, tileShape, forwardKernel), the CPU references of attention, the
// split merge and the KV-cache write, the constants they share, and the error classes. The main
// entry re-exports all of it next to createAttention.

export { type AttentionCaps, attentionCaps } from './attention-caps.js';
export { DTYPE_BYTES, KV_CACHE_DTYPES, type KvCacheDtype, kvCacheDtypeBytes } from './dtype.js';
export { FA3_NATIVE_ERROR_CODES, Fa3Error, type Fa3ErrorCode } from './errors.js';
export type { ForwardKernelName, KernelRequest } from './forward-kernel.js';
export {
  DECODE_MAX_ROWS,
  forwardKernel,
  kernelRequestFromEnv,
  WGMMA_BY_DEFAULT,
  WGMMA_HEAD_DIMS,
} from './forward-kernel.js';
export { decodeE4m3, E4M3_MAX, E4M3_NAN, encodeE4m3 } from './fp8.js';
export { HEAD_DIMS, type HeadDim, MAX_NUM_HEADS_KV, MAX_NUM_HEADS_Q } from './heads.js';
export {
  type WriteKvCacheReferenceArgs,
  type WriteKvCacheReferenceFp8Args,
  writeKvCacheReference,
} from './kv-cache-reference.js';
export { mergeSplitsReference } from './merge-splits-reference.js';
export type { SplitPlan } from './plan-splits.js';
export { MAX_NUM_SPLITS, planSplits } from './plan-splits.js';
export type {
  ReferenceAttentionArgs,
  ReferenceAttentionFp8Args,
  ReferenceAttentionResult,
} from './reference-attention.js';
export { referenceAttention } from './reference-attention.js';
export { DEFAULT_SM_COUNT, MAX_SM_COUNT } from './sm-count.js';
export type { TileShape } from './tile-shape.js';
export { tileShape } from './tile-shape.js';
