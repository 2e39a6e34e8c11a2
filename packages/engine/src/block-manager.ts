// The paged KV cache's page allocator. Pages ("blocks", vLLM's word) are handed out as a request
// grows and all come back when it finishes. Admission is conservative: a request reserves its
// worst case (prompt + maxNewTokens - 1 tokens) up front, so a running request can always grow
// and the engine never needs preemption; requests that don't fit yet wait in the queue.
import { CacheFullError } from './errors.js';
import { checkInt } from './validate.js';

export interface BlockManagerOptions {
  /** Pages in the cache. */
  numBlocks: number;
  /** Tokens per page. */
  blockSize: number;
}

interface Sequence {
  reservedBlocks: number;
  blockIds: number[];
}

export class BlockManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  // LIFO free list: recently freed pages are reused first (they are warm in L2).
  private readonly freeList: number[];
  private readonly sequences = new Map<number, Sequence>();
  private reservedUnallocated = 0;

  constructor(options: BlockManagerOptions) {
    this.numBlocks = checkInt('cache.numBlocks', options.numBlocks, 1, 2 ** 31 - 1);
    this.blockSize = checkInt('cache.blockSize', options.blockSize, 1, 2 ** 20);
    this.freeList = new Array<number>(this.numBlocks);
    for (let i = 0; i < this.numBlocks; i++) this.freeList[i] = this.numBlocks - 1 - i;
  }

  /** Pages that hold no request's data. */
  get numFreeBlocks(): number {
    return this.freeList.length;
  }

  /** Free pages not promised to an admitted request: what a new reservation can take. */
  get numAvailableBlocks(): number {
    return this.freeList.length - this.reservedUnallocated;
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

  /** Promises `seqId` pages for up to `maxTokens` tokens; allocates none yet. */
  reserve(seqId: number, maxTokens: number): void {
    checkInt('maxTokens', maxTokens, 0);
    if (this.sequences.has(seqId)) throw new RangeError(`sequence ${seqId} already holds a reservation`);
    const blocks = this.blocksFor(maxTokens);
    if (blocks > this.numAvailableBlocks) {
      throw new CacheFullError(blocks, this.numAvailableBlocks, `sequence ${seqId}`);
    }
    this.sequences.set(seqId, { reservedBlocks: blocks, blockIds: [] });
    this.reservedUnallocated += blocks;
  }

  /**
   * Grows `seqId`'s page list to hold `numTokens` tokens and returns it (the same array each
   * time, so callers can keep a reference). Never shrinks. Growing past the reservation takes
   * unreserved free pages and throws `CacheFullError` when there are none.
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
    for (let i = 0; i < need; i++) seq.blockIds.push(this.freeList.pop() as number);
    if (fromReservation > 0) this.reservedUnallocated -= fromReservation;
    return seq.blockIds;
  }

  /** The pages of `seqId`, in token order. */
  blockIds(seqId: number): readonly number[] {
    return this.get(seqId).blockIds;
  }

  /** Returns every page and the unused reservation of `seqId`. */
  release(seqId: number): void {
    const seq = this.get(seqId);
    for (let i = seq.blockIds.length - 1; i >= 0; i--) this.freeList.push(seq.blockIds[i] as number);
    this.reservedUnallocated -= Math.max(0, seq.reservedBlocks - seq.blockIds.length);
    this.sequences.delete(seqId);
  }

  has(seqId: number): boolean {
    return this.sequences.has(seqId);
  }

  private get(seqId: number): Sequence {
    const seq = this.sequences.get(seqId);
    if (!seq) throw new RangeError(`sequence ${seqId} holds no KV-cache blocks (never reserved, or released)`);
    return seq;
  }
}
