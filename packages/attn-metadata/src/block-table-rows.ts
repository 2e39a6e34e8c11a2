// Block-table rows that live across steps (vLLM v1's persistent batch, host side): a request keeps
// its KV pages in a row of a host-only store, each id validated once when it is appended, and
// a step's request names its row instead of handing every id again. The store is not the staging
// buffer: mutations between steps never touch memory an in-flight step copy (or a replayed graph)
// is reading, and the step's rows may come in any order. The writer mirrors a store row into the
// staging row of the request's batch index and remembers that link, so the next step copies only
// what changed since (usually nothing; one id every blockSize decode steps).
import { MetadataError } from './errors.js';
import type { MetadataCapacities } from './types.js';
import { isIdArray } from './validate-batch.js';

/** The public face of the row store: `builder.blockTableRows` / `mirror.blockTableRows`. */
export interface BlockTableRows {
  /** Rows available in total (= maxNumReqs). */
  readonly numRows: number;
  /** Rows currently acquired. */
  readonly numAcquired: number;
  /** Ids one row can hold (the row capacity, the builder's `maxBlocksPerReq`). */
  readonly maxBlocksPerReq: number;
  /** A free row index in [0, numRows), now acquired and empty; `no_free_row` when all are taken. */
  acquireRow(): number;
  /**
   * Appends KV pages to an acquired row. Every id is checked here, once (an integer in
   * [0, numBlocks), the row within maxBlocksPerReq); a rejected call changes nothing.
   */
  appendBlocks(row: number, ids: ArrayLike<number>): void;
  /**
   * Appends one KV page: the same checks, errors and effect as `appendBlocks(row, [blockId])`
   * (a bad id is reported at path `rows[row].blockId`), in O(1) without an array.
   */
  appendBlock(row: number, blockId: number): void;
  /** Keeps the first `length` ids of an acquired row (length in [0, current length]). */
  truncate(row: number, length: number): void;
  /** Frees an acquired row; its ids are dropped (the row is empty when acquired again). */
  releaseRow(row: number): void;
  isAcquired(row: number): boolean;
  /** Ids in an acquired row. */
  rowLength(row: number): number;
  /** A copy of an acquired row's ids (for logs and tests). */
  blockIds(row: number): Int32Array;
}

/** The store and its state; the validator and the writer read the fields directly. */
export class BlockTableRowStore implements BlockTableRows {
  readonly numRows: number;
  readonly maxBlocksPerReq: number;
  /** [numRows x stride] ids; entries past a row's length are unspecified (never read). */
  readonly ids: Int32Array;
  readonly stride: number;
  /** Ids per row; -1 marks a free row. */
  readonly lengths: Int32Array;
  /**
   * Per row, the batch index whose staging row mirrors it (-1: none), and per staging row the
   * store row it mirrors (-1: none) with how many leading ids are known to be equal.
   */
  readonly stagedAt: Int32Array;
  readonly stagedRow: Int32Array;
  readonly syncedPrefix: Int32Array;
  /** Per row, the last validation pass that saw it in a batch (duplicate check in O(1)). */
  readonly seenInPass: Float64Array;
  pass = 0;
  private readonly freeRows: Int32Array;
  private numFree: number;

  constructor(private readonly caps: MetadataCapacities) {
    const R = caps.maxNumReqs;
    this.numRows = R;
    this.maxBlocksPerReq = caps.maxBlocksPerReq;
    this.stride = caps.maxBlocksPerReq;
    this.ids = new Int32Array(R * caps.maxBlocksPerReq);
    this.lengths = new Int32Array(R).fill(-1);
    this.stagedAt = new Int32Array(R).fill(-1);
    this.stagedRow = new Int32Array(R).fill(-1);
    this.syncedPrefix = new Int32Array(R);
    this.seenInPass = new Float64Array(R);
    // A stack popped from the end: row 0 first, then 1, ..., then the most recently released.
    this.freeRows = Int32Array.from({ length: R }, (_, k) => R - 1 - k);
    this.numFree = R;
  }

  get numAcquired(): number {
    return this.numRows - this.numFree;
  }

  acquireRow(): number {
    if (this.numFree === 0) {
      throw new MetadataError(
        'no_free_row',
        'blockTableRows.acquireRow',
        this.numRows,
        `at most ${this.numRows} rows (maxNumReqs) acquired at once`,
        'every row is acquired; release one first',
      );
    }
    const row = this.freeRows[--this.numFree]!;
    this.lengths[row] = 0;
    return row;
  }

