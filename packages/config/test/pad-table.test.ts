import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { padToCaptureSize, resolveGraphConfig } from '../src/index.js';

const context = { maxNumSeqs: 256, maxNumBatchedTokens: 1 << 22 };

describe('padToCaptureSize', () => {
  const resolved = resolveGraphConfig({ captureSizes: [1, 2, 4, 8, 24, 512] }, context);

  it.each([
    [1, 1],
    [2, 2],
    [3, 4],
    [5, 8],
    [8, 8],
    [9, 24],
    [24, 24],
    [25, 512],
    [511, 512],
    [512, 512],
    [513, undefined],
    [100_000, undefined],
  ])('%i tokens -> %s', (numTokens, expected) => {
    expect(padToCaptureSize(resolved, numTokens)).toBe(expected);
  });

  it("returns undefined for every size in mode 'none' (everything eager)", () => {
    const none = resolveGraphConfig({ mode: 'none' }, context);
    expect(padToCaptureSize(none, 1)).toBeUndefined();
  });

  it.each([
    [0, RangeError, 'padToCaptureSize: numTokens must be a positive safe integer, got 0'],
    [-3, RangeError, 'padToCaptureSize: numTokens must be a positive safe integer, got -3'],
    [1.5, RangeError, 'padToCaptureSize: numTokens must be a positive safe integer, got 1.5'],
    [Number.NaN, RangeError, 'padToCaptureSize: numTokens must be a positive safe integer, got NaN'],
    ['8', TypeError, 'padToCaptureSize: numTokens must be a number, got string'],
  ])('rejects numTokens %s', (numTokens, type, message) => {
    expect(() => padToCaptureSize(resolved, numTokens as number)).toThrow(type);
    expect(() => padToCaptureSize(resolved, numTokens as number)).toThrow(message);
  });

  it('rejects something that is not a resolved config', () => {
    expect(() => padToCaptureSize(null as never, 1)).toThrow(TypeError);
    expect(() => padToCaptureSize({ captureSizes: [4, 2] }, 1)).toThrow(
      'padToCaptureSize: resolved.captureSizes must be ascending positive integers (use resolveGraphConfig)',
    );
  });

  it('accepts a resolved config that went through JSON (builds its table on first use)', () => {
    const copy = JSON.parse(JSON.stringify(resolved));
    expect(padToCaptureSize(copy, 9)).toBe(24);
  });

  it('handles max capture sizes above the table limit (binary search path)', () => {
    const huge = resolveGraphConfig({ captureSizes: [1, 1000, 3_000_000] }, context);
    expect(padToCaptureSize(huge, 2)).toBe(1000);
    expect(padToCaptureSize(huge, 1001)).toBe(3_000_000);
    expect(padToCaptureSize(huge, 3_000_001)).toBeUndefined();
  });

  it('property: for every n <= max, the smallest captured size >= n; above the max, undefined', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 2048 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const config = resolveGraphConfig({ captureSizes: sizes }, context);
        const sorted = [...sizes].sort((a, b) => a - b);
        const max = sorted[sorted.length - 1]!;
        const wrong: number[] = [];
        let next = 0;
        for (let n = 1; n <= max; n++) {
          while (sorted[next]! < n) next++;
          if (padToCaptureSize(config, n) !== sorted[next]) wrong.push(n);
        }
        expect(wrong).toEqual([]);
        expect(padToCaptureSize(config, max + 1)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it('property: default sizes pad every n <= max to a captured size >= n with bounded waste', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1024 }), fc.integer({ min: 1, max: 16_384 }), (maxNumSeqs, tokens) => {
        const config = resolveGraphConfig({}, { maxNumSeqs, maxNumBatchedTokens: tokens });
        const captured = new Set(config.captureSizes);
        const wrong: number[] = [];
        for (let n = 1; n <= config.maxCaptureSize; n++) {
          const padded = padToCaptureSize(config, n)!;
          // The ladder's steps: 8 below 256, 16 above (plus the max itself).
          if (!captured.has(padded) || padded < n || padded - n >= (n < 256 ? 8 : 16)) wrong.push(n);
        }
        expect(wrong).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
