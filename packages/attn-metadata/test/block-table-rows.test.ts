import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { MetadataError } from '../src/errors.js';
import { createHostMirror } from '../src/host-mirror.js';
import type { MetadataBatch, MetadataCapacities, MetadataRequest } from '../src/types.js';
import { type FakeMemory, fakeMemory, fakeStream, graphConfig, recordingAttention } from './support/fakes.js';
import { recompute } from './support/reference.js';

const caps: MetadataCapacities = { maxNumReqs: 6, maxNumTokens: 40, blockSize: 4, numBlocks: 50, maxBlocksPerReq: 5 };

function expectError(fn: () => unknown, code: string, path: string) {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MetadataError);
  expect((caught as MetadataError).code).toBe(code);
  expect((caught as MetadataError).path).toBe(path);
}

/** The same step with every row request replaced by its row's ids (the blockIds path). */
function logical(batch: MetadataBatch, rowIds: (row: number) => ArrayLike<number>): MetadataBatch {
  return {
    requests: Array.from(batch.requests, (r) =>
      r.blockIds !== undefined
        ? r
        : {
            numNewTokens: r.numNewTokens,
            numComputedTokens: r.numComputedTokens,
            blockIds: Array.from(rowIds(r.blockTableRow!)),
          },
    ),
  };
}

describe('block-table rows: the row API', () => {
  it('acquires rows 0, 1, ... then the most recently released, and refuses when all are taken', () => {
    const rows = createHostMirror(caps).blockTableRows;
    expect(Array.from({ length: 6 }, () => rows.acquireRow())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rows.numAcquired).toBe(6);
    expectError(() => rows.acquireRow(), 'no_free_row', 'blockTableRows.acquireRow');
    rows.releaseRow(3);
    expect(rows.isAcquired(3)).toBe(false);
    expect(rows.acquireRow()).toBe(3);
    expect(rows.rowLength(3)).toBe(0);
  });

  it('appends, truncates and releases (a released row comes back empty)', () => {
    const rows = createHostMirror(caps).blockTableRows;
    const r = rows.acquireRow();
    rows.appendBlocks(r, [4, 9]);
    rows.appendBlocks(r, Int32Array.of(49));
    expect(Array.from(rows.blockIds(r))).toEqual([4, 9, 49]);
    rows.truncate(r, 1);
    rows.appendBlocks(r, []);
    expect(Array.from(rows.blockIds(r))).toEqual([4]);
    rows.releaseRow(r);
    expect(rows.acquireRow()).toBe(r);
    expect(rows.rowLength(r)).toBe(0);
  });

  const bad: {
    name: string;
    run: (rows: ReturnType<typeof createHostMirror>['blockTableRows'], r: number) => void;
    code: string;
    path: string;
  }[] = [
    {
      name: 'id = numBlocks',
      run: (rows, r) => rows.appendBlocks(r, [1, 50]),
      code: 'invalid_block_id',
      path: 'rows[0].ids[1]',
    },
    {
      name: 'negative id (Int32Array)',
      run: (rows, r) => rows.appendBlocks(r, Int32Array.of(-1)),
      code: 'invalid_block_id',
      path: 'rows[0].ids[0]',
    },
    {
      name: 'fractional id',
      run: (rows, r) => rows.appendBlocks(r, [2, 3, 1.5]),
      code: 'not_integer',
      path: 'rows[0].ids[2]',
    },
    {
      name: 'NaN id',
      run: (rows, r) => rows.appendBlocks(r, [Number.NaN]),
      code: 'not_integer',
      path: 'rows[0].ids[0]',
    },
    {
      name: 'not an array',
      run: (rows, r) => rows.appendBlocks(r, 7 as unknown as number[]),
      code: 'invalid_batch',
      path: 'rows[0].ids',
    },
    {
      name: 'row overflow (2 + 4 > 5)',
      run: (rows, r) => rows.appendBlocks(r, [1, 2, 3, 4]),
      code: 'too_many_blocks',
      path: 'rows[0].ids',
    },
    {
      name: 'append to a free row',
      run: (rows) => rows.appendBlocks(1, [1]),
      code: 'row_not_acquired',
      path: 'blockTableRows.appendBlocks(row)',
    },
    {
      name: 'append to row -1',
      run: (rows) => rows.appendBlocks(-1, [1]),
      code: 'invalid_row',
      path: 'blockTableRows.appendBlocks(row)',
    },
    {
      name: 'append to row maxNumReqs',
      run: (rows) => rows.appendBlocks(6, [1]),
      code: 'invalid_row',
      path: 'blockTableRows.appendBlocks(row)',
    },
    { name: 'truncate longer', run: (rows, r) => rows.truncate(r, 3), code: 'out_of_range', path: 'rows[0].length' },
    { name: 'truncate negative', run: (rows, r) => rows.truncate(r, -1), code: 'out_of_range', path: 'rows[0].length' },
    {
      name: 'truncate fractional',
      run: (rows, r) => rows.truncate(r, 0.5),
      code: 'not_integer',
      path: 'rows[0].length',
    },
    {
      name: 'release a free row',
      run: (rows) => rows.releaseRow(2),
      code: 'row_not_acquired',
      path: 'blockTableRows.releaseRow(row)',
    },
    {
      name: 'release row 1.5',
      run: (rows) => rows.releaseRow(1.5),
      code: 'invalid_row',
      path: 'blockTableRows.releaseRow(row)',
    },
    {
      name: 'length of a free row',
      run: (rows) => rows.rowLength(5),
      code: 'row_not_acquired',
      path: 'blockTableRows.rowLength(row)',
    },
  ];
  it.each(bad)('rejects $name ($code at $path) and changes nothing', ({ run, code, path }) => {
    const mirror = createHostMirror(caps);
    const rows = mirror.blockTableRows;
    const r = rows.acquireRow();
    rows.appendBlocks(r, [7, 8]);
    mirror.write({ requests: [{ numNewTokens: 1, numComputedTokens: 4, blockTableRow: r }] });
    const staging = mirror.buffer.slice();
    expectError(() => run(rows, r), code, path);
    expect(Array.from(rows.blockIds(r))).toEqual([7, 8]);
    expect(rows.numAcquired).toBe(1);
    expect(mirror.buffer).toEqual(staging);
  });
});

