// The fp32 CPU oracle: FA3's varlen paged attention semantics, written for clarity and exactness
// (scores kept per row in float64, max subtracted before exp), not speed.
import {
  checkArgs,
  checkBool,
  checkFloat32Array,
  checkInt,
  checkInt32Array,
  checkNumber,
  checkWindow,
  INT32_MAX,
} from './validate.js';

export interface ReferenceAttentionArgs {
  /** `[totalQ, numHeadsQ, headDim]`, totalQ = cuSeqlensQ[numReqs]. */
  q: Float32Array;
  /** `[numPages, pageSize, numHeadsKv, headDim]`. */
  kCache: Float32Array;
  vCache: Float32Array;
  /** `[numReqs, pageTableStride]` page ids; only the first ceil(seqLens[b] / pageSize) of a row are read. */
  pageTable: Int32Array;
  /** `[numReqs + 1]`, non-decreasing, cuSeqlensQ[0] = 0. */
  cuSeqlensQ: Int32Array;
  /** `[numReqs]`: keys of each request (the whole context, this step's tokens included). */
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
  /** Default seqLens.length. */
  numReqs?: number;
  /** Row stride of pageTable; default pageTable.length / numReqs. */
  pageTableStride?: number;
}

export interface ReferenceAttentionResult {
  /** `[totalQ, numHeadsQ, headDim]`; zeros for a row that sees no key. */
  out: Float32Array;
  /** `[numHeadsQ, totalQ]`, natural log; -Infinity for a row that sees no key. */
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

export function referenceAttention(args: ReferenceAttentionArgs): ReferenceAttentionResult {
  const fn = 'referenceAttention';
  const a = checkArgs(fn, args);
  const numHeadsQ = checkInt(fn, 'numHeadsQ', a.numHeadsQ, 1, 1 << 16);
  const numHeadsKv = checkInt(fn, 'numHeadsKv', a.numHeadsKv, 1, numHeadsQ);
  if (numHeadsQ % numHeadsKv !== 0) {
    throw new RangeError(`${fn}: numHeadsQ (${numHeadsQ}) must be a multiple of numHeadsKv (${numHeadsKv})`);
  }
  const headDim = checkInt(fn, 'headDim', a.headDim, 1, 1 << 16);
  const pageSize = checkInt(fn, 'pageSize', a.pageSize, 1, INT32_MAX);
  const causal = checkBool(fn, 'causal', a.causal);
  const softmaxScale =
    a.softmaxScale === undefined ? 1 / Math.sqrt(headDim) : checkNumber(fn, 'softmaxScale', a.softmaxScale, 0, true);
  const [left, right] = checkWindow(fn, a.window, causal);
  const softcap = a.softcap === undefined ? 0 : checkNumber(fn, 'softcap', a.softcap, 0, false);
  const seqLens = checkInt32Array(fn, 'seqLens', a.seqLens, 0);
  const numReqs = a.numReqs === undefined ? seqLens.length : checkInt(fn, 'numReqs', a.numReqs, 0, seqLens.length);
  const cuSeqlensQ = checkInt32Array(fn, 'cuSeqlensQ', a.cuSeqlensQ, numReqs + 1);
  const pageTable = checkInt32Array(fn, 'pageTable', a.pageTable, 0);
  let stride: number;
  if (a.pageTableStride === undefined) {
    stride = numReqs === 0 ? 0 : pageTable.length / numReqs;
    if (!Number.isInteger(stride)) {
      throw new RangeError(
        `${fn}: pageTable length ${pageTable.length} is not a multiple of numReqs (${numReqs}); pass pageTableStride`,
      );
    }
  } else {
    stride = checkInt(fn, 'pageTableStride', a.pageTableStride, 0, INT32_MAX);
    if (pageTable.length < numReqs * stride) {
      throw new RangeError(
        `${fn}: pageTable must hold numReqs x pageTableStride = ${numReqs * stride} entries, got ${pageTable.length}`,
      );
    }
  }
  if (cuSeqlensQ[0] !== 0) throw new RangeError(`${fn}: cuSeqlensQ[0] must be 0, got ${cuSeqlensQ[0]}`);
  for (let b = 0; b < numReqs; b++) {
    if (cuSeqlensQ[b + 1]! < cuSeqlensQ[b]!) {
      throw new RangeError(`${fn}: cuSeqlensQ must be non-decreasing, but cuSeqlensQ[${b + 1}] < cuSeqlensQ[${b}]`);
    }
    const k = seqLens[b]!;
    if (k < 0) throw new RangeError(`${fn}: seqLens[${b}] must be >= 0, got ${k}`);
    if (ceilDivSmall(k, pageSize) > stride) {
      throw new RangeError(
        `${fn}: seqLens[${b}] = ${k} needs ${ceilDivSmall(k, pageSize)} pages, but pageTableStride is ${stride}`,
      );
    }
  }
  const totalQ = cuSeqlensQ[numReqs]!;
  const rowQ = numHeadsQ * headDim;
  const rowKv = numHeadsKv * headDim;
  const q = checkFloat32Array(
    fn,
    'q',
    a.q,
    totalQ * rowQ,
    `totalQ x numHeadsQ x headDim = ${totalQ} x ${numHeadsQ} x ${headDim}`,
  );
  if (!(a.kCache instanceof Float32Array)) throw new TypeError(`${fn}: kCache must be a Float32Array`);
  const pageElems = pageSize * rowKv;
  if (a.kCache.length % pageElems !== 0) {
    throw new RangeError(
      `${fn}: kCache length ${a.kCache.length} is not a multiple of pageSize x numHeadsKv x headDim = ${pageElems}`,
    );
  }
  const numPages = a.kCache.length / pageElems;
  const kCache = a.kCache;
  const vCache = checkFloat32Array(fn, 'vCache', a.vCache, kCache.length, 'the length of kCache');

  const out = new Float32Array(totalQ * rowQ);
  const lse = new Float32Array(numHeadsQ * totalQ);
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
    // Resolve and bounds-check every page this request reads before touching the cache.
    for (let p = 0; p * pageSize < kLen; p++) {
      const page = pageTable[b * stride + p]!;
      if (page < 0 || page >= numPages) {
        throw new RangeError(
          `${fn}: request ${b} page index ${p}: pageTable[${b}][${p}] = ${page} is outside the cache [0, ${numPages})`,
        );
      }
    }
    for (let j = 0; j < kLen; j++) {
      const page = pageTable[b * stride + Math.floor(j / pageSize)]!;
      keyBase[j] = (page * pageSize + (j % pageSize)) * rowKv;
    }
    for (let i = 0; i < qLen; i++) {
      const t = qStart + i;
      const [lo, hi] = visibleKeys(i, qLen, kLen, causal, left, right);
      for (let h = 0; h < numHeadsQ; h++) {
        const qOff = t * rowQ + h * headDim;
        const kvHead = Math.floor(h / g) * headDim;
        if (lo > hi) {
          lse[h * totalQ + t] = Number.NEGATIVE_INFINITY; // out row stays zero
          continue;
        }
        let m = Number.NEGATIVE_INFINITY;
        for (let j = lo; j <= hi; j++) {
          const kOff = keyBase[j]! + kvHead;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[qOff + d]! * kCache[kOff + d]!;
          let s = dot * softmaxScale;
          if (softcap > 0) s = softcap * Math.tanh(s / softcap);
          scores[j] = s;
          if (s > m) m = s;
        }
        acc.fill(0);
        let sum = 0;
        for (let j = lo; j <= hi; j++) {
          const p = Math.exp(scores[j]! - m);
          sum += p;
          const vOff = keyBase[j]! + kvHead;
          for (let d = 0; d < headDim; d++) acc[d]! += p * vCache[vOff + d]!;
        }
        for (let d = 0; d < headDim; d++) out[qOff + d] = acc[d]! / sum;
        lse[h * totalQ + t] = m + Math.log(sum);
      }
    }
  }
  return { out, lse };
}

function ceilDivSmall(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
