import { InvalidArgumentError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DECODE_MAX_ROWS, forwardKernel } from '../src/index.js';

describe('forwardKernel (which kernel forward launches)', () => {
  it.each([
    [1, 4, 'decode'], // Llama-3-8B decode: 4 rows
    [4, 4, 'decode'], // 16 rows: the limit
    [5, 4, 'general'],
    [2, 8, 'decode'], // G = 8, two query tokens (speculative decoding): 16 rows
    [3, 8, 'general'],
    [16, 1, 'decode'],
    [17, 1, 'general'],
    [1, 16, 'decode'],
    [1, 17, 'general'],
    [0, 4096, 'decode'], // no queries: nothing to run, the decode kernel exits at once
    [512, 4, 'general'], // prefill
  ] as const)('maxSeqlenQ %i, G %i -> %s', (q, g, kernel) => {
    expect(forwardKernel(q, g)).toBe(kernel);
  });

  it('is decode exactly when maxSeqlenQ x G <= DECODE_MAX_ROWS, without overflow at int32 extremes', () => {
    expect(DECODE_MAX_ROWS).toBe(16);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4096 }), (q, g) => {
        expect(forwardKernel(q, g)).toBe(q * g <= 16 ? 'decode' : 'general');
      }),
    );
    expect(forwardKernel(2 ** 31 - 1, 4096)).toBe('general');
  });

  it('names the argument and the range on bad input', () => {
    expect(() => forwardKernel(-1, 4)).toThrow(
      'forwardKernel.maxSeqlenQ: out of range (got -1, allowed integer in [0, 2147483647])',
    );
    expect(() => forwardKernel(1.5, 4)).toThrow(expect.objectContaining({ code: 'out_of_range' }));
    expect(() => forwardKernel(1, 0)).toThrow(
      /forwardKernel\.qheadsPerKvhead: out of range \(got 0, allowed integer in \[1, 4096\]\)/,
    );
    expect(() => forwardKernel(1, Number.NaN)).toThrow(InvalidArgumentError);
  });
});
