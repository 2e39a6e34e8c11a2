// The engine on @flashgraph/attn-metadata's block-table rows: the block manager keeps one row per
// running request (acquired at admission, appended as the request grows, released when it
// finishes), the scheduler's requests name their rows, and the metadata the backends build from
// them equals what the old path (every request's blockIds, every step) wrote for the same work.
import { type HostMirror, MetadataError, type MetadataRequest } from '@flashgraph/attn-metadata';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { BlockManager } from '../src/block-manager.js';
import { CacheFullError } from '../src/errors.js';
import { createEngine, syntheticDecoder } from '../src/index.js';
import { FifoScheduler, newRequestState, type RequestState, type ScheduledBatch } from '../src/scheduler.js';
import { hostMirror } from './helpers/block-table-rows.js';
import { referenceGenerate, rng } from './helpers/reference-model.js';

// Every host mirror created in this file, the CPU backend's included (createEngine makes one).
const { createdMirrors } = vi.hoisted(() => ({ createdMirrors: [] as HostMirror[] }));
vi.mock('@flashgraph/attn-metadata', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@flashgraph/attn-metadata')>();
  return {
    ...actual,
    createHostMirror: (...args: Parameters<typeof actual.createHostMirror>) => {
      const mirror = actual.createHostMirror(...args);
      createdMirrors.push(mirror);
      return mirror;
    },
  };
});

