// Checks of schedule / forward / writeKvCache arguments against the attention's capacities.
// Pure functions (no device work) so every rule is testable on a machine without a GPU.
import { type DeviceMemory, devicePointer, type StreamLike, streamHandle } from './device-args.js';
import { DTYPE_BYTES, kvCacheDtypeBytes } from './dtype.js';
import type { ResolvedAttentionOptions } from './options.js';
import { checkArgInt, checkArgNumber, checkArgs, INT32_MAX, invalidValue } from './validate.js';

export interface ScheduleArgs {
  stream: StreamLike;
  /** int32 `[numReqs + 1]` (FA3 `cu_seqlens_q`). */
  cuSeqlensQ: DeviceMemory;
  /** int32 `[numReqs]`: keys per request, this step's included (FA3 `seqused_k`). */
  seqLens: DeviceMemory;
  /** Requests this step (FA3 `batch_size`), 1..maxNumReqs. Padded requests have q_len = seq_len = 0. */
  numReqs: number;
  /** Longest query (FA3 `max_seqlen_q`), 0..maxNumTokens. */
  maxSeqlenQ: number;
  /** Longest context (FA3 `max_seqlen_k`), 0..maxNumPagesPerReq x pageSize. */
  maxSeqlenK: number;
  /**
   * The step's split request (FA3 `num_splits`): 0 = the heuristic, bounded by the split capacity
   * `maxNumSplits`; 1..maxNumSplits = the step's bound.
   */
  numSplits: number;
}

export interface ForwardArgs extends ScheduleArgs {
  /** `[totalQ, Hq, D]` dtype. */
  q: DeviceMemory;
  /** `[numPages, pageSize, Hkv, D]` kvDtype (FA3 `k` / `v` with a page table). */
  kCache: DeviceMemory;
  vCache: DeviceMemory;
  /**
   * kvDtype 'fp8_e4m3' only: fp32 `[Hkv]` descale factors of this layer's K / V (FA3 `k_descale`,
   * `v_descale`); attention reads code x descale. Read on the device at every launch, so a
   * captured graph sees values written between replays. Absent: all 1.
   */
  kDescale?: DeviceMemory;
  vDescale?: DeviceMemory;
  /** `[totalQ, Hq, D]` dtype. */
  out: DeviceMemory;
  /**
   * fp32 `[Hq, totalQ]` natural-log LSE (FA3 `softmax_lse`); optional. With `sinks` it includes
   * the sink: `log(exp(sink[h]) + sum_j exp(s_j))` (as vLLM's FA3 with `s_aux`).
   */
  lse?: DeviceMemory;
  /**
   * Attention sinks (gpt-oss; FA3 `s_aux`): fp32 `[Hq]`, one logit per query head that joins
   * every row's softmax denominator and has no value row: `out = sum_j exp(s_j) v_j / (exp(sink)
   * + sum_j exp(s_j))`, with `s_j` the scaled (and soft-capped) scores and the sink used as is.
   * Read by the kernel at each launch, so a captured graph sees new values without recapture. A
   * row that sees no key gets zeros and LSE = sink. -Infinity turns a head's sink off; NaN or
   * +Infinity give NaN rows. Optional (default: no sinks).
   */
  sinks?: DeviceMemory;
  /** int32 `[numReqs, pageTableStride]` (FA3 `page_table`). */
  pageTable: DeviceMemory;
  /** Row stride of pageTable in entries, >= maxNumPagesPerReq; default maxNumPagesPerReq. */
  pageTableStride?: number;
  /** Default 1 / sqrt(headDim). */
  softmaxScale?: number;
}

export interface WriteKvCacheArgs {
  stream: StreamLike;
  /** `[numTokens, Hkv, D]` dtype. */
  key: DeviceMemory;
  value: DeviceMemory;
  /** `[numPages, pageSize, Hkv, D]` kvDtype. */
  kCache: DeviceMemory;
  vCache: DeviceMemory;
  /** kvDtype 'fp8_e4m3' only: fp32 `[Hkv]`; element x of KV head h is stored as e4m3(x / kDescale[h]). Absent: all 1. */
  kDescale?: DeviceMemory;
  vDescale?: DeviceMemory;
  /** int32 `[numTokens]`: cache slot (page x pageSize + offset) of each token; -1 = skip. */
  slotMapping: DeviceMemory;
  /** 0..maxNumTokens. */
  numTokens: number;
}

