import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockManager } from '../src/block-manager.js';
import { FifoScheduler, newRequestState, type RequestState } from '../src/scheduler.js';
import { withRows } from './helpers/block-table-rows.js';

function request(id: number, promptLength: number, maxNewTokens: number): RequestState {
  return newRequestState({
    id,
    tokens: Array.from({ length: promptLength }, (_, i) => i),
    maxNewTokens,
    addedAtStep: 0,
  });
}

function setup(numBlocks: number, blockSize: number, maxNumSeqs: number, maxNumBatchedTokens: number) {
  const blocks = new BlockManager(withRows({ numBlocks, blockSize, maxNumReqs: maxNumSeqs }));
  return { blocks, scheduler: new FifoScheduler(blocks, { maxNumSeqs, maxNumBatchedTokens }) };
}

/** Commits a batch as if every sampled token were 7. */
function commit(s: FifoScheduler, batch: ReturnType<FifoScheduler['schedule']>, step: number) {
  return s.commit(batch, new Int32Array(batch.requests.length).fill(7), step);
}

describe('FifoScheduler', () => {
  it('schedules running decodes first, then prefill chunks within the token budget', () => {
    const { scheduler } = setup(64, 4, 8, 10);
    const a = request(0, 3, 5);
    const b = request(1, 3, 5);
    scheduler.add(a);
    scheduler.add(b);
    let batch = scheduler.schedule(0);
    expect(batch.requests.map((r) => [r.request.id, r.numNewTokens, r.sample])).toEqual([
      [0, 3, true],
      [1, 3, true],
    ]);
    expect(batch.numDecodes).toBe(0);
    commit(scheduler, batch, 0);
    const c = request(2, 20, 2);
    scheduler.add(c);
    batch = scheduler.schedule(1);
    // Two decodes, then c's first chunk of 10 - 2 = 8 tokens (no sample: its prompt is not done).
    expect(batch.requests.map((r) => [r.request.id, r.numNewTokens, r.numComputedTokens, r.sample])).toEqual([
      [0, 1, 3, true],
      [1, 1, 3, true],
      [2, 8, 0, false],
    ]);
    expect(batch.numTokens).toBe(10);
    expect(batch.numDecodes).toBe(2);
    expect(batch.uniformDecode).toBe(false);
    commit(scheduler, batch, 1);
    batch = scheduler.schedule(2);
    expect(batch.requests.map((r) => [r.request.id, r.numNewTokens, r.numComputedTokens])).toEqual([
      [0, 1, 4],
      [1, 1, 4],
      [2, 8, 8],
    ]);
    commit(scheduler, batch, 2);
    batch = scheduler.schedule(3);
    expect(batch.requests.map((r) => [r.request.id, r.numNewTokens, r.sample])).toEqual([
      [0, 1, true],
      [1, 1, true],
      [2, 4, true],
    ]);
  });

  it('marks a batch of one-token queries as uniform decode', () => {
    const { scheduler } = setup(16, 4, 4, 8);
    scheduler.add(request(0, 2, 3));
    commit(scheduler, scheduler.schedule(0), 0);
    const batch = scheduler.schedule(1);
    expect(batch.uniformDecode).toBe(true);
    expect(batch.numDecodes).toBe(1);
  });

  it('never runs more than maxNumSeqs requests; the rest wait in arrival order', () => {
    const { scheduler } = setup(64, 4, 2, 64);
    for (let i = 0; i < 5; i++) scheduler.add(request(i, 2, 2));
    const batch = scheduler.schedule(0);
    expect(batch.requests.map((r) => r.request.id)).toEqual([0, 1]);
    expect(scheduler.numWaiting).toBe(3);
    commit(scheduler, batch, 0);
    const next = scheduler.schedule(1);
    expect(next.requests.map((r) => r.request.id)).toEqual([0, 1]); // decodes; no free seat yet
    const finished = commit(scheduler, next, 1);
    expect(finished.map((r) => r.id)).toEqual([0, 1]);
    expect(scheduler.schedule(2).requests.map((r) => r.request.id)).toEqual([2, 3]);
  });

  it('queues a request until the cache can hold its worst case, then admits it', () => {
    // 4 blocks of 4 tokens; request 0 needs 3 + 6 - 1 = 8 tokens = 2 blocks, request 1 needs 3.
    const { scheduler, blocks } = setup(4, 4, 4, 32);
    scheduler.add(request(0, 3, 6));
    scheduler.add(request(1, 9, 4));
    scheduler.add(request(2, 1, 1)); // fits, but FIFO: waits behind request 1
    let batch = scheduler.schedule(0);
    expect(batch.requests.map((r) => r.request.id)).toEqual([0]);
    expect(blocks.numAvailableBlocks).toBe(2);
    let step = 0;
    while (scheduler.numWaiting === 2) {
      // Request 2 would fit in the 2 spare blocks, but it must not overtake request 1.
      expect(batch.requests.map((r) => r.request.id)).toEqual([0]);
      commit(scheduler, batch, step++);
      batch = scheduler.schedule(step);
    }
    // Request 0 finished and returned its pages: both waiting requests are admitted.
    expect(batch.requests.map((r) => r.request.id)).toEqual([1, 2]);
    expect(scheduler.numWaiting).toBe(0);
    expect(step).toBe(6);
  });

  it('frees every page when requests finish (property: random workloads drain without leaks)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ prompt: fc.integer({ min: 1, max: 30 }), out: fc.integer({ min: 1, max: 6 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 6, max: 20 }),
        (reqs, maxNumSeqs, budget) => {
          const numBlocks = 40;
          const { scheduler, blocks } = setup(numBlocks, 2, maxNumSeqs, Math.max(budget, maxNumSeqs));
          for (const [i, r] of reqs.entries()) scheduler.add(request(i, r.prompt, r.out));
          const generated = new Map<number, number>();
          for (let step = 0; scheduler.hasUnfinished; step++) {
            expect(step).toBeLessThan(2000);
            const batch = scheduler.schedule(step);
            expect(batch.requests.length).toBeGreaterThan(0);
            expect(batch.requests.length).toBeLessThanOrEqual(maxNumSeqs);
            expect(batch.numTokens).toBeLessThanOrEqual(Math.max(budget, maxNumSeqs));
            // Decodes come first.
            const firstPrefill = batch.requests.findIndex((r) => r.numComputedTokens < r.request.promptLength);
            if (firstPrefill >= 0) {
              expect(
                batch.requests.slice(firstPrefill).every((r) => r.numComputedTokens < r.request.promptLength),
              ).toBe(true);
            }
            for (const r of batch.requests) {
              expect(blocks.blockIds(r.request.id).length * 2).toBeGreaterThanOrEqual(
                r.numComputedTokens + r.numNewTokens,
              );
              if (r.sample) generated.set(r.request.id, (generated.get(r.request.id) ?? 0) + 1);
            }
            commit(scheduler, batch, step);
          }
          for (const [i, r] of reqs.entries()) expect(generated.get(i)).toBe(r.out);
          expect(blocks.numFreeBlocks).toBe(numBlocks);
          expect(blocks.numAvailableBlocks).toBe(numBlocks);
        },
      ),
      { numRuns: 150 },
    );
  });
});
