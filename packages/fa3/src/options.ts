// createAttention's options: checked once, frozen, and turned into the native capacity object.
// Every capacity is bounded by what the device indexes in int32 (slots, sequence lengths).
import type { Caps } from './native.js';
import { MAX_NUM_SPLITS } from './plan-splits.js';
import { checkArgs, checkBool, checkInt, checkNumber, checkOneOf, checkWindow, INT32_MAX } from './validate.js';

export type HeadDim = 64 | 128 | 256;
export type AttentionDtype = 'bf16' | 'fp16';

export interface AttentionOptions {
  /** Query heads (Hq), 1..1024, a multiple of numHeadsKv. */
  numHeadsQ: number;
  /** KV heads (Hkv); Hq / Hkv query heads share one KV head (GQA). */
  numHeadsKv: number;
  headDim: HeadDim;
  dtype: AttentionDtype;
  /** Tokens per KV-cache page: a positive multiple of 16. */
  pageSize: number;
  /** Pages in the cache `[numPages, pageSize, Hkv, D]`; numPages x pageSize <= 2^31 - 1 slots. */
  numPages: number;
  /** Requests per step (B) at most. */
  maxNumReqs: number;
  /** Query tokens per step (T = totalQ) at most. */
  maxNumTokens: number;
  /** Page-table row length; maxNumPagesPerReq x pageSize bounds every sequence length. */
  maxNumPagesPerReq: number;
  /** S: the split bound every step is held to, 1..256; the fp32 partials are sized for it. */
  maxNumSplits: number;
  /** Bottom-right aligned causal mask. */
  causal: boolean;
  /** FA3 `window_size` `[left, right]`, -1 = unbounded; default no window. */
  window?: [number, number];
  /** `softcap * tanh(s / softcap)` on the scaled scores; 0 (default) = off. */
  softcap?: number;
  /** CUDA device ordinal of the workspace (default 0). */
  device?: number;
}

export interface ResolvedAttentionOptions {
  readonly numHeadsQ: number;
  readonly numHeadsKv: number;
  readonly headDim: HeadDim;
  readonly dtype: AttentionDtype;
  readonly pageSize: number;
  readonly numPages: number;
  readonly maxNumReqs: number;
  readonly maxNumTokens: number;
  readonly maxNumPagesPerReq: number;
  readonly maxNumSplits: number;
  readonly causal: boolean;
  readonly window: readonly [number, number];
  readonly softcap: number;
  readonly device: number;
}

/** Bytes per element of q, out, the caches, key and value. */
export const DTYPE_BYTES = 2;

export function resolveOptions(opts: unknown): { options: ResolvedAttentionOptions; caps: Caps } {
  const fn = 'createAttention';
  const o = checkArgs(fn, opts);
  const numHeadsQ = checkInt(fn, 'numHeadsQ', o.numHeadsQ, 1, 1024);
  const numHeadsKv = checkInt(fn, 'numHeadsKv', o.numHeadsKv, 1, numHeadsQ);
  if (numHeadsQ % numHeadsKv !== 0) {
    throw new RangeError(`${fn}: numHeadsQ (${numHeadsQ}) must be a multiple of numHeadsKv (${numHeadsKv})`);
  }
  const headDim = checkOneOf(fn, 'headDim', o.headDim, [64, 128, 256] as const);
  const dtype = checkOneOf(fn, 'dtype', o.dtype, ['bf16', 'fp16'] as const);
  const pageSize = checkInt(fn, 'pageSize', o.pageSize, 16, 1 << 16);
  if (pageSize % 16 !== 0)
    throw new RangeError(`${fn}: pageSize must be a positive multiple of 16 (16..65536), got ${pageSize}`);
  const numPages = checkInt(fn, 'numPages', o.numPages, 1, Math.floor(INT32_MAX / pageSize));
  const maxNumReqs = checkInt(fn, 'maxNumReqs', o.maxNumReqs, 1, INT32_MAX - 1);
  const maxNumTokens = checkInt(fn, 'maxNumTokens', o.maxNumTokens, 1, INT32_MAX);
  const maxNumPagesPerReq = checkInt(fn, 'maxNumPagesPerReq', o.maxNumPagesPerReq, 1, Math.floor(INT32_MAX / pageSize));
  const maxNumSplits = checkInt(fn, 'maxNumSplits', o.maxNumSplits, 1, MAX_NUM_SPLITS);
  const causal = checkBool(fn, 'causal', o.causal);
  const window = checkWindow(fn, o.window, causal);
  const softcap = o.softcap === undefined ? 0 : checkNumber(fn, 'softcap', o.softcap, 0, false);
  const device = o.device === undefined ? 0 : checkInt(fn, 'device', o.device, 0, 1023);
  // The fp32 partials alone are 4 x S x Hq x T x (D + 1) bytes: they must be addressable.
  const partialBytes = 4 * maxNumSplits * numHeadsQ * maxNumTokens * (headDim + 1);
  if (!Number.isSafeInteger(partialBytes)) {
    throw new RangeError(
      `${fn}: maxNumSplits x numHeadsQ x maxNumTokens is too large: the split partials would need ${partialBytes} bytes`,
    );
  }
  const options: ResolvedAttentionOptions = Object.freeze({
    numHeadsQ,
    numHeadsKv,
    headDim,
    dtype,
    pageSize,
    numPages,
    maxNumReqs,
    maxNumTokens,
    maxNumPagesPerReq,
    maxNumSplits,
    causal,
    window: Object.freeze([window[0], window[1]] as const),
    softcap,
    device,
  });
  const caps: Caps = {
    numHeadsQ,
    numHeadsKv,
    headDim,
    dtype,
    pageSize,
    numPages,
    maxNumReqs,
    maxNumTokens,
    maxNumPagesPerReq,
    maxNumSplits,
    causal,
    windowLeft: window[0],
    windowRight: window[1],
    softcap,
  };
  return { options, caps };
}

/** Minimum workspace: the fp32 partials `4 x S x Hq x T x (D + 1)` bytes (O and LSE). */
export function partialsBytes(o: ResolvedAttentionOptions): number {
  return 4 * o.maxNumSplits * o.numHeadsQ * o.maxNumTokens * (o.headDim + 1);
}

/** Worst-case work tiles of one step; tile offsets are int32 on the device. */
export function worstCaseTiles(o: ResolvedAttentionOptions, blockM: number): number {
  const g = o.numHeadsQ / o.numHeadsKv;
  // sum_b ceil(q_b * G / blockM) <= floor(T * G / blockM) + B, times Hkv heads, times S splits
  // (max_total_tiles in scheduling.h).
  return o.numHeadsKv * o.maxNumSplits * (Math.floor((o.maxNumTokens * g) / blockM) + o.maxNumReqs);
}
