import { InvalidArgumentError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateSplitWorkspaceBytes } from '../src/index.js';

const shape = { maxNumSplits: 32, numHeadsQ: 32, maxNumTokens: 512, headDim: 128 };

describe('estimateSplitWorkspaceBytes', () => {
  it.each([
    [{ maxNumSplits: 1, numHeadsQ: 1, maxNumTokens: 1, headDim: 1 }, 8],
    [{ maxNumSplits: 32, numHeadsQ: 32, maxNumTokens: 512, headDim: 128 }, 4 * 32 * 32 * 512 * 129],
    [{ maxNumSplits: 256, numHeadsQ: 64, maxNumTokens: 8192, headDim: 256 }, 4 * 256 * 64 * 8192 * 257],
  ])('%o -> %i bytes', (args, bytes) => {
    expect(estimateSplitWorkspaceBytes(args)).toBe(bytes);
  });

  it.each([
    ['maxNumSplits', 0, 'out_of_range', 'shape.maxNumSplits: out of range (got 0, allowed integer in [1, 256])'],
    ['maxNumSplits', 257, 'out_of_range', 'shape.maxNumSplits: out of range (got 257, allowed integer in [1, 256])'],
    ['numHeadsQ', 2.5, 'out_of_range', 'shape.numHeadsQ: out of range (got 2.5, allowed integer in [1, 2147483647])'],
    [
      'maxNumTokens',
      -1,
      'out_of_range',
      'shape.maxNumTokens: out of range (got -1, allowed integer in [1, 2147483647])',
    ],
    ['headDim', '128', 'invalid_type', 'shape.headDim: wrong type (got "128", allowed integer in [1, 2147483647])'],
    [
      'headDim',
      undefined,
      'invalid_type',
      'shape.headDim: wrong type (got undefined, allowed integer in [1, 2147483647])',
    ],
  ])('%s = %s throws', (field, value, code, message) => {
    const args = { ...shape, [field]: value };
    expect(() => estimateSplitWorkspaceBytes(args)).toThrow(InvalidArgumentError);
    expect(() => estimateSplitWorkspaceBytes(args)).toThrow(expect.objectContaining({ code, path: `shape.${field}` }));
    expect(() => estimateSplitWorkspaceBytes(args)).toThrow(message);
  });

  it('rejects a non-object and a result beyond the safe integer range', () => {
    expect(() => estimateSplitWorkspaceBytes(null as never)).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'shape' }),
    );
    const huge = { maxNumSplits: 256, numHeadsQ: 2 ** 30, maxNumTokens: 2 ** 30, headDim: 2 ** 30 };
    expect(() => estimateSplitWorkspaceBytes(huge)).toThrow(/beyond the safe integer range/);
  });

  it('property: linear in every factor', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 1, max: 128 }),
        fc.integer({ min: 1, max: 16_384 }),
        fc.integer({ min: 1, max: 512 }),
        (maxNumSplits, numHeadsQ, maxNumTokens, headDim) => {
          const bytes = estimateSplitWorkspaceBytes({ maxNumSplits, numHeadsQ, maxNumTokens, headDim });
          expect(bytes).toBe(4 * maxNumSplits * numHeadsQ * maxNumTokens * (headDim + 1));
          expect(
            estimateSplitWorkspaceBytes({ maxNumSplits, numHeadsQ, maxNumTokens: 2 * maxNumTokens, headDim }),
          ).toBe(2 * bytes);
        },
      ),
    );
  });
});
