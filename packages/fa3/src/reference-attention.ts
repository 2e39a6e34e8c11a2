// The fp32 CPU oracle: FA3's varlen paged attention semantics, written for clarity and exactness
// (scores kept per row in float64, max subtracted before exp), not speed. An fp8 e4m3 cache is
// read dequantized: code -> its exact value (E4M3_VALUES), times the KV head's descale factor.
// Attention sinks as vLLM's FA3 `s_aux` (and gpt-oss): one logit per query head in the softmax
// denominator only.
import { InvalidArgumentError } from '@flashgraph/errors';
import { E4M3_VALUES } from './fp8.js';
import { descales } from './kv-cache-reference.js';
import {
  checkArgInt,
  checkArgNumber,
  checkArgOneOf,
  checkArgs,
  checkBool,
  checkFloat32Array,
  checkInt32Array,
  checkSinks,
  checkWindow,
  INT32_MAX,
  invalidValue,
  outOfRange,
} from './validate.js';

/** Keys per request the reference accepts: its float64 scratch is one entry per key (128 MiB here). */
export const MAX_REFERENCE_KEYS = 1 << 24;

const ARG_KEYS = [
  'q',
  'kCache',
  'vCache',
  'pageTable',
  'cuSeqlensQ',
  'seqLens',
  'numHeadsQ',
  'numHeadsKv',
  'headDim',
  'pageSize',
  'causal',
  'softmaxScale',
  'window',
  'softcap',
  'sinks',
  'numReqs',
  'pageTableStride',
  'out',
  'lse',
  'kvDtype',
  'kDescale',
  'vDescale',
] as const;

export interface ReferenceAttentionArgs {
  /**
   * `[totalQ, numHeadsQ, headDim]`, totalQ = cuSeqlensQ[numReqs]; may be capacity-sized (more
   * rows than totalQ: only the first totalQ are read).
   */
  q: Float32Array;
  /** `[numPages, pageSize, numHeadsKv, headDim]`. */
  kCache: Float32Array;
  vCache: Float32Array;
  kvDtype?: undefined;
  /** `[numReqs, pageTableStride]` page ids; only the first ceil(seqLens[b] / pageSize) of a row are read. */
  pageTable: Int32Array;
  /** `[numReqs + 1]` (or longer), non-decreasing, cuSeqlensQ[0] = 0. */
  cuSeqlensQ: Int32Array;
  /** `[numReqs]` (or longer): keys of each request (the whole context, this step's tokens included). */
  seqLens: Int32Array;
  numHeadsQ: number;
  numHeadsKv: number;
  headDim: number;
  pageSize: number;
  causal: boolean;
  /** Default 1 / sqrt(headDim). */
  softmaxScale?: number;
  /** `[left, right]`, -1 = unbounded (FA3's window_size). */
  window?: [number, number];
  /** `softcap * tanh(s / softcap)` on the scaled scores; 0 or absent = off. */
  softcap?: number;
  /**
   * Attention sinks, `[numHeadsQ]` (or longer): head h's logit joins each of its rows' softmax
   * denominators as is (not scaled or soft-capped) and has no value row, so
   * `out = sum_j exp(s_j) v_j / (exp(sinks[h]) + sum_j exp(s_j))` and
   * `lse = log(exp(sinks[h]) + sum_j exp(s_j))`. Each finite, or -Infinity (no sink). Absent = none.
   */
  sinks?: Float32Array;
  /** Default seqLens.length. */
  numReqs?: number;
  /** Row stride of pageTable; default pageTable.length / numReqs. */
  pageTableStride?: number;
  /**
   * Where to write the output (at least totalQ x numHeadsQ x headDim elements; rows past totalQ
   * are left as they are). Default: a new array. With `out` and `lse` given, nothing is allocated
   * for the result.
   */
  out?: Float32Array;
  /** Where to write the LSE, laid out `[numHeadsQ, totalQ]` as fa3 writes it (at least numHeadsQ x totalQ elements). */
  lse?: Float32Array;
}

/** An fp8 e4m3 cache: the caches hold codes (writeKvCacheReference's), read dequantized. */
export interface ReferenceAttentionFp8Args extends Omit<ReferenceAttentionArgs, 'kCache' | 'vCache' | 'kvDtype'> {
  /** `[numPages, pageSize, numHeadsKv, headDim]` e4m3 codes. */
  kCache: Uint8Array;
  vCache: Uint8Array;
  kvDtype: 'fp8_e4m3';
  /** `[numHeadsKv]` descale factors (finite, > 0): key j of KV head h reads decode(code) x kDescale[h]. Default all 1. */
  kDescale?: Float32Array;
  vDescale?: Float32Array;
}

export interface ReferenceAttentionResult {
  /** `[totalQ, numHeadsQ, headDim]`; zeros for a row that sees no key. */
  out: Float32Array;
  /**
   * `[numHeadsQ, totalQ]`, natural log; -Infinity for a row that sees no key (with sinks: the
   * sink is part of the sum, and such a row's LSE is its sink).
   */
  lse: Float32Array;
}

