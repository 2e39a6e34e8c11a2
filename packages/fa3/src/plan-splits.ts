// The scheduling maths of docs/architecture.md ("Scheduling maths"), integer-only, bit for bit
// what native/fa3/kernels/scheduling.h computes: the host's step bound (FA3's wave-efficiency
// heuristic) and the prepare kernel's per-request split counts and work-tile offsets.

import { type ForwardKernelName, forwardKernel, type KernelRequest } from './forward-kernel.js';
import { checkHeads } from './heads.js';
import { DEFAULT_SM_COUNT, MAX_SM_COUNT } from './sm-count.js';
import { tileShape } from './tile-shape.js';
import { checkArgInt, checkArgOneOf, checkArgs, checkInt32Array, INT32_MAX, outOfRange } from './validate.js';

/** FA3 packs the split count in 8 bits: the hard upper bound of `maxNumSplits`. */
export const MAX_NUM_SPLITS = 256;

/**
 * Work-tile slots per SM the maths fills (`kCtaSlotsPerSm` in scheduling.h). FA3 runs one CTA per
 * SM and sizes splits by the SM count; the forward kernel runs two CTAs per SM, so the maths sizes
 * them by `ctaSlots = 2 x smCount` (else half of the CTAs idle at small batch).
 */
export const CTA_SLOTS_PER_SM = 2;

export interface SplitPlan {
  /** The kernel the step runs (forwardKernel): its tiles are the ones numbered here. */
  readonly kernel: ForwardKernelName;
  /** The step's split bound (1..maxNumSplits): per-request splits never exceed it. */
  readonly numSplitsBound: number;
  readonly blockM: number;
  readonly blockN: number;
  /** Splits per request: 0 for a request without queries, else 1..numSplitsBound. */
  readonly splits: Int32Array;
  /**
   * Exclusive prefix sum of the work tiles in request order (`order`): `tileOffsets[i]` is the
   * first tile of request `order[i]`; `tileOffsets[numReqs] = totalTiles`.
   */
  readonly tileOffsets: Int32Array;
  /**
   * The order the persistent kernels take the requests in: position -> request. Up to
   * ORDER_MAX_REQS requests, the longest tiles first (`ceil(nBlocks / splits)` KV blocks, clamped
   * to ORDER_MAX_LEN), ties by request index; decode steps and larger batches in request order.
   */
  readonly order: Int32Array;
  readonly totalTiles: number;
}

/** ceil(a / b) for non-negative safe integers a and b >= 1, exact (no floating rounding). */
export function ceilDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  while (q * b < a) q++;
  while (q > 0 && (q - 1) * b >= a) q--;
  return q;
}

export interface StepBoundInput {
  numSplits: number;
  maxSeqlenQ: number;
  maxSeqlenK: number;
  numHeadsKv: number;
  qheadsPerKvhead: number;
  blockM: number;
  blockN: number;
  smCount: number;
  maxNumSplits: number;
}

/**
 * The step's split bound. `numSplits >= 1` is used as given (callers validated it against
 * maxNumSplits). `numSplits == 0` runs FA3's wave-efficiency heuristic with the batch taken as 1
 * (splitting is per request on the device), then clamps to [1, maxNumSplits].
 */
export function stepSplitBound(a: StepBoundInput): number {
  if (a.numSplits >= 1) return Math.min(a.numSplits, a.maxNumSplits);
  const totalMBlocks = a.numHeadsKv * ceilDiv(a.maxSeqlenQ * a.qheadsPerKvhead, a.blockM);
  const numNBlocks = ceilDiv(a.maxSeqlenK, a.blockN);
  const slots = CTA_SLOTS_PER_SM * a.smCount;
  // Enough query tiles to fill 80% of the CTA slots, or too few KV blocks to be worth splitting.
  if (10 * totalMBlocks >= 8 * slots || numNBlocks <= 4) return 1;
  const maxS = Math.min(128, slots, numNBlocks, a.maxNumSplits);
  // eff(s) = w / (slots * ceil(w / slots)) with w = totalMBlocks * s, kept as the exact fraction num/den.
  const eligible = (s: number) => s === 1 || ceilDiv(numNBlocks, s) !== ceilDiv(numNBlocks, s - 1);
  const num = (s: number) => totalMBlocks * s;
  const den = (s: number) => slots * ceilDiv(totalMBlocks * s, slots);
  let best = 1; // eff(best) is the largest efficiency seen; s = 1 is always eligible
  for (let s = 2; s <= maxS; s++) {
    if (eligible(s) && num(s) * den(best) > num(best) * den(s)) best = s;
  }
  // Smallest eligible s with eff(s) >= 0.85 * eff(best): 100 * num(s) * den(best) >= 85 * num(best) * den(s).
  for (let s = 1; s <= maxS; s++) {
    if (eligible(s) && 100 * num(s) * den(best) >= 85 * num(best) * den(s)) {
      return Math.max(1, Math.min(s, a.maxNumSplits));
    }
  }
  return 1; // unreachable: s = best always qualifies
}

