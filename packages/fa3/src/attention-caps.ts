// What fa3 supports, as data: a framework reads it to decide whether a model can run on fa3
// before it creates anything (createAttention rejects everything outside it with a typed error).
// Each field is a frozen copy of the constant the checks themselves use, so the two cannot drift.
import { ATTENTION_DTYPES, type AttentionDtype, DTYPE_BYTES, KV_CACHE_DTYPES, type KvCacheDtype } from './dtype.js';
import { WGMMA_HEAD_DIMS } from './forward-kernel.js';
import { HEAD_DIMS, type HeadDim, MAX_NUM_HEADS_KV, MAX_NUM_HEADS_Q } from './heads.js';
import { MAX_NUM_SPLITS } from './plan-splits.js';

export interface AttentionCaps {
  /** Head dims of q, k and v (one D for all three). */
  readonly headDims: readonly HeadDim[];
  /** Dtypes of q and out (`dtype`). */
  readonly dtypes: readonly AttentionDtype[];
  /**
   * KV cache element types (`kvDtype`): the query dtype itself, or `'fp8_e4m3'` with any query
   * dtype (descale factors per layer and KV head; the wgmma prefill kernel falls back to the
   * general kernel on an fp8 cache). A cache of the other 16-bit type is rejected.
   */
  readonly kvCacheDtypes: readonly KvCacheDtype[];
  /** Bytes per element of a bf16 / fp16 tensor (an fp8 cache: 1). */
  readonly dtypeBytes: typeof DTYPE_BYTES;
  /**
   * Head dims each forward kernel is built for: `general` runs any step at every head dim,
   * `decode` has the same ones, `wgmma` (prefill) falls back to `general` elsewhere.
   */
  readonly kernelHeadDims: {
    readonly general: readonly HeadDim[];
    readonly decode: readonly HeadDim[];
    readonly wgmma: readonly number[];
  };
  /** Attention sinks (`forward({ sinks })`, fp32 `[Hq]`) in every kernel, split or not. */
  readonly sinks: boolean;
  /** Soft-capping of the scores (`softcap`), causal masks and sliding windows (`window`). */
  readonly softcap: boolean;
  readonly causal: boolean;
  readonly slidingWindow: boolean;
  readonly maxNumHeadsQ: number;
  readonly maxNumHeadsKv: number;
  /** The largest split capacity (`maxNumSplits`). */
  readonly maxNumSplits: number;
}

const frozen = <T>(list: readonly T[]): readonly T[] => Object.freeze([...list]);

/** fa3's capabilities (frozen, lists included). */
export const attentionCaps: AttentionCaps = Object.freeze({
  headDims: frozen(HEAD_DIMS),
  dtypes: frozen(ATTENTION_DTYPES),
  kvCacheDtypes: frozen(KV_CACHE_DTYPES),
  dtypeBytes: DTYPE_BYTES,
  kernelHeadDims: Object.freeze({
    general: frozen(HEAD_DIMS),
    decode: frozen(HEAD_DIMS),
    wgmma: frozen(WGMMA_HEAD_DIMS),
  }),
  sinks: true,
  softcap: true,
  causal: true,
  slidingWindow: true,
  maxNumHeadsQ: MAX_NUM_HEADS_Q,
  maxNumHeadsKv: MAX_NUM_HEADS_KV,
  maxNumSplits: MAX_NUM_SPLITS,
});