export interface CheckedSchedule {
  stream: bigint;
  cuSeqlensQ: bigint;
  seqLens: bigint;
  numReqs: number;
  maxSeqlenQ: number;
  maxSeqlenK: number;
  numSplits: number;
}

export interface CheckedForward extends CheckedSchedule {
  q: bigint;
  kCache: bigint;
  vCache: bigint;
  out: bigint;
  lse: bigint;
  /** 0n: no sinks. */
  sinks: bigint;
  pageTable: bigint;
  pageTableStride: number;
  softmaxScale: number;
  /** 0n: none (all 1). */
  kDescale: bigint;
  vDescale: bigint;
}

export interface CheckedWriteKvCache {
  stream: bigint;
  key: bigint;
  value: bigint;
  kCache: bigint;
  vCache: bigint;
  slotMapping: bigint;
  numTokens: number;
  kDescale: bigint;
  vDescale: bigint;
}

/** Vectorized 16-byte loads need 16-byte aligned q / out / cache / key / value rows. */
const VEC_ALIGN = 16;

function cacheBytes(o: ResolvedAttentionOptions): { bytes: number; shape: string } {
  return {
    bytes: o.numPages * o.pageSize * o.numHeadsKv * o.headDim * kvCacheDtypeBytes(o.kvDtype),
    shape: `[numPages, pageSize, Hkv, D] = [${o.numPages}, ${o.pageSize}, ${o.numHeadsKv}, ${o.headDim}] ${o.kvDtype}`,
  };
}

/** kDescale / vDescale: fp32 `[Hkv]` device memory, fp8 caches only; 0n when absent. */
function descalePointers(fn: string, o: ResolvedAttentionOptions, a: Record<string, unknown>) {
  const ptr = (name: 'kDescale' | 'vDescale'): bigint => {
    const v = a[name];
    if (v === undefined || v === null) return 0n;
    if (o.kvDtype !== 'fp8_e4m3') {
      invalidValue(fn, name, v, "absent: only a kvDtype 'fp8_e4m3' cache has descale factors");
    }
    return devicePointer(fn, name, v, 4 * o.numHeadsKv, `fp32 [Hkv] = [${o.numHeadsKv}]`, 4, o.device);
  };
  return { kDescale: ptr('kDescale'), vDescale: ptr('vDescale') };
}

export function checkScheduleArgs(fn: string, o: ResolvedAttentionOptions, args: unknown): CheckedSchedule {
  const a = checkArgs(fn, args);
  const stream = streamHandle(fn, a.stream);
  const numReqs = checkArgInt(fn, 'numReqs', a.numReqs, 1, o.maxNumReqs);
  const maxSeqlenQ = checkArgInt(fn, 'maxSeqlenQ', a.maxSeqlenQ, 0, o.maxNumTokens);
  const maxSeqlenK = checkArgInt(fn, 'maxSeqlenK', a.maxSeqlenK, 0, o.maxNumPagesPerReq * o.pageSize);
  // The step's split request: required (0 = heuristic). Above the split capacity is an error,
  // never a silent clamp: the partials are sized for maxNumSplits.
  const numSplits = checkArgInt(fn, 'numSplits', a.numSplits, 0, o.maxNumSplits);
  const cuSeqlensQ = devicePointer(
    fn,
    'cuSeqlensQ',
    a.cuSeqlensQ,
    4 * (numReqs + 1),
    `int32 [numReqs + 1] = [${numReqs + 1}]`,
    4,
    o.device,
  );
  const seqLens = devicePointer(fn, 'seqLens', a.seqLens, 4 * numReqs, `int32 [numReqs] = [${numReqs}]`, 4, o.device);
  return { stream, cuSeqlensQ, seqLens, numReqs, maxSeqlenQ, maxSeqlenK, numSplits };
}