export interface PlanInput {
  cuSeqlensQ: Int32Array;
  seqLens: Int32Array;
  numReqs: number;
  numHeadsKv: number;
  qheadsPerKvhead: number;
  blockM: number;
  blockN: number;
  smCount: number;
  numSplitsBound: number;
  /** Sort the requests longest tiles first (every kernel but the decode kernel: `use_request_order`). */
  sortRequests: boolean;
}

/**
 * Small batches (numReqs <= FILL_MAX_REQS, the latency-bound decode case): FA3's blocks per slot can
 * leave CTA slots idle and unbalanced (B=1, 4k context: 176 tiles of 3 KV blocks for 264 slots), so
 * the scheduler takes the smallest blocks-per-slot in [ceil(totalWork / ctaSlots), FA3's value]
 * whose tiles, with splits clamped to the bound, still fit the slots (when the total work is at
 * most 2^48, so every sum here is exact). Mirrors `fill_blocks_per_slot` / `use_fill_rule` in
 * native/fa3/kernels/scheduling.h.
 */
const FILL_MAX_REQS = 32;

/**
 * Batches up to this many requests are sorted longest tiles first (`kOrderMaxReqs` in
 * scheduling.h), except decode steps (the decode kernel), which keep the request order.
 */
export const ORDER_MAX_REQS = 4096;
/** Tile lengths (KV blocks) compare clamped to this (`kOrderMaxLen`: the sort key has 19 bits for it). */
const ORDER_MAX_LEN = (1 << 19) - 1;

/** Position -> request: longest tiles first, ties by index (the prepare kernel's unique-key sort). */
function requestOrder(tileBlocks: Int32Array, numReqs: number, sort: boolean): Int32Array {
  const order = new Int32Array(numReqs);
  for (let b = 0; b < numReqs; b++) order[b] = b;
  if (!sort || numReqs > ORDER_MAX_REQS) return order;
  const len = (b: number) => Math.min(tileBlocks[b]!, ORDER_MAX_LEN);
  return order.sort((x, y) => len(y) - len(x) || x - y);
}

function splitsAt(q: number, n: number, bps: number, bound: number): number {
  return q === 0 ? 0 : Math.min(Math.max(ceilDiv(n, bps), 1), bound);
}