describe('block-table rows: build', () => {
  it('writes a row request exactly like the same blockIds request, in any batch order', () => {
    const mirror = createHostMirror(caps);
    const twin = createHostMirror(caps);
    const rows = mirror.blockTableRows;
    const a = rows.acquireRow();
    const b = rows.acquireRow();
    rows.appendBlocks(a, [10, 11]);
    rows.appendBlocks(b, [20]);
    const steps: MetadataBatch[] = [
      {
        requests: [
          { numNewTokens: 3, numComputedTokens: 2, blockTableRow: a },
          { numNewTokens: 1, numComputedTokens: 0, blockTableRow: b },
        ],
      },
      // swapped order, and a blockIds request in the middle (mixed batch)
      {
        requests: [
          { numNewTokens: 1, numComputedTokens: 0, blockTableRow: b },
          { numNewTokens: 2, numComputedTokens: 3, blockIds: [30, 31] },
          { numNewTokens: 1, numComputedTokens: 5, blockTableRow: a },
        ],
      },
      { requests: [{ numNewTokens: 1, numComputedTokens: 6, blockTableRow: a }] },
    ];
    for (const batch of steps) {
      const s1 = mirror.write(batch, { padToReqs: 4 });
      const s2 = twin.write(
        logical(batch, (r) => rows.blockIds(r)),
        { padToReqs: 4 },
      );
      expect(s1).toEqual(s2);
      expect(mirror.buffer).toEqual(twin.buffer);
      const e = recompute(batch, caps, (r) => rows.blockIds(r));
      expect(mirror.blockTable).toEqual(e.blockTable);
      expect(mirror.slotMapping).toEqual(e.slotMapping);
    }
  });

  it('copies appended ids, clears truncated ones, and picks up a released-then-reacquired row from scratch', () => {
    const mirror = createHostMirror(caps);
    const rows = mirror.blockTableRows;
    const a = rows.acquireRow();
    rows.appendBlocks(a, [1, 2, 3]);
    const step = (n: number) =>
      mirror.write({ requests: [{ numNewTokens: 1, numComputedTokens: n - 1, blockTableRow: a }] });
    step(9);
    expect(Array.from(mirror.blockTable.subarray(0, 5))).toEqual([1, 2, 3, -1, -1]);
    rows.appendBlocks(a, [4]);
    // Until the next step the staging row is untouched (an in-flight copy may be reading it).
    expect(Array.from(mirror.blockTable.subarray(0, 5))).toEqual([1, 2, 3, -1, -1]);
    step(13);
    expect(Array.from(mirror.blockTable.subarray(0, 5))).toEqual([1, 2, 3, 4, -1]);
    expect(mirror.slotMapping[0]).toBe(4 * 4);
    rows.truncate(a, 1);
    rows.appendBlocks(a, [9, 8]);
    step(10);
    expect(Array.from(mirror.blockTable.subarray(0, 5))).toEqual([1, 9, 8, -1, -1]);
    rows.releaseRow(a);
    expect(rows.acquireRow()).toBe(a);
    rows.appendBlocks(a, [5]);
    step(2);
    expect(Array.from(mirror.blockTable.subarray(0, 5))).toEqual([5, -1, -1, -1, -1]);
  });

  const invalid: { name: string; requests: (a: number, b: number) => MetadataRequest[]; code: string; path: string }[] =
    [
      {
        name: 'a free row',
        requests: () => [{ numNewTokens: 1, numComputedTokens: 0, blockTableRow: 4 }],
        code: 'row_not_acquired',
        path: 'requests[0].blockTableRow',
      },
      {
        name: 'row -1',
        requests: () => [{ numNewTokens: 1, numComputedTokens: 0, blockTableRow: -1 }],
        code: 'invalid_row',
        path: 'requests[0].blockTableRow',
      },
      {
        name: 'row maxNumReqs',
        requests: () => [{ numNewTokens: 1, numComputedTokens: 0, blockTableRow: 6 }],
        code: 'invalid_row',
        path: 'requests[0].blockTableRow',
      },
      {
        name: 'row "0"',
        requests: () => [{ numNewTokens: 1, numComputedTokens: 0, blockTableRow: '0' as unknown as number }],
        code: 'invalid_row',
        path: 'requests[0].blockTableRow',
      },
      {
        name: 'a row twice',
        requests: (a, b) => [
          { numNewTokens: 1, numComputedTokens: 0, blockTableRow: a },
          { numNewTokens: 1, numComputedTokens: 0, blockTableRow: b },
          { numNewTokens: 1, numComputedTokens: 1, blockTableRow: a },
        ],
        code: 'duplicate_row',
        path: 'requests[2].blockTableRow',
      },
      {
        name: 'too short a row (1 id, seqLen 9)',
        requests: (_a, b) => [{ numNewTokens: 1, numComputedTokens: 8, blockTableRow: b }],
        code: 'not_enough_blocks',
        path: 'requests[0].blockTableRow',
      },
      {
        name: 'both blockIds and blockTableRow',
        requests: (a) => [
          { numNewTokens: 1, numComputedTokens: 0, blockIds: [1], blockTableRow: a } as unknown as MetadataRequest,
        ],
        code: 'invalid_batch',
        path: 'requests[0].blockTableRow',
      },
      {
        name: 'neither',
        requests: () => [{ numNewTokens: 1, numComputedTokens: 0 } as unknown as MetadataRequest],
        code: 'invalid_batch',
        path: 'requests[0]',
      },
      {
        name: 'a bad request after a valid row one',
        requests: (a) => [
          { numNewTokens: 1, numComputedTokens: 0, blockTableRow: a },
          { numNewTokens: -1, numComputedTokens: 0, blockIds: [1] },
        ],
        code: 'out_of_range',
        path: 'requests[1].numNewTokens',
      },
    ];
  it.each(invalid)('rejects $name ($code at $path) before writing anything', ({ requests, code, path }) => {
    const mirror = createHostMirror(caps);
    const rows = mirror.blockTableRows;
    const a = rows.acquireRow();
    const b = rows.acquireRow();
    rows.appendBlocks(a, [1, 2]);
    rows.appendBlocks(b, [3]);
    mirror.write({
      requests: [
        { numNewTokens: 2, numComputedTokens: 1, blockTableRow: b },
        { numNewTokens: 1, numComputedTokens: 5, blockTableRow: a },
      ],
    });
    rows.appendBlocks(a, [7]);
    const staging = mirror.buffer.slice();
    expectError(() => mirror.write({ requests: requests(a, b) }), code, path);
    expect(mirror.buffer).toEqual(staging);
    // The rejected step left the links intact: the next valid step is still exact.
    const batch: MetadataBatch = {
      requests: [
        { numNewTokens: 1, numComputedTokens: 9, blockTableRow: a },
        { numNewTokens: 1, numComputedTokens: 2, blockTableRow: b },
      ],
    };
    mirror.write(batch);
    const e = recompute(batch, caps, (r) => rows.blockIds(r));
    expect(mirror.blockTable).toEqual(e.blockTable);
    expect(mirror.slotMapping).toEqual(e.slotMapping);
  });

  it('builder.blockTableRows feeds build, and the device equals the mirror', () => {
    const attention = recordingAttention({
      maxNumReqs: 6,
      maxNumTokens: 40,
      pageSize: 4,
      numPages: 50,
      maxNumPagesPerReq: 5,
    });
    let memory: FakeMemory | undefined;
    const builder = createBuilderWithMemory({ ...caps, attention, graphConfig: graphConfig() }, (bytes) => {
      memory = fakeMemory(bytes);
      return memory;
    });
    const stream = fakeStream();
    const r = builder.blockTableRows.acquireRow();
    builder.blockTableRows.appendBlocks(r, [3, 4]);
    const m = builder.build({ requests: [{ numNewTokens: 5, numComputedTokens: 0, blockTableRow: r }] }, { stream });
    expect(m.numActualTokens).toBe(5);
    expect(memory!.deviceInt32).toEqual(builder.host.buffer);
    expect(Array.from(builder.host.slotMapping.subarray(0, 5))).toEqual([12, 13, 14, 15, 16]);
  });
});

