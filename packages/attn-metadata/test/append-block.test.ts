// rows.appendBlock(row, id), the decode path's one-page append, against the existing
// appendBlocks(row, [id]); and the rows' capacity, maxBlocksPerReq.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { MetadataError } from '../src/errors.js';
import { createHostMirror } from '../src/host-mirror.js';
import type { MetadataCapacities, MetadataRequest } from '../src/types.js';
import { caughtMetadataError } from './support/caught.js';
import { fakeMemory, graphConfig, recordingAttention } from './support/fakes.js';
import { recompute } from './support/reference.js';

const caps: MetadataCapacities = { maxNumReqs: 4, maxNumTokens: 24, blockSize: 4, numBlocks: 30, maxBlocksPerReq: 5 };

describe('rows.maxBlocksPerReq', () => {
  it('is the row capacity, on the host mirror and on the builder', () => {
    expect(createHostMirror(caps).blockTableRows.maxBlocksPerReq).toBe(5);
    expect(createHostMirror({ ...caps, maxBlocksPerReq: 1 }).blockTableRows.maxBlocksPerReq).toBe(1);
    const attention = recordingAttention({
      maxNumReqs: 4,
      maxNumTokens: 24,
      pageSize: 4,
      numPages: 30,
      maxNumPagesPerReq: 7,
    });
    const builder = createBuilderWithMemory(
      { ...caps, maxBlocksPerReq: 7, attention, graphConfig: graphConfig() },
      fakeMemory,
    );
    expect(builder.blockTableRows.maxBlocksPerReq).toBe(7);
  });

  it('is exactly how many ids a row takes before too_many_blocks', () => {
    const rows = createHostMirror(caps).blockTableRows;
    const r = rows.acquireRow();
    for (let k = 0; k < rows.maxBlocksPerReq; k++) rows.appendBlock(r, k);
    expect(rows.rowLength(r)).toBe(rows.maxBlocksPerReq);
    expect(caughtMetadataError(() => rows.appendBlock(r, 0)).code).toBe('too_many_blocks');
  });
});

describe('rows.appendBlock', () => {
  it('appends one id after the existing ones, like appendBlocks', () => {
    const rows = createHostMirror(caps).blockTableRows;
    const r = rows.acquireRow();
    rows.appendBlocks(r, [4, 9]);
    rows.appendBlock(r, 29);
    rows.appendBlock(r, 0);
    expect(Array.from(rows.blockIds(r))).toEqual([4, 9, 29, 0]);
    rows.truncate(r, 1);
    rows.appendBlock(r, 7);
    expect(Array.from(rows.blockIds(r))).toEqual([4, 7]);
  });

  const bad: { name: string; row?: number; id: unknown; fill?: number; code: string; path: string; allowed: RegExp }[] =
    [
      {
        name: 'id = numBlocks',
        id: 30,
        code: 'invalid_block_id',
        path: 'rows[0].blockId',
        allowed: /^integer in \[0, 30\) \(numBlocks\)$/,
      },
      { name: 'negative id', id: -1, code: 'invalid_block_id', path: 'rows[0].blockId', allowed: /\[0, 30\)/ },
      { name: 'Infinity', id: Infinity, code: 'invalid_block_id', path: 'rows[0].blockId', allowed: /\[0, 30\)/ },
      { name: 'fractional id', id: 1.5, code: 'not_integer', path: 'rows[0].blockId', allowed: /\[0, 30\)/ },
      { name: 'NaN', id: Number.NaN, code: 'not_integer', path: 'rows[0].blockId', allowed: /\[0, 30\)/ },
      { name: 'a string', id: '3', code: 'not_integer', path: 'rows[0].blockId', allowed: /\[0, 30\)/ },
      { name: 'a bigint', id: 3n, code: 'not_integer', path: 'rows[0].blockId', allowed: /\[0, 30\)/ },
      { name: 'undefined', id: undefined, code: 'not_integer', path: 'rows[0].blockId', allowed: /\[0, 30\)/ },
      {
        name: 'a full row',
        id: 1,
        fill: 3,
        code: 'too_many_blocks',
        path: 'rows[0].ids',
        allowed: /^at most 0 more block ids \(row holds 5 of maxBlocksPerReq 5\)$/,
      },
      {
        name: 'a free row',
        row: 1,
        id: 1,
        code: 'row_not_acquired',
        path: 'blockTableRows.appendBlock(row)',
        allowed: /acquired row/,
      },
      {
        name: 'row -1',
        row: -1,
        id: 1,
        code: 'invalid_row',
        path: 'blockTableRows.appendBlock(row)',
        allowed: /^integer in \[0, 4\) \(maxNumReqs\)$/,
      },
      {
        name: 'row maxNumReqs',
        row: 4,
        id: 1,
        code: 'invalid_row',
        path: 'blockTableRows.appendBlock(row)',
        allowed: /\[0, 4\)/,
      },
      {
        name: 'row 0.5',
        row: 0.5,
        id: 1,
        code: 'invalid_row',
        path: 'blockTableRows.appendBlock(row)',
        allowed: /\[0, 4\)/,
      },
    ];
  it.each(bad)(
    'rejects $name ($code at $path, allowed range named) and changes nothing',
    ({ row, id, fill, code, path, allowed }) => {
      const mirror = createHostMirror(caps);
      const rows = mirror.blockTableRows;
      const r = rows.acquireRow();
      rows.appendBlocks(r, [7, 8]);
      for (let k = 0; k < (fill ?? 0); k++) rows.appendBlock(r, 10 + k);
      mirror.write({ requests: [{ numNewTokens: 1, numComputedTokens: 4, blockTableRow: r }] });
      const staging = mirror.buffer.slice();
      const ids = Array.from(rows.blockIds(r));
      const err = caughtMetadataError(() => rows.appendBlock(row ?? r, id as number));
      expect(err.code).toBe(code);
      expect(err.path).toBe(path);
      expect(err.allowed).toMatch(allowed);
      expect(err.message).toContain(err.allowed);
      expect(Array.from(rows.blockIds(r))).toEqual(ids);
      expect(rows.numAcquired).toBe(1);
      expect(mirror.buffer).toEqual(staging);
      // The row still works: the next append and step land where they would have.
      if (ids.length < caps.maxBlocksPerReq) {
        rows.appendBlock(r, 11);
        mirror.write({ requests: [{ numNewTokens: 1, numComputedTokens: 8, blockTableRow: r }] });
        expect(Array.from(mirror.blockTable.subarray(0, 5))).toEqual([...ids, 11, -1, -1].slice(0, 5));
      }
    },
  );
});