function request(id: number, promptLength: number, maxNewTokens: number): RequestState {
  const tokens = Array.from({ length: promptLength }, (_, i) => (id * 7 + i) % 50);
  return newRequestState({ id, tokens, maxNewTokens, addedAtStep: 0 });
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** Both staging buffers hold the same int32s (the first difference is named; cheaper than toEqual). */
function expectSameStaging(got: Int32Array, expected: Int32Array): void {
  expect(got.length).toBe(expected.length);
  let first = -1;
  for (let k = 0; k < got.length && first < 0; k++) if (got[k] !== expected[k]) first = k;
  expect(first, first < 0 ? '' : `element ${first}: ${got[first]} != ${expected[first]}`).toBe(-1);
}

/** The old path's batch: the same requests, each handing its block manager page list. */
function blockIdsBatch(batch: ScheduledBatch, blocks: BlockManager): { requests: MetadataRequest[] } {
  return {
    requests: batch.requests.map((r) => ({
      numNewTokens: r.numNewTokens,
      numComputedTokens: r.numComputedTokens,
      blockIds: blocks.blockIds(r.request.id),
    })),
  };
}

describe('BlockManager on block-table rows', () => {
  it('acquires a row at reservation, appends pages as the sequence grows, releases it at the end', () => {
    const rows = hostMirror({ numBlocks: 16, blockSize: 4, maxNumReqs: 2, maxBlocksPerReq: 8 }).blockTableRows;
    const bm = new BlockManager({ numBlocks: 16, blockSize: 4, rows });
    bm.reserve(10, 20);
    const row = bm.blockTableRow(10);
    expect(rows.isAcquired(row)).toBe(true);
    expect(rows.rowLength(row)).toBe(0);
    bm.grow(10, 3);
    expect([...rows.blockIds(row)]).toEqual([...bm.blockIds(10)]);
    expect(rows.rowLength(row)).toBe(1);
    bm.grow(10, 4); // still one page: nothing appended
    expect(rows.rowLength(row)).toBe(1);
    bm.grow(10, 9);
    expect(rows.rowLength(row)).toBe(3);
    expect([...rows.blockIds(row)]).toEqual([...bm.blockIds(10)]);
    bm.release(10);
    expect(rows.isAcquired(row)).toBe(false);
    expect(rows.numAcquired).toBe(0);
  });

  it("reuses a finished sequence's row, empty", () => {
    const rows = hostMirror({ numBlocks: 16, blockSize: 4, maxNumReqs: 2 }).blockTableRows;
    const bm = new BlockManager({ numBlocks: 16, blockSize: 4, rows });
    bm.reserve(1, 8);
    bm.reserve(2, 8);
    bm.grow(1, 8);
    const row = bm.blockTableRow(1);
    bm.release(1);
    bm.reserve(3, 4);
    expect(bm.blockTableRow(3)).toBe(row);
    expect(rows.rowLength(row)).toBe(0);
    bm.grow(3, 1);
    expect([...rows.blockIds(row)]).toEqual([...bm.blockIds(3)]);
  });

  it('with every row taken, reserve throws the typed no_free_row and reserves nothing', () => {
    const rows = hostMirror({ numBlocks: 16, blockSize: 4, maxNumReqs: 2 }).blockTableRows;
    const bm = new BlockManager({ numBlocks: 16, blockSize: 4, rows });
    bm.reserve(1, 4);
    bm.reserve(2, 4);
    const available = bm.numAvailableBlocks;
    const err = thrown(() => bm.reserve(3, 4)) as MetadataError;
    expect(err).toBeInstanceOf(MetadataError);
    expect(err.code).toBe('no_free_row');
    expect(err.message).toMatch(/at most 2 rows \(maxNumReqs\)/);
    expect(bm.has(3)).toBe(false);
    expect(bm.numSequences).toBe(2);
    expect(bm.numAvailableBlocks).toBe(available);
  });

  it('a row that cannot take the pages throws the typed too_many_blocks and changes nothing', () => {
    const rows = hostMirror({ numBlocks: 16, blockSize: 4, maxNumReqs: 2, maxBlocksPerReq: 2 }).blockTableRows;
    const bm = new BlockManager({ numBlocks: 16, blockSize: 4, rows });
    bm.reserve(1, 12);
    bm.grow(1, 8);
    const before = { free: bm.numFreeBlocks, available: bm.numAvailableBlocks, ids: [...bm.blockIds(1)] };
    const err = thrown(() => bm.grow(1, 12)) as MetadataError;
    expect(err).toBeInstanceOf(MetadataError);
    expect(err.code).toBe('too_many_blocks');
    expect(err.path).toBe(`rows[${bm.blockTableRow(1)}].ids`);
    expect({ free: bm.numFreeBlocks, available: bm.numAvailableBlocks, ids: [...bm.blockIds(1)] }).toEqual(before);
    expect([...rows.blockIds(bm.blockTableRow(1))]).toEqual(before.ids);
    // The pages it took (2 and 3) went back to the free list in order: page 2 is next.
    expect(before.ids).toEqual([0, 1]);
    bm.reserve(2, 4);
    expect(bm.grow(2, 4)).toEqual([2]);
  });

  it('hands a single page to the row with appendBlock (no array) and several with appendBlocks', () => {
    const rows = hostMirror({ numBlocks: 16, blockSize: 4, maxNumReqs: 2, maxBlocksPerReq: 8 }).blockTableRows;
    const one = vi.spyOn(rows, 'appendBlock');
    const many = vi.spyOn(rows, 'appendBlocks');
    const bm = new BlockManager({ numBlocks: 16, blockSize: 4, rows });
    bm.reserve(1, 20);
    bm.grow(1, 9); // prefill: 3 pages at once
    expect(many).toHaveBeenCalledTimes(1);
    expect(one).not.toHaveBeenCalled();
    bm.grow(1, 12); // decode within the last page: nothing to append
    bm.grow(1, 13); // decode across a page boundary: one page
    expect(one).toHaveBeenCalledTimes(1);
    expect(one).toHaveBeenCalledWith(bm.blockTableRow(1), bm.blockIds(1)[3]);
    expect(many).toHaveBeenCalledTimes(1);
    expect([...rows.blockIds(bm.blockTableRow(1))]).toEqual([...bm.blockIds(1)]);
  });

  it.each([
    { what: 'one page (appendBlock)', grow: 12 },
    { what: 'two pages (appendBlocks)', grow: 16 },
  ])('a row overflow on $what throws too_many_blocks and returns every page taken', ({ grow }) => {
    const rows = hostMirror({ numBlocks: 16, blockSize: 4, maxNumReqs: 2, maxBlocksPerReq: 2 }).blockTableRows;
    const bm = new BlockManager({ numBlocks: 16, blockSize: 4, rows });
    bm.reserve(1, 16);
    bm.grow(1, 8);
    const before = { free: bm.numFreeBlocks, available: bm.numAvailableBlocks, ids: [...bm.blockIds(1)] };
    const err = thrown(() => bm.grow(1, grow)) as MetadataError;
    expect(err).toBeInstanceOf(MetadataError);
    expect(err.code).toBe('too_many_blocks');
    expect(err.allowed).toBe('at most 0 more block ids (row holds 2 of maxBlocksPerReq 2)');
    expect({ free: bm.numFreeBlocks, available: bm.numAvailableBlocks, ids: [...bm.blockIds(1)] }).toEqual(before);
    expect([...rows.blockIds(bm.blockTableRow(1))]).toEqual(before.ids);
    // The free list is back in order: the next page handed out is the lowest one left.
    bm.reserve(2, 4);
    expect(bm.grow(2, 4)).toEqual([2]);
  });

  it('a CacheFullError on grow leaves the row as it was', () => {
    const rows = hostMirror({ numBlocks: 3, blockSize: 1, maxNumReqs: 2 }).blockTableRows;
    const bm = new BlockManager({ numBlocks: 3, blockSize: 1, rows });
    bm.reserve(1, 1);
    bm.reserve(2, 2);
    expect(() => bm.grow(1, 2)).toThrow(CacheFullError);
    expect(rows.rowLength(bm.blockTableRow(1))).toBe(0);
  });
});

describe('scheduled batches on rows build the same metadata as the blockIds path', () => {
  /** Runs a workload to the end, comparing both paths at every step; returns the rows each request used. */
  function drive(
    reqs: readonly { prompt: number; out: number }[],
    o: { numBlocks: number; blockSize: number; maxNumSeqs: number; budget: number },
    pad: (step: number, numTokens: number, numReqs: number) => { padToTokens: number; padToReqs: number },
  ): Map<number, number> {
    const caps = { numBlocks: o.numBlocks, blockSize: o.blockSize, maxNumReqs: o.maxNumSeqs, maxNumTokens: o.budget };
    const onRows = hostMirror(caps);
    const onBlockIds = hostMirror(caps);
    const blocks = new BlockManager({ numBlocks: o.numBlocks, blockSize: o.blockSize, rows: onRows.blockTableRows });
    const scheduler = new FifoScheduler(blocks, { maxNumSeqs: o.maxNumSeqs, maxNumBatchedTokens: o.budget });
    for (const [i, r] of reqs.entries()) scheduler.add(request(i, r.prompt, r.out));
    const rowOf = new Map<number, number>();
    for (let step = 0; scheduler.hasUnfinished; step++) {
      expect(step).toBeLessThan(2000);
      const batch = scheduler.schedule(step);
      for (const r of batch.requests) {
        expect('blockIds' in r).toBe(false);
        expect(r.blockTableRow).toBe(blocks.blockTableRow(r.request.id));
        expect(rowOf.get(r.request.id) ?? r.blockTableRow).toBe(r.blockTableRow); // one row for a request's life
        rowOf.set(r.request.id, r.blockTableRow);
      }
      const padding = pad(step, batch.numTokens, batch.requests.length);
      const viaRows = onRows.write({ requests: batch.requests }, padding);
      const viaBlockIds = onBlockIds.write(blockIdsBatch(batch, blocks), padding);
      expect(viaRows).toEqual(viaBlockIds);
      expectSameStaging(onRows.buffer, onBlockIds.buffer);
      const finished = scheduler.commit(batch, new Int32Array(batch.requests.length).fill(3), step);
      expect(onRows.blockTableRows.numAcquired).toBe(scheduler.numRunning);
      if (finished.length > 0) {
        // A finished request's row is free: its old batch can no longer reach the metadata.
        const e = thrown(() => onRows.write({ requests: batch.requests }, padding)) as MetadataError;
        expect(e).toBeInstanceOf(MetadataError);
        expect(e.code).toBe('row_not_acquired');
      }
    }
    expect(onRows.blockTableRows.numAcquired).toBe(0);
    expect(blocks.numFreeBlocks).toBe(o.numBlocks);
    return rowOf;
  }

  it("a finished request's row goes to the next admitted one, and its metadata is still exact", () => {
    // One seat: requests run one after the other, all on row 0; a shorter request follows a
    // longer one, so the reused staging row must lose the previous owner's tail.
    const rowOf = drive(
      [
        { prompt: 9, out: 4 },
        { prompt: 2, out: 3 },
        { prompt: 5, out: 1 },
      ],
      { numBlocks: 12, blockSize: 2, maxNumSeqs: 1, budget: 8 },
      (_, t, r) => ({ padToTokens: t, padToReqs: r }),
    );
    expect([...rowOf.values()]).toEqual([0, 0, 0]);
  });

  it('property: random workloads and paddings, every step equal, rows track running requests', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ prompt: fc.integer({ min: 1, max: 30 }), out: fc.integer({ min: 1, max: 8 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 6, max: 20 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        (reqs, maxNumSeqs, budgetIn, blockSize, seed) => {
          const budget = Math.max(budgetIn, maxNumSeqs);
          const r = rng(seed);
          const rowOf = drive(reqs, { numBlocks: 64, blockSize, maxNumSeqs, budget }, (_, t, n) => ({
            padToTokens: t + Math.floor(r() * (budget - t + 1)),
            padToReqs: Math.max(1, n + Math.floor(r() * (maxNumSeqs - n + 1))),
          }));
          expect(rowOf.size).toBe(reqs.length);
          for (const row of rowOf.values()) expect(row >= 0 && row < maxNumSeqs).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('the engine on the CPU backend builds every step from rows', () => {
  const model = syntheticDecoder({ numLayers: 2, numHeadsQ: 4, numHeadsKv: 2, headDim: 64, vocabSize: 512 });

  it.each(['none', 'full_and_piecewise'] as const)(
    'mode %s: rows path, blockIds-equal metadata, outputs unchanged',
    async (mode) => {
      const r = rng(5);
      const requests = Array.from({ length: 10 }, () => ({
        promptTokens: Array.from({ length: 1 + Math.floor(r() * 30) }, () => Math.floor(r() * 512)),
        maxNewTokens: 1 + Math.floor(r() * 6),
      }));
      const engine = await createEngine({
        model,
        graph: { mode },
        cache: { blockSize: 4, numBlocks: 48 },
        limits: { maxNumSeqs: 4, maxNumBatchedTokens: 16 },
        backend: 'cpu',
      });
      const mirror = createdMirrors.at(-1) as HostMirror;
      const rows = mirror.blockTableRows;
      // The old path, fed the same pages: a second mirror written with every request's blockIds.
      const reference = hostMirror({ ...mirror.capacities });
      const write = mirror.write.bind(mirror);
      const rowUsers = new Map<number, Set<number>>();
      let writes = 0;
      mirror.write = (batch, padding) => {
        const reqs = Array.from(batch.requests) as (MetadataRequest & { request: RequestState })[];
        const blockIds = reqs.map((q) => {
          expect(q.blockIds).toBeUndefined();
          const row = q.blockTableRow as number;
          rowUsers.set(row, (rowUsers.get(row) ?? new Set()).add(q.request.id));
          return { numNewTokens: q.numNewTokens, numComputedTokens: q.numComputedTokens, blockIds: rows.blockIds(row) };
        });
        const expected = reference.write({ requests: blockIds }, padding);
        const got = write(batch, padding);
        expect(got).toEqual(expected);
        expectSameStaging(mirror.buffer, reference.buffer);
        writes++;
        return got;
      };
      const ids = requests.map((q) => engine.addRequest(q));
      const outputs = new Map<number, number[]>();
      while (engine.numRunning + engine.numWaiting > 0) {
        const s = await engine.step();
        for (const f of s.finished) outputs.set(f.id, [...f.outputTokens]);
        expect(rows.numAcquired).toBe(engine.numRunning);
      }
      expect(writes).toBeGreaterThan(0);
      for (const [i, id] of ids.entries()) {
        expect(outputs.get(id), `request ${id}`).toEqual(
          referenceGenerate(model.shape, requests[i]!.promptTokens, requests[i]!.maxNewTokens),
        );
      }
      // 10 requests on 4 rows: finished requests' rows were handed to later ones.
      expect(rowUsers.size).toBeLessThanOrEqual(4);
      expect([...rowUsers.values()].some((users) => users.size > 1)).toBe(true);
      expect(rows.numAcquired).toBe(0);
      engine.dispose();
    },
  );
});
