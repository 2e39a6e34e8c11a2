import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBlockIdRangeCheck } from '../src/block-id-range-check.js';
import { MetadataError } from '../src/errors.js';
import { createHostMirrorWith } from '../src/host-mirror.js';
import type { MetadataBatch } from '../src/types.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The plain rule, one id at a time. */
function allInRange(rows: Int32Array[], numBlocks: number): boolean {
  return rows.every((row) => row.every((b) => b >= 0 && b < numBlocks));
}

function run(kind: 'wasm' | 'js', rows: Int32Array[], numBlocks: number, maxBlocksPerReq: number): boolean {
  const check = createBlockIdRangeCheck(numBlocks, maxBlocksPerReq, kind);
  expect(check.kind).toBe(kind);
  check.reset();
  for (const row of rows) check.add(row);
  return check.allInRange();
}

describe('block id range check: wasm SIMD and the JS fallback agree with the rule', () => {
  it('runs wasm SIMD on Node >= 20 (the JS check is the fallback, not the default)', () => {
    expect(createBlockIdRangeCheck(10, 4).kind).toBe('wasm');
  });

  // Ids near the edges: int32 extremes, the negative ids an unsigned compare must catch, 0,
  // numBlocks - 1 (valid) and numBlocks (not).
  const edge = (numBlocks: number) =>
    fc.oneof(
      fc.constantFrom(
        INT32_MIN,
        INT32_MIN + 1,
        -2,
        -1,
        0,
        1,
        numBlocks - 1,
        numBlocks,
        numBlocks + 1,
        INT32_MAX - 1,
        INT32_MAX,
      ),
      fc.integer({ min: 0, max: numBlocks - 1 }),
      fc.integer({ min: 0, max: numBlocks - 1 }),
      fc.integer({ min: 0, max: numBlocks - 1 }),
    );

  it('on random rows of every length (short rows, SIMD bodies, tails) with edge values', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: INT32_MAX }).chain((numBlocks) =>
          fc.tuple(
            fc.constant(numBlocks),
            fc.array(
              fc.array(edge(numBlocks), { maxLength: 70 }).map((a) => Int32Array.from(a)),
              { maxLength: 8 },
            ),
          ),
        ),
        ([numBlocks, rows]) => {
          const expected = allInRange(rows, numBlocks);
          expect(run('wasm', rows, numBlocks, 70)).toBe(expected);
          expect(run('js', rows, numBlocks, 70)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    { name: 'numBlocks', value: (nb: number) => nb },
    { name: '-1', value: () => -1 },
    { name: 'INT32_MIN', value: () => INT32_MIN },
    { name: 'INT32_MAX', value: () => INT32_MAX },
  ])('finds one $name at every position of rows that span several scratch chunks', ({ value }) => {
    const numBlocks = 1000;
    // 3 x 2^16 + 5 ids in rows of 257: the wasm scratch (2^16 ids) is flushed mid-batch.
    const rows = Array.from({ length: 766 }, (_, i) => Int32Array.from({ length: 257 }, (_, j) => (i + j) % numBlocks));
    for (const at of [0, 1, 15, 16, 17, 255, 256, 65_535, 65_536, 65_537, 131_000, 196_861]) {
      const r = Math.floor(at / 257);
      const j = at % 257;
      const saved = rows[r]![j]!;
      rows[r]![j] = value(numBlocks);
      expect(run('wasm', rows, numBlocks, 512)).toBe(false);
      expect(run('js', rows, numBlocks, 512)).toBe(false);
      rows[r]![j] = saved;
    }
    expect(run('wasm', rows, numBlocks, 512)).toBe(true);
    expect(run('js', rows, numBlocks, 512)).toBe(true);
  });

  it('accepts exactly [0, numBlocks) with numBlocks = INT32_MAX, and rows longer than one chunk', () => {
    const row = Int32Array.from({ length: 70_000 }, (_, j) => (j % 2 === 0 ? 0 : INT32_MAX - 1));
    expect(run('wasm', [row], INT32_MAX, 70_000)).toBe(true);
    row[69_999] = INT32_MAX;
    expect(run('wasm', [row], INT32_MAX, 70_000)).toBe(false);
    expect(run('js', [row], INT32_MAX, 70_000)).toBe(false);
  });

  it('reset() forgets a bad batch; padding zeros of an earlier batch never leak into the next', () => {
    const check = createBlockIdRangeCheck(8, 64, 'wasm');
    check.add(Int32Array.from({ length: 40 }, () => 9));
    expect(check.allInRange()).toBe(false);
    check.reset();
    check.add(Int32Array.from({ length: 33 }, () => 7));
    expect(check.allInRange()).toBe(true);
    check.reset();
    expect(check.allInRange()).toBe(true);
  });
});