export function checkForwardArgs(fn: string, o: ResolvedAttentionOptions, args: unknown): CheckedForward {
  const s = checkScheduleArgs(fn, o, args);
  const a = args as Record<string, unknown>;
  // The kernel may read up to maxNumPagesPerReq entries of a row (sequence lengths on the device
  // are clamped to that capacity, never trusted), so a row is at least that long.
  const pageTableStride =
    a.pageTableStride === undefined
      ? o.maxNumPagesPerReq
      : checkArgInt(fn, 'pageTableStride', a.pageTableStride, o.maxNumPagesPerReq, INT32_MAX);
  const softmaxScale =
    a.softmaxScale === undefined
      ? 1 / Math.sqrt(o.headDim)
      : checkArgNumber(fn, 'softmaxScale', a.softmaxScale, 0, true);
  // totalQ lives on the device; maxSeqlenQ bounds every request, maxNumTokens the whole step.
  const tokens = Math.min(o.maxNumTokens, s.numReqs * s.maxSeqlenQ);
  const rowBytes = o.numHeadsQ * o.headDim * DTYPE_BYTES;
  const qShape = `[min(maxNumTokens, numReqs x maxSeqlenQ), Hq, D] = [${tokens}, ${o.numHeadsQ}, ${o.headDim}] ${o.dtype}`;
  const q = devicePointer(fn, 'q', a.q, tokens * rowBytes, qShape, VEC_ALIGN, o.device);
  const out = devicePointer(fn, 'out', a.out, tokens * rowBytes, qShape, VEC_ALIGN, o.device);
  const lse =
    a.lse === undefined || a.lse === null
      ? 0n
      : devicePointer(
          fn,
          'lse',
          a.lse,
          4 * o.numHeadsQ * tokens,
          `fp32 [Hq, min(maxNumTokens, numReqs x maxSeqlenQ)] = [${o.numHeadsQ}, ${tokens}]`,
          4,
          o.device,
        );
  const sinks =
    a.sinks === undefined || a.sinks === null
      ? 0n
      : devicePointer(fn, 'sinks', a.sinks, 4 * o.numHeadsQ, `fp32 [Hq] = [${o.numHeadsQ}]`, 4, o.device);
  const c = cacheBytes(o);
  const kCache = devicePointer(fn, 'kCache', a.kCache, c.bytes, c.shape, VEC_ALIGN, o.device);
  const vCache = devicePointer(fn, 'vCache', a.vCache, c.bytes, c.shape, VEC_ALIGN, o.device);
  // Rows 0..numReqs-1; the last row only needs its first maxNumPagesPerReq entries.
  const pageTable = devicePointer(
    fn,
    'pageTable',
    a.pageTable,
    4 * ((s.numReqs - 1) * pageTableStride + o.maxNumPagesPerReq),
    `int32 [numReqs, pageTableStride] = [${s.numReqs}, ${pageTableStride}] (last row: maxNumPagesPerReq = ${o.maxNumPagesPerReq} entries)`,
    4,
    o.device,
  );
  return {
    ...s,
    q,
    kCache,
    vCache,
    out,
    lse,
    sinks,
    pageTable,
    pageTableStride,
    softmaxScale,
    ...descalePointers(fn, o, a),
  };
}

export function checkWriteKvCacheArgs(fn: string, o: ResolvedAttentionOptions, args: unknown): CheckedWriteKvCache {
  const a = checkArgs(fn, args);
  const stream = streamHandle(fn, a.stream);
  const numTokens = checkArgInt(fn, 'numTokens', a.numTokens, 0, o.maxNumTokens);
  const rowBytes = o.numHeadsKv * o.headDim * DTYPE_BYTES;
  const shape = `[numTokens, Hkv, D] = [${numTokens}, ${o.numHeadsKv}, ${o.headDim}] ${o.dtype}`;
  const key = devicePointer(fn, 'key', a.key, numTokens * rowBytes, shape, VEC_ALIGN, o.device);
  const value = devicePointer(fn, 'value', a.value, numTokens * rowBytes, shape, VEC_ALIGN, o.device);
  const c = cacheBytes(o);
  const kCache = devicePointer(fn, 'kCache', a.kCache, c.bytes, c.shape, VEC_ALIGN, o.device);
  const vCache = devicePointer(fn, 'vCache', a.vCache, c.bytes, c.shape, VEC_ALIGN, o.device);
  const slotMapping = devicePointer(
    fn,
    'slotMapping',
    a.slotMapping,
    4 * numTokens,
    `int32 [numTokens] = [${numTokens}]`,
    4,
    o.device,
  );
  return { stream, key, value, kCache, vCache, slotMapping, numTokens, ...descalePointers(fn, o, a) };
}