// ---- property: appendBlock(row, id) == appendBlocks(row, [id]) over random sequences ----

type Op =
  | { kind: 'acquire' }
  | { kind: 'append'; pick: number; id: number; badRow: boolean }
  | { kind: 'truncate'; pick: number; frac: number }
  | { kind: 'release'; pick: number }
  | { kind: 'write'; fills: number[]; order: number[]; padReqs: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'acquire' as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      pick: fc.nat(),
      // Mostly valid ids; sometimes out of range, fractional or not a number at all.
      id: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: caps.numBlocks - 1 }) },
        { weight: 1, arbitrary: fc.constantFrom(-1, caps.numBlocks, 2 ** 31, 0.5, Number.NaN, -Infinity) },
      ),
      badRow: fc.nat(9).map((n) => n === 0),
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
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      fills: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
        minLength: caps.maxNumReqs,
        maxLength: caps.maxNumReqs,
      }),
      order: fc.shuffledSubarray([0, 1, 2, 3]),
      padReqs: fc.nat(caps.maxNumReqs),
    }),
  },
);

describe('property: appendBlock equals appendBlocks of one id', () => {
  it('same rows, same errors (code, allowed range, path), same staged bytes, step after step', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 60 }), (ops) => {
        const one = createHostMirror(caps); // appendBlock
        const many = createHostMirror(caps); // appendBlocks(row, [id])
        const a = one.blockTableRows;
        const b = many.blockTableRows;
        const live: number[] = [];
        for (const o of ops) {
          if (o.kind === 'acquire') {
            if (live.length === caps.maxNumReqs) continue;
            const r = a.acquireRow();
            expect(b.acquireRow()).toBe(r);
            live.push(r);
          } else if (o.kind === 'write') {
            const requests: MetadataRequest[] = [];
            let tokens = 0;
            for (const k of o.order) {
              if (k >= live.length) continue;
              const row = live[k]!;
              const seqLen = Math.floor(o.fills[k]! * a.rowLength(row) * caps.blockSize);
              const q = Math.min(1, seqLen, caps.maxNumTokens - tokens);
              tokens += q;
              requests.push({ numNewTokens: q, numComputedTokens: seqLen - q, blockTableRow: row });
            }
            const padding = { padToReqs: Math.max(requests.length, 1, o.padReqs) };
            expect(one.write({ requests }, padding)).toEqual(many.write({ requests }, padding));
            expect(one.buffer).toEqual(many.buffer);
            const e = recompute({ requests }, caps, (r) => a.blockIds(r));
            expect(one.blockTable).toEqual(e.blockTable);
            expect(one.slotMapping).toEqual(e.slotMapping);
          } else if (live.length > 0 || (o.kind === 'append' && o.badRow)) {
            // A bad row: out of range, or a free one.
            const notLive = [-1, caps.maxNumReqs, ...[0, 1, 2, 3].filter((x) => !live.includes(x))];
            const r = o.kind === 'append' && o.badRow ? notLive[o.pick % notLive.length]! : live[o.pick % live.length]!;
            if (o.kind === 'append') {
              const before = one.buffer.slice();
              let e1: unknown;
              let e2: unknown;
              try {
                a.appendBlock(r, o.id);
              } catch (err) {
                e1 = err;
              }
              try {
                b.appendBlocks(r, [o.id]);
              } catch (err) {
                e2 = err;
              }
              expect(e1 === undefined).toBe(e2 === undefined);
              if (e1 !== undefined) {
                const x = e1 as MetadataError;
                const y = e2 as MetadataError;
                expect(x).toBeInstanceOf(MetadataError);
                expect(y).toBeInstanceOf(MetadataError);
                expect(x.code).toBe(y.code);
                expect(x.allowed).toBe(y.allowed);
                // One difference: a bad id is named as appendBlock's argument, not as ids[0].
                expect(x.path).toBe(
                  y.path.replace(/\.ids\[0\]$/, '.blockId').replace('appendBlocks(row)', 'appendBlock(row)'),
                );
              }
              // Appending never touches the staging buffer (an in-flight copy may read it).
              expect(one.buffer).toEqual(before);
            } else if (o.kind === 'truncate') {
              const length = Math.floor(o.frac * a.rowLength(r));
              a.truncate(r, length);
              b.truncate(r, length);
            } else {
              a.releaseRow(r);
              b.releaseRow(r);
              live.splice(live.indexOf(r), 1);
            }
          }
          expect(a.numAcquired).toBe(b.numAcquired);
          for (const r of live) expect(a.blockIds(r)).toEqual(b.blockIds(r));
        }
      }),
      { numRuns: 300 },
    );
  });
});
