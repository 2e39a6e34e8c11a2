import { InvalidArgumentError } from '@flashgraph/errors';
import { throwingProxy, trap } from '@flashgraph/tooling/hostile';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureSizeIndex, captureSizeLookup, padToCaptureSize, resolveGraphConfig } from '../src/index.js';

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
    [0, 'out_of_range', 'numTokens: out of range (got 0, allowed integer in [1, 9007199254740991])'],
    [-3, 'out_of_range', 'numTokens: out of range (got -3, allowed integer in [1, 9007199254740991])'],
    [1.5, 'out_of_range', 'numTokens: out of range (got 1.5, allowed integer in [1, 9007199254740991])'],
    [Number.NaN, 'out_of_range', 'numTokens: out of range (got NaN, allowed integer in [1, 9007199254740991])'],
    ['8', 'invalid_type', 'numTokens: wrong type (got "8", allowed integer in [1, 9007199254740991])'],
  ])('rejects numTokens %s', (numTokens, code, message) => {
    expect(() => padToCaptureSize(resolved, numTokens as number)).toThrow(InvalidArgumentError);
    expect(() => padToCaptureSize(resolved, numTokens as number)).toThrow(expect.objectContaining({ code }));
    expect(() => padToCaptureSize(resolved, numTokens as number)).toThrow(message);
  });

  it('rejects something that is not a resolved config', () => {
    expect(() => padToCaptureSize(null as never, 1)).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'resolved' }),
    );
    expect(() => padToCaptureSize({ captureSizes: [4, 2] }, 1)).toThrow(
      'resolved.captureSizes[1]: invalid value (got 2, allowed ascending positive safe integers (the captureSizes of resolveGraphConfig))',
    );
  });

  it('accepts a resolved config that went through JSON (builds its table on first use)', () => {
    const copy = JSON.parse(JSON.stringify(resolved));
    expect(padToCaptureSize(copy, 9)).toBe(24);
  });

  it('handles huge capture sizes without a per-token table', () => {
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

describe('captureSizeIndex / captureSizeLookup (the table is O(number of sizes))', () => {
  const context = { maxNumSeqs: 256, maxNumBatchedTokens: 2 ** 31 - 1 };

  it('property: agrees with a linear search, for ladders, clusters and huge gaps', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.oneof(
            fc.integer({ min: 1, max: 64 }),
            fc.integer({ min: 1, max: 5000 }),
            fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 1, max: 2 ** 31 + 5 })), {
          maxLength: 60,
        }),
        (sizes, probes) => {
          const config = resolveGraphConfig({ captureSizes: sizes }, context);
          const lookup = captureSizeLookup(config);
          for (const n of [...probes, ...config.captureSizes, ...config.captureSizes.map((s) => s + 1)]) {
            const expected = config.captureSizes.findIndex((s) => s >= n);
            expect(captureSizeIndex(config, n)).toBe(expected);
            expect(lookup(n)).toBe(expected);
            expect(padToCaptureSize(config, n)).toBe(expected < 0 ? undefined : config.captureSizes[expected]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a lookup checks numTokens like padToCaptureSize, and nothing captured means -1', () => {
    const none = resolveGraphConfig({ mode: 'none' }, context);
    expect(captureSizeLookup(none)(5)).toBe(-1);
    expect(() => captureSizeLookup(none)(0)).toThrow(InvalidArgumentError);
    expect(() => captureSizeLookup(null as never)).toThrow(expect.objectContaining({ path: 'resolved' }));
  });
});

describe('pad lookups on a config whose reads throw', () => {
  it('captureSizeLookup / captureSizeIndex: InvalidArgumentError at resolved, never the trap', () => {
    const proxy = throwingProxy();
    const getter = Object.defineProperty({}, 'captureSizes', { enumerable: true, get: trap });
    for (const resolved of [proxy, getter]) {
      for (const call of [() => captureSizeLookup(resolved as never), () => captureSizeIndex(resolved as never, 1)]) {
        let caught: unknown;
        try {
          call();
        } catch (error) {
          caught = error;
        }
        expect((caught as Error).name).toBe('InvalidArgumentError');
        expect((caught as { path?: string }).path).toBe('resolved');
      }
    }
  });
});