// ---- property: random row operations and builds against a model ----

type Op =
  | { kind: 'acquire' }
  | { kind: 'append'; pick: number; ids: number[]; badAt: number; bad: number }
  | { kind: 'truncate'; pick: number; frac: number }
  | { kind: 'release'; pick: number }
  | {
      kind: 'build';
      stable: boolean;
      grow: (number | null)[];
      picks: number[];
      reqs: { fill: number; q: number; asIds: 0 | 1 | 2 }[];
      extraIds: number[][];
      padReqs: number;
      padTokens: number;
      replay: boolean;
      corrupt: number;
    };

const blockId = fc.integer({ min: 0, max: caps.numBlocks - 1 });
// Weighted toward what a decode loop does (append, build with rows in a stable order), so that
// appends between steps of a row that keeps its batch index are common.
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'acquire' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      pick: fc.nat(),
      ids: fc.array(blockId, { minLength: 1, maxLength: 2 }),
      badAt: fc.integer({ min: -8, max: 1 }),
      bad: fc.constantFrom(-1, caps.numBlocks, 2.5, Number.NaN),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      pick: fc.nat(),
      frac: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('build' as const),
      stable: fc.boolean(),
      // A decode loop's appends: one new block for some live rows right before the step.
      grow: fc.array(fc.option(blockId, { nil: null }), { minLength: caps.maxNumReqs, maxLength: caps.maxNumReqs }),
      picks: fc.array(fc.nat(), { maxLength: caps.maxNumReqs }),
      reqs: fc.array(
        fc.record({
          fill: fc.double({ min: 0, max: 1, noNaN: true }),
          q: fc.nat(6),
          asIds: fc.constantFrom(0 as const, 0 as const, 0 as const, 1 as const, 2 as const),
        }),
        { minLength: caps.maxNumReqs, maxLength: caps.maxNumReqs },
      ),
      extraIds: fc.array(fc.array(blockId, { minLength: 1, maxLength: caps.maxBlocksPerReq }), { maxLength: 2 }),
      padReqs: fc.nat(caps.maxNumReqs),
      padTokens: fc.nat(caps.maxNumTokens),
      replay: fc.boolean(),
      corrupt: fc.integer({ min: -10, max: 2 }),
    }),
  },
);