describe('host mirror: the wasm and JS range checks give identical results and identical errors', () => {
  const caps = { maxNumReqs: 6, maxNumTokens: 64, blockSize: 4, numBlocks: 50, maxBlocksPerReq: 40 };

  function outcome(kind: 'wasm' | 'js', batches: MetadataBatch[]): unknown[] {
    const mirror = createHostMirrorWith(caps, undefined, kind);
    return batches.map((batch) => {
      try {
        const step = mirror.write(batch);
        return { step, buffer: Array.from(mirror.buffer) };
      } catch (err) {
        expect(err).toBeInstanceOf(MetadataError);
        const e = err as MetadataError;
        return { code: e.code, path: e.path, value: e.value, message: e.message, buffer: Array.from(mirror.buffer) };
      }
    });
  }

  const id = fc.oneof(
    { weight: 20, arbitrary: fc.integer({ min: 0, max: caps.numBlocks - 1 }) },
    { weight: 1, arbitrary: fc.constantFrom(-1, caps.numBlocks, INT32_MIN, INT32_MAX, caps.numBlocks + 1) },
  );
  const request = fc.record({
    numNewTokens: fc.oneof(
      { weight: 20, arbitrary: fc.integer({ min: 0, max: 6 }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, 1.5) },
    ),
    numComputedTokens: fc.integer({ min: 0, max: 20 }),
    blockIds: fc.oneof(
      fc.array(id, { minLength: 7, maxLength: 40 }).map((a) => Int32Array.from(a)),
      fc.array(id, { minLength: 7, maxLength: 40 }),
    ),
  });

  it('for random batches with bad ids, bad counts and both array kinds, step after step', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ requests: fc.array(request, { maxLength: 6 }) }), { minLength: 1, maxLength: 4 }),
        (batches) => {
          expect(outcome('wasm', batches)).toEqual(outcome('js', batches));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reports the first error in request order: an earlier bad block id before a later bad count', () => {
    const good = () => Int32Array.from({ length: 20 }, (_, j) => j);
    const bad = good();
    bad[17] = 50;
    const batch = {
      requests: [
        { numNewTokens: 1, numComputedTokens: 3, blockIds: good() },
        { numNewTokens: 1, numComputedTokens: 3, blockIds: bad },
        { numNewTokens: -1, numComputedTokens: 3, blockIds: good() },
      ],
    };
    for (const kind of ['wasm', 'js'] as const) {
      const mirror = createHostMirrorWith(caps, undefined, kind);
      expect(() => mirror.write(batch)).toThrow(
        expect.objectContaining({ code: 'invalid_block_id', path: 'requests[1].blockIds[17]', value: 50 }),
      );
      // Without the bad id, the count error is next.
      bad[17] = 3;
      expect(() => mirror.write(batch)).toThrow(
        expect.objectContaining({ code: 'out_of_range', path: 'requests[2].numNewTokens' }),
      );
      bad[17] = 50;
    }
  });

  it('writes what validation saw: a getter returning a different value on a second read changes nothing', () => {
    for (const kind of ['wasm', 'js'] as const) {
      const mirror = createHostMirrorWith(caps, undefined, kind);
      let reads = 0;
      const valid = Int32Array.of(1, 2, 3);
      const request = {
        numNewTokens: 1,
        get numComputedTokens() {
          reads++;
          return reads === 1 ? 4 : 1000;
        },
        get blockIds() {
          return reads === 1 ? valid : Int32Array.of(99, 99, 99);
        },
      };
      mirror.write({ requests: [request] });
      expect(reads).toBe(1);
      expect(mirror.seqLens[0]).toBe(5);
      expect(Array.from(mirror.blockTable.subarray(0, 4))).toEqual([1, 2, 3, -1]);
      expect(mirror.slotMapping[0]).toBe(2 * 4 + 0);
    }
  });
});
