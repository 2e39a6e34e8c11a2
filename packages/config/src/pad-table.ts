// padToCaptureSize: the smallest captured size >= n, in O(1) through a bucket table whose length
// is at most 4 x the number of capture sizes (never the max capture size: capture sizes up to
// 2^31 - 1 cost what 512 does). Bucket b covers the token counts ((b x width), (b + 1) x width]
// and holds the index of the first size in it; a lookup searches that bucket's few sizes.
import { checkInt, InvalidArgumentError, unreadable } from '@flashgraph/errors';
import { MAX_NUM_CAPTURE_SIZES } from './schema.js';

interface PadTable {
  readonly sizes: Float64Array;
  /** Token counts per bucket. */
  readonly width: number;
  /** start[b] = index of the smallest size > b x width; start[buckets] = sizes.length. */
  readonly start: Int32Array;
}

const NUM_TOKENS = { min: 1, max: Number.MAX_SAFE_INTEGER };
const EMPTY: PadTable = { sizes: new Float64Array(0), width: 1, start: new Int32Array(1) };

// Tables keyed by the frozen resolved config (resolveGraphConfig's), so the config itself stays
// plain JSON-printable data and the per-call cost is one WeakMap lookup. A config a caller can
// still change is checked and tabled on every call: a cached table would go stale.
const tables = new WeakMap<object, PadTable>();

function checkedSizes(given: unknown): Float64Array {
  const allowed = 'ascending positive safe integers (the captureSizes of resolveGraphConfig)';
  if (!Array.isArray(given)) {
    throw new InvalidArgumentError({ code: 'invalid_type', path: 'resolved.captureSizes', value: given, allowed });
  }
  // Bounded before the table is allocated (a sparse array can claim 2^32 - 1 entries).
  if (given.length > MAX_NUM_CAPTURE_SIZES) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: 'resolved.captureSizes.length',
      value: given.length,
      allowed: `at most ${MAX_NUM_CAPTURE_SIZES} sizes`,
    });
  }
  const sizes = new Float64Array(given.length);
  let previous = 0;
  for (let i = 0; i < given.length; i++) {
    const size: unknown = given[i];
    if (!Number.isSafeInteger(size) || (size as number) <= previous) {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: `resolved.captureSizes[${i}]`,
        value: size,
        allowed,
      });
    }
    previous = size as number;
    sizes[i] = previous;
  }
  return sizes;
}

function buildTable(sizes: Float64Array): PadTable {
  if (sizes.length === 0) return EMPTY;
  const max = sizes[sizes.length - 1]!;
  const width = Math.max(1, Math.ceil(max / (4 * sizes.length)));
  const buckets = Math.ceil(max / width);
  const start = new Int32Array(buckets + 1);
  let i = 0;
  for (let b = 0; b < buckets; b++) {
    while (sizes[i]! <= b * width) i++;
    start[b] = i;
  }
  start[buckets] = sizes.length;
  return { sizes, width, start };
}

function tableFor(resolved: { readonly captureSizes: readonly number[] }): PadTable {
  let table = tables.get(resolved);
  if (table === undefined) {
    let given: unknown;
    let frozen: boolean;
    try {
      given = resolved.captureSizes;
      frozen = Object.isFrozen(resolved) && Object.isFrozen(given);
    } catch (cause) {
      throw unreadable('resolved', resolved, cause, 'the object returned by resolveGraphConfig');
    }
    table = buildTable(checkedSizes(given));
    if (frozen) tables.set(resolved, table);
  }
  return table;
}

/** Builds the table ahead of the first lookup (resolveGraphConfig calls it). */
export function registerPadTable(resolved: { readonly captureSizes: readonly number[] }): void {
  tableFor(resolved);
}

function checkResolved(resolved: unknown): asserts resolved is { readonly captureSizes: readonly number[] } {
  if (resolved === null || typeof resolved !== 'object') {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'resolved',
      value: resolved,
      allowed: 'the object returned by resolveGraphConfig',
    });
  }
}

/** The index of the first size >= numTokens (a checked positive safe integer), or -1. */
function lookup(table: PadTable, numTokens: number): number {
  const { sizes, width, start } = table;
  const bucket = Math.floor((numTokens - 1) / width);
  if (bucket >= start.length - 1) return -1;
  let lo = start[bucket]!;
  let hi = start[bucket + 1]!;
  // The first size >= numTokens within the bucket, else the first size of the next bucket.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sizes[mid]! >= numTokens) hi = mid;
    else lo = mid + 1;
  }
  return lo < sizes.length ? lo : -1;
}

function checkNumTokens(numTokens: unknown): asserts numTokens is number {
  // A hand-written check on this per-step path (no range object per call), through the same class.
  if (typeof numTokens !== 'number' || !Number.isSafeInteger(numTokens) || numTokens < 1) {
    checkInt('numTokens', numTokens, NUM_TOKENS);
  }
}

/**
 * The index in `resolved.captureSizes` of the size a step of `numTokens` tokens pads to, or -1
 * above the max capture size (or when nothing is captured). O(1) for ladders; never worse than a
 * binary search within one bucket.
 */
export function captureSizeIndex(resolved: { readonly captureSizes: readonly number[] }, numTokens: number): number {
  checkResolved(resolved);
  checkNumTokens(numTokens);
  return lookup(tableFor(resolved), numTokens);
}

/**
 * `captureSizeIndex` bound to one config: the sizes are checked and the table built once, so each
 * call is a few integer operations (a graph runner's per-step path).
 */
export function captureSizeLookup(resolved: {
  readonly captureSizes: readonly number[];
}): (numTokens: number) => number {
  checkResolved(resolved);
  const table = tableFor(resolved);
  return (numTokens) => {
    checkNumTokens(numTokens);
    return lookup(table, numTokens);
  };
}

/**
 * The capture size a step of `numTokens` tokens replays: the smallest captured size >= numTokens,
 * or `undefined` above the max capture size (or when nothing is captured): that step runs eagerly.
 */
export function padToCaptureSize(
  resolved: { readonly captureSizes: readonly number[] },
  numTokens: number,
): number | undefined {
  const index = captureSizeIndex(resolved, numTokens);
  return index < 0 ? undefined : tableFor(resolved).sizes[index];
}
