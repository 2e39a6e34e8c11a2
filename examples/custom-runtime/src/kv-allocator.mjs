// The runtime's own KV allocator: a free list of cache pages. flashgraph never decides which page
// a request gets; it only reads the ids the runtime appends to the request's block-table row.
export class KvAllocator {
  constructor(numBlocks, blockSize) {
    this.blockSize = blockSize;
    this.free = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  /** Pages needed to hold `numTokens` tokens. */
  blocksFor(numTokens) {
    return Math.ceil(numTokens / this.blockSize);
  }

  get numFree() {
    return this.free.length;
  }

  /** Takes one page; the caller checked `numFree` first (admission control is the scheduler's). */
  take() {
    const id = this.free.pop();
    if (id === undefined) throw new Error('KvAllocator: out of pages (the scheduler admitted too much)');
    return id;
  }

  release(ids) {
    for (const id of ids) this.free.push(id);
  }
}
