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
    ['maxNumSplits', 0, RangeError, 'estimateSplitWorkspaceBytes: maxNumSplits must be a positive safe integer, got 0'],
    [
      'maxNumSplits',
      257,
      RangeError,
      'estimateSplitWorkspaceBytes: maxNumSplits must be an integer from 1 to 256, got 257',
    ],
    ['numHeadsQ', 2.5, RangeError, 'estimateSplitWorkspaceBytes: numHeadsQ must be a positive safe integer, got 2.5'],
    [
      'maxNumTokens',
      -1,
      RangeError,
      'estimateSplitWorkspaceBytes: maxNumTokens must be a positive safe integer, got -1',
    ],
    ['headDim', '128', TypeError, 'estimateSplitWorkspaceBytes: headDim must be a number, got string'],
    ['headDim', undefined, TypeError, 'estimateSplitWorkspaceBytes: headDim must be a number, got undefined'],
  ])('%s = %s throws', (field, value, type, message) => {
    const args = { ...shape, [field]: value };
    expect(() => estimateSplitWorkspaceBytes(args)).toThrow(type);
    expect(() => estimateSplitWorkspaceBytes(args)).toThrow(message);
  });

  it('rejects a non-object and a result beyond the safe integer range', () => {
    expect(() => estimateSplitWorkspaceBytes(null as never)).toThrow(TypeError);
    expect(() => estimateSplitWorkspaceBytes({ ...shape, maxNumTokens: 2 ** 40, headDim: 2 ** 20 })).toThrow(
      /beyond the safe integer range/,
    );
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