  appendBlocks(row: number, ids: ArrayLike<number>): void {
    this.checkAcquired('appendBlocks', row);
    if (!(ids instanceof Int32Array || isIdArray(ids))) {
      throw new MetadataError(
        'invalid_batch',
        `rows[${row}].ids`,
        ids,
        'an array or typed array of block ids',
        'appendBlocks: must be an array',
      );
    }
    const n = ids.length;
    const start = this.roomFor('appendBlocks', row, n, ids);
    const numBlocks = this.caps.numBlocks;
    for (let j = 0; j < n; j++) {
      const b = ids[j] as number;
      if (!isBlockId(b, numBlocks)) throw badBlockId(b, `rows[${row}].ids[${j}]`, numBlocks, 'appendBlocks');
    }
    const base = row * this.stride + start;
    if (ids instanceof Int32Array) this.ids.set(ids, base);
    else for (let j = 0; j < n; j++) this.ids[base + j] = ids[j]!;
    this.lengths[row] = start + n;
  }

  // The decode path: a step crosses a block boundary one page at a time. Same checks, in the same
  // order, as appendBlocks with one id; nothing is allocated unless it throws.
  appendBlock(row: number, blockId: number): void {
    this.checkAcquired('appendBlock', row);
    const start = this.roomFor('appendBlock', row, 1, blockId);
    const numBlocks = this.caps.numBlocks;
    if (!isBlockId(blockId, numBlocks)) throw badBlockId(blockId, `rows[${row}].blockId`, numBlocks, 'appendBlock');
    this.ids[row * this.stride + start] = blockId;
    this.lengths[row] = start + 1;
  }

  /** The row's current length, after checking `n` more ids fit (`too_many_blocks` otherwise). */
  private roomFor(fn: string, row: number, n: number, value: unknown): number {
    const start = this.lengths[row]!;
    const max = this.maxBlocksPerReq;
    if (start + n > max) {
      throw new MetadataError(
        'too_many_blocks',
        `rows[${row}].ids`,
        value,
        `at most ${max - start} more block ids (row holds ${start} of maxBlocksPerReq ${max})`,
        `${fn}: the row would overflow`,
      );
    }
    return start;
  }

  truncate(row: number, length: number): void {
    this.checkAcquired('truncate', row);
    const current = this.lengths[row]!;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > current) {
      throw new MetadataError(
        Number.isInteger(length) ? 'out_of_range' : 'not_integer',
        `rows[${row}].length`,
        length,
        `integer in [0, ${current}] (the row's length)`,
        'truncate: a row can only get shorter',
      );
    }
    this.lengths[row] = length;
    // The staging copy of this row (if any) is equal only up to the new length now.
    const i = this.stagedAt[row]!;
    if (i >= 0 && this.syncedPrefix[i]! > length) this.syncedPrefix[i] = length;
  }

  releaseRow(row: number): void {
    this.checkAcquired('releaseRow', row);
    this.lengths[row] = -1;
    // Unlink from staging: a later owner of the row starts from a full copy; the staging row keeps
    // its ids until the next step rewrites or clears it (an in-flight copy may be reading them).
    const i = this.stagedAt[row]!;
    if (i >= 0) {
      this.stagedRow[i] = -1;
      this.stagedAt[row] = -1;
    }
    this.freeRows[this.numFree++] = row;
  }

  isAcquired(row: number): boolean {
    return Number.isInteger(row) && row >= 0 && row < this.numRows && this.lengths[row]! >= 0;
  }

  rowLength(row: number): number {
    this.checkAcquired('rowLength', row);
    return this.lengths[row]!;
  }

  blockIds(row: number): Int32Array {
    this.checkAcquired('blockIds', row);
    const base = row * this.stride;
    return this.ids.slice(base, base + this.lengths[row]!);
  }

  /** Staging row `i` no longer mirrors a store row (it holds a blockIds request or is cleared). */
  unlinkStaging(i: number): void {
    const r = this.stagedRow[i]!;
    if (r >= 0) {
      if (this.stagedAt[r] === i) this.stagedAt[r] = -1;
      this.stagedRow[i] = -1;
    }
  }

  private checkAcquired(fn: string, row: number): void {
    if (typeof row !== 'number' || !Number.isInteger(row) || row < 0 || row >= this.numRows) {
      throw new MetadataError(
        'invalid_row',
        `blockTableRows.${fn}(row)`,
        row,
        `integer in [0, ${this.numRows}) (maxNumReqs)`,
        'not a row index',
      );
    }
    if (this.lengths[row]! < 0) {
      throw new MetadataError(
        'row_not_acquired',
        `blockTableRows.${fn}(row)`,
        row,
        'an acquired row (acquireRow)',
        `row ${row} is free`,
      );
    }
  }
}

function isBlockId(b: unknown, numBlocks: number): b is number {
  return typeof b === 'number' && b >= 0 && b < numBlocks && (b | 0) === b;
}

function badBlockId(b: unknown, path: string, numBlocks: number, fn: string): MetadataError {
  const code = Number.isInteger(b) || b === Infinity || b === -Infinity ? 'invalid_block_id' : 'not_integer';
  return new MetadataError(
    code,
    path,
    b,
    `integer in [0, ${numBlocks}) (numBlocks)`,
    `${fn}: block id outside the KV cache`,
  );
}
