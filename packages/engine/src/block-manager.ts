// The paged KV cache's page allocator. Pages ("blocks", vLLM's word) are handed out as a request
// grows and all come back when it finishes. Admission is conservative: a request reserves its
// worst case (prompt + maxNewTokens - 1 tokens) up front, so a running request can always grow
// and the engine never needs preemption; requests that don't fit yet wait in the queue.
//
// Each sequence also owns one block-table row of the metadata builder (`blockTableRows` of
// @flashgraph/attn-metadata) from reservation to release: its pages are appended there as they are
// allocated (each id validated once; a single page through `appendBlock`, with no array), so a
// step names the row instead of handing every page again.
// `release` is the one way out, for a finished request and for any future preemption alike.
import type { BlockTableRows } from '@flashgraph/attn-metadata';
import { checkInt, INT32_MAX, InvalidArgumentError } from '@flashgraph/errors';
import { CacheFullError, EngineError } from './errors.js';

export interface BlockManagerOptions {
  /** Pages in the cache. */
  numBlocks: number;
  /** Tokens per page. */
  blockSize: number;
  /**
   * The backend's block-table rows (`builder.blockTableRows` / `mirror.blockTableRows`): one row
   * per sequence holding a reservation, so at most `rows.numRows` (maxNumSeqs) at once.
   */
  rows: BlockTableRows;
}

/**
 * The paged KV cache's page allocator as a scheduler sees it (a custom scheduler gets the engine's
 * through `SchedulerContext.blocks`). Sequence ids are request ids. Every call that cannot do
 * what it is asked throws and changes nothing: `CacheFullError` (`cache_full`) when pages run
 * out, `EngineError` `unknown_sequence` / `duplicate_sequence`, and the block-table rows'
 * `MetadataError` (`no_free_row`, `too_many_blocks`) past maxNumSeqs rows or maxModelLen tokens.
 */
export interface KvBlockManager {
  readonly numBlocks: number;
  /** Tokens per page. */
  readonly blockSize: number;
  /** Pages that hold no request's data. */
  readonly numFreeBlocks: number;
  /** Free pages not promised to a reservation: what a new reservation can take. */
  readonly numAvailableBlocks: number;
  /** Sequences that hold a reservation. */
  readonly numSequences: number;
  /** Pages needed for `numTokens` tokens. */
  blocksFor(numTokens: number): number;
  /** Whether `reserve(_, maxTokens)` would succeed now (pages; rows are one per running request). */
  canReserve(maxTokens: number): boolean;
  /** Promises pages for up to `maxTokens` tokens and takes the sequence's block-table row. */
  reserve(seqId: number, maxTokens: number): void;
  /** Grows the sequence's pages (and row) to hold `numTokens` tokens; never shrinks. */
  grow(seqId: number, numTokens: number): readonly number[];
  /** The sequence's pages, in token order. */
  blockIds(seqId: number): readonly number[];
  /** The sequence's block-table row: what a step's `ScheduledRequest.blockTableRow` names. */
  blockTableRow(seqId: number): number;
  /** Returns every page, the unused reservation and the row of the sequence. */
  release(seqId: number): void;
  has(seqId: number): boolean;
}

interface Sequence {
  reservedBlocks: number;
  blockIds: number[];
  /** The sequence's block-table row; it holds exactly `blockIds`. */
  row: number;
}

