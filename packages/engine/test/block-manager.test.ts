import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockManager } from '../src/block-manager.js';
import { CacheFullError } from '../src/errors.js';
import { withRows } from './helpers/block-table-rows.js';

describe('BlockManager', () => {
  it('allocates pages as a sequence grows and frees them all on release', () => {
    const bm = new BlockManager(withRows({ numBlocks: 8, blockSize: 4 }));
    bm.reserve(1, 10);
    expect(bm.numAvailableBlocks).toBe(5);
    expect(bm.numFreeBlocks).toBe(8);
    expect(bm.grow(1, 1)).toHaveLength(1);
    expect(bm.grow(1, 4)).toHaveLength(1);
    expect(bm.grow(1, 5)).toHaveLength(2);
    expect(bm.grow(1, 3)).toHaveLength(2); // never shrinks
    expect(bm.numFreeBlocks).toBe(6);
    expect(bm.numAvailableBlocks).toBe(5);
    bm.release(1);
    expect(bm.numFreeBlocks).toBe(8);
    expect(bm.numAvailableBlocks).toBe(8);
    expect(bm.has(1)).toBe(false);
  });

  it('refuses a reservation that does not fit with a typed error naming the numbers', () => {
    const bm = new BlockManager(withRows({ numBlocks: 4, blockSize: 16 }));
    bm.reserve(1, 48);
    expect(bm.canReserve(17)).toBe(false);
    const err = (() => {
      try {
        bm.reserve(2, 17);
      } catch (e) {
        return e;
      }
    })() as CacheFullError;
    expect(err).toBeInstanceOf(CacheFullError);
    expect(err.neededBlocks).toBe(2);
    expect(err.availableBlocks).toBe(1);
    expect(err.message).toMatch(/needs 2 KV-cache blocks but only 1/);
    expect(bm.numSequences).toBe(1);
  });

  it('growing past the reservation takes only unreserved pages', () => {
    const bm = new BlockManager(withRows({ numBlocks: 3, blockSize: 1 }));
    bm.reserve(1, 1);
    bm.reserve(2, 2);
    expect(() => bm.grow(1, 2)).toThrow(CacheFullError);
    expect(bm.blockIds(1)).toHaveLength(0);
  });

  it.each([
    [{ numBlocks: 0, blockSize: 16 }, /options.numBlocks: out of range .*integer in \[1,/],
    [{ numBlocks: 1.5, blockSize: 16 }, /options.numBlocks/],
    [{ numBlocks: 4, blockSize: 0 }, /options.blockSize/],
  ])('rejects bad options %j', (opts, message) => {
    expect(() => new BlockManager({ ...opts, rows: withRows({ numBlocks: 4, blockSize: 16 }).rows })).toThrow(message);
  });

  it('rejects a missing rows store with an InvalidArgumentError naming it', () => {
    expect(() => new BlockManager({ numBlocks: 4, blockSize: 16 } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'options.rows' }),
    );
  });

  it('errors on unknown and double-reserved sequences', () => {
    const bm = new BlockManager(withRows({ numBlocks: 4, blockSize: 4 }));
    expect(() => bm.grow(9, 1)).toThrow(/sequence 9: holds no KV-cache blocks/);
    expect(() => bm.release(9)).toThrow(expect.objectContaining({ code: 'unknown_sequence' }));
    bm.reserve(1, 4);
    expect(() => bm.reserve(1, 4)).toThrow(expect.objectContaining({ code: 'duplicate_sequence' }));
  });

  it('keeps its invariants over random reserve/grow/release sequences (no leak, no double use)', () => {
    type Op = { kind: 'reserve' | 'grow' | 'release'; seq: number; tokens: number };
    const op = fc.record({
      kind: fc.constantFrom('reserve', 'grow', 'release') as fc.Arbitrary<Op['kind']>,
      seq: fc.integer({ min: 0, max: 7 }),
      tokens: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(op, { maxLength: 80 }),
        (numBlocks, blockSize, ops) => {
          const options = withRows({ numBlocks, blockSize });
          const bm = new BlockManager(options);
          const reserved = new Map<number, number>();
          for (const o of ops) {
            try {
              if (o.kind === 'reserve') {
                const ok = bm.canReserve(o.tokens) && !bm.has(o.seq);
                if (bm.has(o.seq)) continue;
                bm.reserve(o.seq, o.tokens);
                expect(ok).toBe(true);
                reserved.set(o.seq, o.tokens);
              } else if (o.kind === 'grow') {
                if (!bm.has(o.seq)) continue;
                // The scheduler grows only within the reservation: that must always succeed.
                const limit = reserved.get(o.seq) as number;
                const ids = bm.grow(o.seq, Math.min(o.tokens, limit));
                expect(ids.length).toBeGreaterThanOrEqual(Math.ceil(Math.min(o.tokens, limit) / blockSize));
              } else {
                if (!bm.has(o.seq)) continue;
                bm.release(o.seq);
                reserved.delete(o.seq);
              }
            } catch (e) {
              expect(e).toBeInstanceOf(CacheFullError);
              expect(o.kind).toBe('reserve');
            }
            // Invariants: every page is free or owned by exactly one sequence; reservations fit.
            const owned = [...reserved.keys()].flatMap((s) => [...bm.blockIds(s)]);
            expect(new Set(owned).size).toBe(owned.length);
            expect(owned.length + bm.numFreeBlocks).toBe(numBlocks);
            for (const id of owned) expect(id >= 0 && id < numBlocks).toBe(true);
            expect(bm.numAvailableBlocks).toBeGreaterThanOrEqual(0);
            // One block-table row per reservation, holding exactly the sequence's pages.
            expect(options.rows.numAcquired).toBe(reserved.size);
            for (const s of reserved.keys())
              expect([...options.rows.blockIds(bm.blockTableRow(s))]).toEqual([...bm.blockIds(s)]);
          }
          for (const s of [...reserved.keys()]) bm.release(s);
          expect(bm.numFreeBlocks).toBe(numBlocks);
          expect(bm.numAvailableBlocks).toBe(numBlocks);
          expect(options.rows.numAcquired).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
