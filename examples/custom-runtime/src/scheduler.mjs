// The runtime's own scheduler: continuous batching with chunked prefill under a token budget.
// Running requests go first (a decode token each, or the next chunk of their prompt), then waiting
// requests are admitted while a sequence slot, budget and KV pages for their whole length remain.
// It hands flashgraph a batch of { numNewTokens, numComputedTokens, blockTableRow }; the rows are
// attn-metadata's persistent block-table rows, filled with page ids from the runtime's allocator.

export class Scheduler {
  /**
   * @param workload requests `{ id, prompt: number[], maxNewTokens, arrival }`
   * @param rows the metadata builder's `blockTableRows`
   */
  constructor({ workload, allocator, rows, maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen }) {
    this.waiting = workload.map((r) => ({ ...r, computed: 0, generated: [], row: -1, blocks: [] }));
    this.running = [];
    this.finished = [];
    this.allocator = allocator;
    this.rows = rows;
    this.maxNumSeqs = maxNumSeqs;
    this.budget = maxNumBatchedTokens;
    this.uniformDecodeQueryLen = uniformDecodeQueryLen;
    this.stepIndex = 0;
  }

  get done() {
    return this.waiting.length === 0 && this.running.length === 0;
  }

  /** The next step's batch, or null when nothing can run yet (no arrivals). */
  schedule() {
    const step = this.stepIndex++;
    const scheduled = [];
    let budget = this.budget;
    for (const req of this.running) {
      if (budget === 0) break;
      const numNew = Math.min(this.remainingInput(req), budget);
      scheduled.push({ req, numNew });
      budget -= numNew;
    }
    while (this.waiting.length > 0 && this.running.length < this.maxNumSeqs && budget > 0) {
      const next = this.waiting[0];
      if (next.arrival > step || this.allocator.numFree - this.reservedPages() < this.pagesOf(next)) break;
      this.waiting.shift();
      next.row = this.rows.acquireRow();
      this.running.push(next);
      const numNew = Math.min(next.prompt.length, budget);
      scheduled.push({ req: next, numNew });
      budget -= numNew;
    }
    if (scheduled.length === 0) return null;
    const tokens = [];
    for (const { req, numNew } of scheduled) {
      this.growPages(req, req.computed + numNew);
      const sequence = [...req.prompt, ...req.generated];
      tokens.push(...sequence.slice(req.computed, req.computed + numNew));
    }
    return {
      scheduled,
      tokens,
      requests: scheduled.map(({ req, numNew }) => ({
        numNewTokens: numNew,
        numComputedTokens: req.computed,
        blockTableRow: req.row,
      })),
      // The runner's flag: every request brings exactly the decode query length (a one-token
      // prompt chunk included: a decode graph serves it, and the metadata builder agrees).
      uniformDecode: scheduled.every(({ numNew }) => numNew === this.uniformDecodeQueryLen),
    };
  }

  /** Applies a step's sampled tokens (one per scheduled request that finished its input). */
  complete(batch, sampled) {
    batch.scheduled.forEach(({ req, numNew }, i) => {
      req.computed += numNew;
      if (this.remainingInput(req) === 0) req.generated.push(sampled[i]);
      if (req.generated.length === req.maxNewTokens) this.finish(req);
    });
  }

  /** Tokens still to feed before the request can sample: the rest of the prompt, or the last token. */
  remainingInput(req) {
    return req.prompt.length + req.generated.length - req.computed;
  }

  pagesOf(req) {
    return this.allocator.blocksFor(req.prompt.length + req.maxNewTokens);
  }

  reservedPages() {
    return this.running.reduce((sum, req) => sum + this.pagesOf(req) - req.blocks.length, 0);
  }

  growPages(req, numTokens) {
    while (req.blocks.length < this.allocator.blocksFor(numTokens)) {
      const id = this.allocator.take();
      req.blocks.push(id);
      this.rows.appendBlock(req.row, id); // one page at a time, as a decode step crosses a page
    }
  }

  finish(req) {
    this.running.splice(this.running.indexOf(req), 1);
    this.rows.releaseRow(req.row);
    this.allocator.release(req.blocks);
    req.blocks = [];
    this.finished.push(req);
  }
}