export class BlockManager implements KvBlockManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  // LIFO free list: recently freed pages are reused first (they are warm in L2). Pages never handed
  // out are not listed: they come from `nextUntouched` upwards once the list is empty, so the
  // allocator holds nothing per page of a large cache it has not used.
  private readonly freeList: number[] = [];
  private nextUntouched = 0;
  private readonly sequences = new Map<number, Sequence>();
  private reservedUnallocated = 0;
  private readonly rows: BlockTableRows;

  constructor(options: BlockManagerOptions) {
    this.numBlocks = checkInt('options.numBlocks', options.numBlocks, { min: 1, max: INT32_MAX });
    this.blockSize = checkInt('options.blockSize', options.blockSize, { min: 1, max: 1 << 20 });
    if (!options.rows || typeof options.rows.acquireRow !== 'function') {
      throw new InvalidArgumentError({
        code: 'invalid_type',
        path: 'options.rows',
        value: options.rows,
        allowed: 'the block-table rows of a metadata builder or host mirror (@flashgraph/attn-metadata)',
      });
    }
    this.rows = options.rows;
  }

  // The next free page: the most recently freed one, else the lowest never used.
  private takePage(): number {
    return this.freeList.length > 0 ? (this.freeList.pop() as number) : this.nextUntouched++;
  }

  /** Pages that hold no request's data. */
  get numFreeBlocks(): number {
    return this.freeList.length + this.numBlocks - this.nextUntouched;
  }

  /** Free pages not promised to an admitted request: what a new reservation can take. */
  get numAvailableBlocks(): number {
    return this.numFreeBlocks - this.reservedUnallocated;
  }

  /** Requests that hold a reservation. */
  get numSequences(): number {
    return this.sequences.size;
  }

  /** Pages needed to hold `numTokens` tokens. */
  blocksFor(numTokens: number): number {
    return Math.ceil(numTokens / this.blockSize);
  }

  /** Whether a reservation for `maxTokens` tokens would succeed now. */
  canReserve(maxTokens: number): boolean {
    return this.blocksFor(maxTokens) <= this.numAvailableBlocks;
  }

  /**
   * Promises `seqId` pages for up to `maxTokens` tokens and acquires its (empty) block-table row;
   * allocates no page yet. With every row taken it throws the rows' `MetadataError`
   * (`no_free_row`) and reserves nothing.
   */
  reserve(seqId: number, maxTokens: number): void {
    checkInt('maxTokens', maxTokens, { min: 0, max: Number.MAX_SAFE_INTEGER });
    if (this.sequences.has(seqId)) {
      throw new EngineError('duplicate_sequence', 'already holds a reservation', {
        path: `sequence ${seqId}`,
        fix: 'Release the sequence before reserving for it again.',
      });
    }
    const blocks = this.blocksFor(maxTokens);
    if (blocks > this.numAvailableBlocks) {
      throw new CacheFullError(blocks, this.numAvailableBlocks, `sequence ${seqId}`);
    }
    const row = this.rows.acquireRow();
    this.sequences.set(seqId, { reservedBlocks: blocks, blockIds: [], row });
    this.reservedUnallocated += blocks;
  }

  /**
   * Grows `seqId`'s page list to hold `numTokens` tokens, appends the new pages to its
   * block-table row, and returns the list (the same array each time, so callers can keep a
   * reference). Never shrinks. Growing past the reservation takes unreserved free pages and throws
   * `CacheFullError` when there are none; a row that cannot take the pages throws the rows'
   * `MetadataError` (`too_many_blocks`: more than maxBlocksPerReq). Either way nothing changes.
   */
  grow(seqId: number, numTokens: number): readonly number[] {
    const seq = this.get(seqId);
    const need = this.blocksFor(numTokens) - seq.blockIds.length;
    if (need <= 0) return seq.blockIds;
    const fromReservation = Math.min(need, seq.reservedBlocks - seq.blockIds.length);
    const extra = need - Math.max(0, fromReservation);
    if (extra > this.numAvailableBlocks) {
      throw new CacheFullError(need, Math.max(0, fromReservation) + this.numAvailableBlocks, `sequence ${seqId}`);
    }
    if (need === 1) this.appendOne(seq);
    else this.appendMany(seq, need);
    if (fromReservation > 0) this.reservedUnallocated -= fromReservation;
    return seq.blockIds;
  }

  // A decode step crosses a page boundary one page at a time: no array on that path.
  private appendOne(seq: Sequence): void {
    const id = this.takePage();
    try {
      this.rows.appendBlock(seq.row, id);
    } catch (err) {
      this.freeList.push(id);
      throw err;
    }
    seq.blockIds.push(id);
  }

  private appendMany(seq: Sequence, need: number): void {
    const fresh = new Array<number>(need);
    for (let i = 0; i < need; i++) fresh[i] = this.takePage();
    try {
      this.rows.appendBlocks(seq.row, fresh);
    } catch (err) {
      for (let i = need - 1; i >= 0; i--) this.freeList.push(fresh[i] as number);
      throw err;
    }
    for (let i = 0; i < need; i++) seq.blockIds.push(fresh[i] as number);
  }

  /** The pages of `seqId`, in token order. */
  blockIds(seqId: number): readonly number[] {
    return this.get(seqId).blockIds;
  }

  /** The block-table row of `seqId` (it holds `blockIds(seqId)`): what a step's request names. */
  blockTableRow(seqId: number): number {
    return this.get(seqId).row;
  }

  /** Returns every page and the unused reservation of `seqId`, and frees its block-table row. */
  release(seqId: number): void {
    const seq = this.get(seqId);
    this.rows.releaseRow(seq.row);
    for (let i = seq.blockIds.length - 1; i >= 0; i--) this.freeList.push(seq.blockIds[i] as number);
    this.reservedUnallocated -= Math.max(0, seq.reservedBlocks - seq.blockIds.length);
    this.sequences.delete(seqId);
  }

  has(seqId: number): boolean {
    return this.sequences.has(seqId);
  }

  private get(seqId: number): Sequence {
    const seq = this.sequences.get(seqId);
    if (!seq) {
      throw new EngineError('unknown_sequence', 'holds no KV-cache blocks (never reserved, or released)', {
        path: `sequence ${seqId}`,
      });
    }
    return seq;
  }
}
