import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultCaptureSizes } from '../src/index.js';

const ladder512 = [
  1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136, 144, 152, 160, 168, 176, 184, 192,
  200, 208, 216, 224, 232, 240, 248, 256, 272, 288, 304, 320, 336, 352, 368, 384, 400, 416, 432, 448, 464, 480, 496,
  512,
];

describe('defaultCaptureSizes', () => {
  it.each([
    // [case, context, expected]
    ['max capped at 512', { maxNumSeqs: 256, maxNumBatchedTokens: 8192 }, ladder512],
    ['max = 2 x maxNumSeqs', { maxNumSeqs: 4, maxNumBatchedTokens: 8192 }, [1, 2, 4, 8]],
    ['max not on the ladder is appended', { maxNumSeqs: 5, maxNumBatchedTokens: 8192 }, [1, 2, 4, 8, 10]],
    [
      'capped by maxNumBatchedTokens',
      { maxNumSeqs: 256, maxNumBatchedTokens: 100 },
      [1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 100],
    ],
    ['maxNumBatchedTokens 1', { maxNumSeqs: 256, maxNumBatchedTokens: 1 }, [1]],
    ['maxNumBatchedTokens 3', { maxNumSeqs: 256, maxNumBatchedTokens: 3 }, [1, 2, 3]],
    ['one sequence', { maxNumSeqs: 1, maxNumBatchedTokens: 8192 }, [1, 2]],
    [
      'multiples of 16 from 256',
      { maxNumSeqs: 140, maxNumBatchedTokens: 8192 },
      [...ladder512.filter((s) => s <= 272), 280],
    ],
    [
      'uniformDecodeQueryLen scales the max',
      { maxNumSeqs: 4, maxNumBatchedTokens: 8192, uniformDecodeQueryLen: 3 },
      [1, 2, 4, 8, 16, 24],
    ],
    [
      'uniformDecodeQueryLen still capped at 512',
      { maxNumSeqs: 200, maxNumBatchedTokens: 8192, uniformDecodeQueryLen: 4 },
      ladder512,
    ],
  ])('%s', (_, context, expected) => {
    expect(defaultCaptureSizes(context)).toEqual(expected);
  });

  it('has no 992 cap: a maxCaptureSize above it is kept by resolveGraphConfig (see resolve tests)', () => {
    expect(Math.max(...defaultCaptureSizes({ maxNumSeqs: 1024, maxNumBatchedTokens: 8192 }))).toBe(512);
  });

  it('returns a fresh mutable array', () => {
    const a = defaultCaptureSizes({ maxNumSeqs: 4, maxNumBatchedTokens: 64 });
    a.push(99);
    expect(defaultCaptureSizes({ maxNumSeqs: 4, maxNumBatchedTokens: 64 })).toEqual([1, 2, 4, 8]);
  });

  it('throws ConfigError for a bad context, naming every bad field', () => {
    let error: unknown;
    try {
      defaultCaptureSizes({ maxNumSeqs: 0, maxNumBatchedTokens: 1.5 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual([
      'context.maxNumSeqs',
      'context.maxNumBatchedTokens',
    ]);
  });

  it('property: ascending, unique, starts at 1, ends at the max, ladder steps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4096 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 8 }),
        (maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen) => {
          const sizes = defaultCaptureSizes({ maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen });
          const max = Math.min(2 * maxNumSeqs * uniformDecodeQueryLen, 512, maxNumBatchedTokens);
          expect(sizes[0]).toBe(1);
          expect(sizes[sizes.length - 1]).toBe(max);
          for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThan(sizes[i - 1]!);
          for (const size of sizes.slice(0, -1)) {
            const onLadder = size <= 4 ? [1, 2, 4].includes(size) : size < 256 ? size % 8 === 0 : size % 16 === 0;
            expect(onLadder).toBe(true);
          }
        },
      ),
    );
  });
});
