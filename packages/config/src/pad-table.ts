// padToCaptureSize: the smallest captured size >= n in O(1), through a table built once per config.

/** Above this max capture size the table would cost more than 4 MiB; binary search instead. */
const TABLE_LIMIT = 1 << 20;

interface PadTable {
  max: number;
  /** table[n] = smallest size >= n, for 0 <= n <= max. */
  table?: Uint32Array;
  sizes: readonly number[];
}

// Keyed by the (frozen) resolved config, so the config itself stays plain JSON-printable data.
const tables = new WeakMap<object, PadTable>();

function buildTable(sizes: readonly number[]): PadTable {
  const max = sizes.length === 0 ? 0 : sizes[sizes.length - 1]!;
  if (max > TABLE_LIMIT) return { max, sizes };
  const table = new Uint32Array(max + 1);
  let n = 0;
  for (const size of sizes) {
    for (; n <= size; n++) table[n] = size;
  }
  return { max, table, sizes };
}

function isAscendingSizes(sizes: unknown): sizes is readonly number[] {
  if (!Array.isArray(sizes)) return false;
  let previous = 0;
  for (const size of sizes) {
    if (!Number.isSafeInteger(size) || size <= previous) return false;
    previous = size;
  }
  return true;
}

function tableFor(resolved: { captureSizes: readonly number[] }): PadTable {
  let entry = tables.get(resolved);
  if (entry === undefined) {
    if (!isAscendingSizes(resolved.captureSizes)) {
      throw new TypeError(
        'padToCaptureSize: resolved.captureSizes must be ascending positive integers (use resolveGraphConfig)',
      );
    }
    entry = buildTable(resolved.captureSizes);
    tables.set(resolved, entry);
  }
  return entry;
}

/** Builds the table ahead of the first lookup (resolveGraphConfig calls it). */
export function registerPadTable(resolved: { captureSizes: readonly number[] }): void {
  tableFor(resolved);
}

/**
 * The capture size a step of `numTokens` tokens replays: the smallest captured size >= numTokens,
 * or `undefined` above the max capture size (or when nothing is captured): that step runs eagerly.
 */
export function padToCaptureSize(
  resolved: { readonly captureSizes: readonly number[] },
  numTokens: number,
): number | undefined {
  if (resolved === null || typeof resolved !== 'object') {
    throw new TypeError('padToCaptureSize: resolved must be the result of resolveGraphConfig');
  }
  if (typeof numTokens !== 'number') {
    throw new TypeError(`padToCaptureSize: numTokens must be a number, got ${typeof numTokens}`);
  }
  if (!Number.isSafeInteger(numTokens) || numTokens < 1) {
    throw new RangeError(`padToCaptureSize: numTokens must be a positive safe integer, got ${numTokens}`);
  }
  const entry = tableFor(resolved);
  if (numTokens > entry.max) return undefined;
  if (entry.table !== undefined) return entry.table[numTokens];
  // Only for max capture sizes above 2^20 tokens: O(log n) instead of a huge table.
  let lo = 0;
  let hi = entry.sizes.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entry.sizes[mid]! >= numTokens) hi = mid;
    else lo = mid + 1;
  }
  return entry.sizes[lo];
}
