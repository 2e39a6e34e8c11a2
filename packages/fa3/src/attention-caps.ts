// What createAttention supports, as data: a framework picks flashgraph for a model (or not) from
// this instead of from an error. createAttention and the addon's validate_caps enforce the same.
import { ATTENTION_DTYPES, DTYPE_BYTES, KV_CACHE_DTYPES } from './dtype.js';
import { HEAD_DIMS } from './heads.js';

export const attentionCaps = Object.freeze({
  /** Query / output dtypes (`dtype`). */
  dtypes: ATTENTION_DTYPES,
  /** Head dims (`headDim`). */
  headDims: HEAD_DIMS,
  /**
   * KV cache element types (`kvDtype`): the query dtype itself, or `'fp8_e4m3'` with any query
   * dtype (descale factors per layer and KV head; the wgmma prefill kernel falls back to the
   * general kernel on an fp8 cache). A cache of the other 16-bit type is rejected.
   */
  kvCacheDtypes: KV_CACHE_DTYPES,
  /** Bytes per element of a bf16 / fp16 tensor (an fp8 cache: 1). */
  dtypeBytes: DTYPE_BYTES,
});