/**
 * The keys query `i` of a request sees, as an inclusive range `[lo, hi]` (empty when lo > hi).
 * Causal is bottom-right aligned: query i sits at key position kLen - qLen + i.
 */
export function visibleKeys(
  i: number,
  qLen: number,
  kLen: number,
  causal: boolean,
  left: number,
  right: number,
): [number, number] {
  const pos = kLen - qLen + i;
  let lo = 0;
  let hi = kLen - 1;
  if (causal) hi = Math.min(hi, pos);
  if (right >= 0) hi = Math.min(hi, pos + right);
  if (left >= 0) lo = Math.max(lo, pos - left);
  return [lo, hi];
}

export function referenceAttention(args: ReferenceAttentionArgs | ReferenceAttentionFp8Args): ReferenceAttentionResult {
  const fn = 'referenceAttention';
  const a = checkArgs(fn, args, ARG_KEYS);
  const numHeadsQ = checkArgInt(fn, 'numHeadsQ', a.numHeadsQ, 1, 1 << 16);
  const numHeadsKv = checkArgInt(fn, 'numHeadsKv', a.numHeadsKv, 1, numHeadsQ);
  if (numHeadsQ % numHeadsKv !== 0)
    invalidValue(fn, 'numHeadsQ', numHeadsQ, `a multiple of numHeadsKv (${numHeadsKv})`);
  const headDim = checkArgInt(fn, 'headDim', a.headDim, 1, 1 << 16);
  const pageSize = checkArgInt(fn, 'pageSize', a.pageSize, 1, INT32_MAX);
  const causal = checkBool(fn, 'causal', a.causal);
  const softmaxScale =
    a.softmaxScale === undefined ? 1 / Math.sqrt(headDim) : checkArgNumber(fn, 'softmaxScale', a.softmaxScale, 0, true);
  const [left, right] = checkWindow(fn, a.window, causal);
  const softcap = a.softcap === undefined ? 0 : checkArgNumber(fn, 'softcap', a.softcap, 0, false);
  const sinks = a.sinks === undefined ? undefined : checkSinks(fn, a.sinks, numHeadsQ);
  const seqLens = checkInt32Array(fn, 'seqLens', a.seqLens, 0);
  const numReqs = a.numReqs === undefined ? seqLens.length : checkArgInt(fn, 'numReqs', a.numReqs, 0, seqLens.length);
  const cuSeqlensQ = checkInt32Array(fn, 'cuSeqlensQ', a.cuSeqlensQ, numReqs + 1);
  const pageTable = checkInt32Array(fn, 'pageTable', a.pageTable, 0);
  let stride: number;
  if (a.pageTableStride === undefined) {
    stride = numReqs === 0 ? 0 : pageTable.length / numReqs;
    if (!Number.isInteger(stride)) {
      invalidValue(
        fn,
        'pageTable.length',
        pageTable.length,
        `a multiple of numReqs (${numReqs})`,
        'Pass pageTableStride for a padded page table.',
      );
    }
  } else {
    stride = checkArgInt(fn, 'pageTableStride', a.pageTableStride, 0, INT32_MAX);
    if (pageTable.length < numReqs * stride) {
      outOfRange(fn, 'pageTable.length', pageTable.length, `at least numReqs x pageTableStride = ${numReqs * stride}`);
    }
  }
  if (cuSeqlensQ[0] !== 0) outOfRange(fn, 'cuSeqlensQ[0]', cuSeqlensQ[0], '0');
  for (let b = 0; b < numReqs; b++) {
    if (cuSeqlensQ[b + 1]! < cuSeqlensQ[b]!) {
      outOfRange(
        fn,
        `cuSeqlensQ[${b + 1}]`,
        cuSeqlensQ[b + 1],
        `>= cuSeqlensQ[${b}] = ${cuSeqlensQ[b]} (non-decreasing)`,
      );
    }
    const k = seqLens[b]!;
    if (k < 0 || k > MAX_REFERENCE_KEYS) outOfRange(fn, `seqLens[${b}]`, k, `[0, ${MAX_REFERENCE_KEYS}]`);
    if (ceilDivSmall(k, pageSize) > stride) {
      outOfRange(
        fn,
        `seqLens[${b}]`,
        k,
        `at most pageTableStride x pageSize = ${stride} x ${pageSize} keys (the pages of the row)`,
      );
    }
  }
  const totalQ = cuSeqlensQ[numReqs]!;
  const rowQ = numHeadsQ * headDim;
  const rowKv = numHeadsKv * headDim;
  const qShape = `totalQ x numHeadsQ x headDim = ${totalQ} x ${numHeadsQ} x ${headDim}`;
  const q = checkFloat32Array(fn, 'q', a.q, totalQ * rowQ, qShape);
  const fp8 = a.kvDtype !== undefined && checkArgOneOf(fn, 'kvDtype', a.kvDtype, ['fp8_e4m3'] as const) === 'fp8_e4m3';
  const CacheType = fp8 ? Uint8Array : Float32Array;
  if (!(a.kCache instanceof CacheType)) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: `${fn}.kCache`,
      value: a.kCache,
      allowed: fp8 ? "Uint8Array (kvDtype 'fp8_e4m3')" : 'Float32Array',
    });
  }
  const pageElems = pageSize * rowKv;
  if (a.kCache.length % pageElems !== 0) {
    invalidValue(fn, 'kCache.length', a.kCache.length, `a multiple of pageSize x numHeadsKv x headDim = ${pageElems}`);
  }
  const numPages = a.kCache.length / pageElems;
  const kCache: Float32Array | Uint8Array = a.kCache;
  if (!(a.vCache instanceof CacheType) || a.vCache.length < kCache.length) {
    throw new InvalidArgumentError({
      code: a.vCache instanceof CacheType ? 'out_of_range' : 'invalid_type',
      path: `${fn}.vCache`,
      value: a.vCache,
      allowed: `${fp8 ? 'a Uint8Array' : 'a Float32Array'} of at least the length of kCache (${kCache.length})`,
    });
  }
  const vCache: Float32Array | Uint8Array = a.vCache;
  const kDescale = descales(fn, 'kDescale', a.kDescale, fp8, numHeadsKv);
  const vDescale = descales(fn, 'vDescale', a.vDescale, fp8, numHeadsKv);
  // Element -> value: the identity for fp32, the e4m3 table for codes (descales applied per head below).
  const kv = fp8 ? E4M3_VALUES : null;
  const out =
    a.out === undefined ? new Float32Array(totalQ * rowQ) : checkFloat32Array(fn, 'out', a.out, totalQ * rowQ, qShape);
  const lse =
    a.lse === undefined
      ? new Float32Array(numHeadsQ * totalQ)
      : checkFloat32Array(fn, 'lse', a.lse, numHeadsQ * totalQ, `numHeadsQ x totalQ = ${numHeadsQ} x ${totalQ}`);
  // Every page a request reads, before anything is written (a rejected call leaves out/lse as they were).
  for (let b = 0; b < numReqs; b++) {
    const kLen = seqLens[b]!;
    for (let p = 0; p * pageSize < kLen; p++) {
      const page = pageTable[b * stride + p]!;
      if (page < 0 || page >= numPages)
        outOfRange(fn, `pageTable[${b}][${p}]`, page, `a page of kCache, in [0, ${numPages})`);
    }
  }

  const g = numHeadsQ / numHeadsKv;
  let maxK = 0;
  for (let b = 0; b < numReqs; b++) maxK = Math.max(maxK, seqLens[b]!);
  const keyBase = new Float64Array(maxK); // element offset of key j's [Hkv, D] row in the cache
  const scores = new Float64Array(maxK);
  const acc = new Float64Array(headDim);

  for (let b = 0; b < numReqs; b++) {
    const qStart = cuSeqlensQ[b]!;
    const qLen = cuSeqlensQ[b + 1]! - qStart;
    const kLen = seqLens[b]!;
    for (let j = 0; j < kLen; j++) {
      const page = pageTable[b * stride + Math.floor(j / pageSize)]!;
      keyBase[j] = (page * pageSize + (j % pageSize)) * rowKv;
    }
    for (let i = 0; i < qLen; i++) {
      const t = qStart + i;
      const [lo, hi] = visibleKeys(i, qLen, kLen, causal, left, right);
      for (let h = 0; h < numHeadsQ; h++) {
        const qOff = t * rowQ + h * headDim;
        const kvh = Math.floor(h / g);
        const kvHead = kvh * headDim;
        const kd = fp8 ? kDescale[kvh]! : 1;
        const vd = fp8 ? vDescale[kvh]! : 1;
        const sink = sinks === undefined ? Number.NEGATIVE_INFINITY : sinks[h]!;
        if (lo > hi) {
          lse[h * totalQ + t] = sink; // all the weight is on the sink, which has no value row
          out.fill(0, qOff, qOff + headDim); // a caller's buffer may hold an earlier step
          continue;
        }
        let m = sink;
        for (let j = lo; j <= hi; j++) {
          const kOff = keyBase[j]! + kvHead;
          let dot = 0;
          if (kv) for (let d = 0; d < headDim; d++) dot += q[qOff + d]! * kv[kCache[kOff + d]!]!;
          else for (let d = 0; d < headDim; d++) dot += q[qOff + d]! * kCache[kOff + d]!;
          let s = dot * kd * softmaxScale;
          if (softcap > 0) s = softcap * Math.tanh(s / softcap);
          scores[j] = s;
          if (s > m) m = s;
        }
        acc.fill(0);
        let sum = sink === Number.NEGATIVE_INFINITY ? 0 : Math.exp(sink - m);
        for (let j = lo; j <= hi; j++) {
          const p = Math.exp(scores[j]! - m);
          sum += p;
          const vOff = keyBase[j]! + kvHead;
          if (kv) for (let d = 0; d < headDim; d++) acc[d]! += p * kv[vCache[vOff + d]!]!;
          else for (let d = 0; d < headDim; d++) acc[d]! += p * vCache[vOff + d]!;
        }
        for (let d = 0; d < headDim; d++) out[qOff + d] = (acc[d]! * vd) / sum;
        lse[h * totalQ + t] = m + Math.log(sum);
      }
    }
  }
  return { out, lse };
}

function ceilDivSmall(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