describe('property: block-table rows over random operations', () => {
  it('mirror == recomputation == the blockIds path, device == mirror; rejected calls change nothing', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 40 }), (ops) => {
        const attention = recordingAttention({
          maxNumReqs: 6,
          maxNumTokens: 40,
          pageSize: 4,
          numPages: 50,
          maxNumPagesPerReq: 5,
        });
        let memory: FakeMemory | undefined;
        const builder = createBuilderWithMemory({ ...caps, attention, graphConfig: graphConfig() }, (bytes) => {
          memory = fakeMemory(bytes);
          return memory;
        });
        const twin = createHostMirror(caps);
        const stream = fakeStream();
        stream.capturing = true;
        builder.build({ requests: [] }, { stream, padToReqs: caps.maxNumReqs });
        stream.capturing = false;
        const rows = builder.blockTableRows;
        const model = new Map<number, number[]>();
        const acquired = () => [...model.keys()].sort((x, y) => x - y);
        for (const o of ops) {
          let before = builder.host.buffer.slice();
          if (o.kind === 'acquire') {
            if (model.size === caps.maxNumReqs) {
              expect(() => rows.acquireRow()).toThrow(MetadataError);
            } else {
              const r = rows.acquireRow();
              expect(model.has(r)).toBe(false);
              model.set(r, []);
            }
          } else if (o.kind === 'build') {
            const live = acquired();
            live.forEach((r, k) => {
              const id = o.grow[k];
              const ids = model.get(r)!;
              if (id === null || id === undefined || ids.length === caps.maxBlocksPerReq) return;
              // Both ways a decode loop appends one page.
              if (k % 2 === 0) rows.appendBlock(r, id);
              else rows.appendBlocks(r, [id]);
              ids.push(id);
            });
            before = builder.host.buffer.slice();
            const used = new Set<number>();
            const requests: MetadataRequest[] = [];
            let tokens = 0;
            // Stable: every acquired row in row order (a persistent batch: rows keep their batch
            // index step after step); else random rows in random order.
            const picks = o.stable ? live.map((_, k) => k) : o.picks;
            for (const p of picks) {
              const k = requests.length;
              const spec = o.reqs[k]!;
              let ids: number[];
              let row = -1;
              if (spec.asIds === 2 || live.length === 0) {
                ids = o.extraIds[k % Math.max(1, o.extraIds.length)] ?? [];
              } else {
                row = live[p % live.length]!;
                if (used.has(row)) continue;
                used.add(row);
                ids = model.get(row)!;
              }
              const seqLen = Math.floor(spec.fill * ids.length * caps.blockSize);
              const q = Math.min(spec.q, seqLen, caps.maxNumTokens - tokens);
              tokens += q;
              const counts = { numNewTokens: q, numComputedTokens: seqLen - q };
              if (row >= 0 && spec.asIds === 0) requests.push({ ...counts, blockTableRow: row });
              else requests.push({ ...counts, blockIds: spec.asIds === 1 ? Int32Array.from(ids) : ids.slice() });
            }
            const padToReqs = Math.max(requests.length, 1, o.padReqs);
            const padToTokens = Math.max(tokens, o.padTokens);
            const batch: MetadataBatch = { requests };
            if (o.corrupt >= 0 && o.corrupt < requests.length) {
              // A request naming a free row (or a duplicate): rejected, nothing written.
              const free = [...Array(caps.maxNumReqs).keys()].find((r) => !model.has(r));
              const dupe = requests.find((r) => r.blockTableRow !== undefined)?.blockTableRow;
              const bad = o.corrupt % 2 === 0 && free !== undefined ? free : (dupe ?? free!);
              requests.splice(o.corrupt + 1, 0, { numNewTokens: 0, numComputedTokens: 0, blockTableRow: bad });
              expect(() =>
                builder.build(batch, { stream, padToReqs: Math.max(padToReqs, requests.length), padToTokens }),
              ).toThrow(MetadataError);
              expect(builder.host.buffer).toEqual(before);
              continue;
            }
            if (o.replay) {
              builder.stage(batch, { padToReqs, padToTokens });
              memory!.launch(stream);
            } else {
              builder.build(batch, { stream, padToReqs, padToTokens });
            }
            const e = recompute(batch, caps, (r) => model.get(r)!);
            expect(builder.host.queryStartLoc).toEqual(e.queryStartLoc);
            expect(builder.host.seqLens).toEqual(e.seqLens);
            expect(builder.host.blockTable).toEqual(e.blockTable);
            expect(builder.host.slotMapping).toEqual(e.slotMapping);
            expect(builder.host.positions).toEqual(e.positions);
            twin.write(
              logical(batch, (r) => model.get(r)!),
              { padToReqs, padToTokens },
            );
            expect(builder.host.buffer).toEqual(twin.buffer);
            expect(memory!.deviceInt32).toEqual(builder.host.buffer);
            continue;
          } else {
            const live = acquired();
            if (live.length === 0) continue;
            const r = live[o.pick % live.length]!;
            const ids = model.get(r)!;
            if (o.kind === 'append') {
              const appended = o.ids.slice();
              const rejected = o.badAt >= 0 || ids.length + appended.length > caps.maxBlocksPerReq;
              if (o.badAt >= 0) appended.splice(o.badAt, 0, o.bad);
              if (rejected) expect(() => rows.appendBlocks(r, appended)).toThrow(MetadataError);
              else {
                rows.appendBlocks(r, appended);
                ids.push(...appended);
              }
            } else if (o.kind === 'truncate') {
              const length = Math.floor(o.frac * ids.length);
              rows.truncate(r, length);
              ids.length = length;
            } else {
              rows.releaseRow(r);
              model.delete(r);
            }
          }
          // Row operations never touch the staging memory.
          expect(builder.host.buffer).toEqual(before);
          for (const [r, ids] of model) expect(Array.from(rows.blockIds(r))).toEqual(ids);
          expect(rows.numAcquired).toBe(model.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