function fillBlocksPerSlot(
  a: PlanInput,
  mBlocks: Float64Array,
  nBlocks: Float64Array,
  totalWork: number,
  slots: number,
  fa3Value: number,
): number {
  const tilesAt = (bps: number): number => {
    let t = 0;
    for (let b = 0; b < a.numReqs; b++) {
      const q = a.cuSeqlensQ[b + 1]! - a.cuSeqlensQ[b]!;
      t += a.numHeadsKv * mBlocks[b]! * splitsAt(q, nBlocks[b]!, bps, a.numSplitsBound);
    }
    return t;
  };
  let lo = Math.max(1, ceilDiv(totalWork, slots));
  let hi = fa3Value;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (tilesAt(mid) <= slots) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** What the prepare kernel writes for requests 0..numReqs-1 (inputs already validated). */
export function planRequests(
  a: PlanInput,
  fn = 'planSplits',
): { splits: Int32Array; tileOffsets: Int32Array; order: Int32Array; totalTiles: number } {
  const { numReqs, numHeadsKv, blockM, blockN } = a;
  const g = a.qheadsPerKvhead;
  const mBlocks = new Float64Array(numReqs);
  const nBlocks = new Float64Array(numReqs);
  let totalWork = 0; // a float sum is exact below 2^53; past 2^48 we redo it in BigInt
  for (let b = 0; b < numReqs; b++) {
    const q = a.cuSeqlensQ[b + 1]! - a.cuSeqlensQ[b]!;
    const k = a.seqLens[b]!;
    if (q < 0)
      outOfRange(
        fn,
        `cuSeqlensQ[${b + 1}]`,
        a.cuSeqlensQ[b + 1],
        `>= cuSeqlensQ[${b}] = ${a.cuSeqlensQ[b]} (non-decreasing)`,
      );
    if (k < 0) outOfRange(fn, `seqLens[${b}]`, k, '>= 0');
    const m = ceilDiv(q * g, blockM);
    const n = ceilDiv(k, blockN);
    mBlocks[b] = m;
    nBlocks[b] = n;
    totalWork += m * n * numHeadsKv;
  }
  // FA3's blocks_per_sm, per CTA slot: ceil(totalWork * 11 / (10 * ctaSlots)).
  const slots = CTA_SLOTS_PER_SM * a.smCount;
  let blocksPerSm: number;
  if (totalWork > 2 ** 48) {
    let bigWork = 0n;
    for (let b = 0; b < numReqs; b++) bigWork += BigInt(mBlocks[b]!) * BigInt(nBlocks[b]!) * BigInt(numHeadsKv);
    const d = 10n * BigInt(slots);
    blocksPerSm = Number((bigWork * 11n + d - 1n) / d);
  } else {
    blocksPerSm = ceilDiv(totalWork * 11, 10 * slots);
  }
  if (blocksPerSm < 1) blocksPerSm = 1;
  if (numReqs <= FILL_MAX_REQS && totalWork <= 2 ** 48)
    blocksPerSm = fillBlocksPerSlot(a, mBlocks, nBlocks, totalWork, slots, blocksPerSm);

  const splits = new Int32Array(numReqs);
  const tileBlocks = new Int32Array(numReqs);
  for (let b = 0; b < numReqs; b++) {
    const q = a.cuSeqlensQ[b + 1]! - a.cuSeqlensQ[b]!;
    const s = splitsAt(q, nBlocks[b]!, blocksPerSm, a.numSplitsBound);
    splits[b] = s;
    tileBlocks[b] = s === 0 ? 0 : ceilDiv(nBlocks[b]!, s);
  }
  const order = requestOrder(tileBlocks, numReqs, a.sortRequests);
  const tileOffsets = new Int32Array(numReqs + 1);
  let total = 0;
  for (let i = 0; i < numReqs; i++) {
    const b = order[i]!;
    tileOffsets[i] = total;
    total += numHeadsKv * mBlocks[b]! * splits[b]!;
    if (total > INT32_MAX) {
      outOfRange(
        fn,
        'numReqs',
        a.numReqs,
        `a batch of at most ${INT32_MAX} work tiles (int32 tile offsets)`,
        'Reduce the batch.',
      );
    }
  }
  tileOffsets[numReqs] = total;
  return { splits, tileOffsets, order, totalTiles: total };
}

/**
 * The scheduling maths on the CPU, bit-identical to the device's prepare kernel: the step bound
 * (`numSplits` 0 = FA3 heuristic), the split count of every request and the work-tile offsets.
 * `smCount` is the device's SM count (`Attention.smCount`); on a machine without a GPU it
 * defaults to `DEFAULT_SM_COUNT` (132, an H100 SXM).
 */
export function planSplits(args: {
  cuSeqlensQ: Int32Array;
  seqLens: Int32Array;
  numReqs: number;
  numHeadsQ: number;
  numHeadsKv: number;
  headDim: number;
  maxNumSplits: number;
  numSplits: number;
  maxSeqlenQ: number;
  maxSeqlenK: number;
  smCount?: number;
  /** The kernel request (default: this process's FLASHGRAPH_FA3_KERNEL, as the addon reads it). */
  kernel?: KernelRequest;
}): SplitPlan {
  const fn = 'planSplits';
  const a = checkArgs(fn, args);
  const numReqs = checkArgInt(fn, 'numReqs', a.numReqs, 0, INT32_MAX - 1);
  const cuSeqlensQ = checkInt32Array(fn, 'cuSeqlensQ', a.cuSeqlensQ, numReqs + 1);
  const seqLens = checkInt32Array(fn, 'seqLens', a.seqLens, numReqs);
  const { numHeadsQ, numHeadsKv, headDim } = checkHeads(fn, a);
  const maxNumSplits = checkArgInt(fn, 'maxNumSplits', a.maxNumSplits, 1, MAX_NUM_SPLITS);
  const numSplits = checkArgInt(fn, 'numSplits', a.numSplits, 0, maxNumSplits);
  const maxSeqlenQ = checkArgInt(fn, 'maxSeqlenQ', a.maxSeqlenQ, 0, INT32_MAX);
  const maxSeqlenK = checkArgInt(fn, 'maxSeqlenK', a.maxSeqlenK, 0, INT32_MAX);
  const smCount = a.smCount === undefined ? DEFAULT_SM_COUNT : checkArgInt(fn, 'smCount', a.smCount, 1, MAX_SM_COUNT);
  const qheadsPerKvhead = numHeadsQ / numHeadsKv;
  const request =
    a.kernel === undefined
      ? undefined
      : checkArgOneOf(fn, 'kernel', a.kernel, ['auto', 'general', 'decode', 'wgmma'] as const);
  const kernel = forwardKernel(maxSeqlenQ, qheadsPerKvhead, headDim, request);
  const { blockM, blockN } = tileShape(headDim, qheadsPerKvhead, kernel);
  const numSplitsBound = stepSplitBound({
    numSplits,
    maxSeqlenQ,
    maxSeqlenK,
    numHeadsKv,
    qheadsPerKvhead,
    blockM,
    blockN,
    smCount,
    maxNumSplits,
  });
  const plan = planRequests(
    {
      cuSeqlensQ,
      seqLens,
      numReqs,
      numHeadsKv,
      qheadsPerKvhead,
      blockM,
      blockN,
      smCount,
      numSplitsBound,
      sortRequests: kernel !== 'decode',
    },
    fn,
  );
  return { kernel, numSplitsBound, blockM, blockN, ...plan };
}
