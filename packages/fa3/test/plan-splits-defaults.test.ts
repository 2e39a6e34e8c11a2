// planSplits on a machine without a GPU: the SM count defaults to DEFAULT_SM_COUNT (an H100 SXM).
import { describe, expect, it } from 'vitest';
import { DEFAULT_SM_COUNT, MAX_SM_COUNT, planSplits } from '../src/reference.js';

const args = {
  cuSeqlensQ: Int32Array.of(0, 1, 2),
  seqLens: Int32Array.of(4096, 300),
  numReqs: 2,
  numHeadsQ: 32,
  numHeadsKv: 8,
  headDim: 128,
  maxNumSplits: 32,
  numSplits: 0,
  maxSeqlenQ: 1,
  maxSeqlenK: 4096,
};

describe('planSplits SM count', () => {
  it('defaults to DEFAULT_SM_COUNT (132) when smCount is omitted', () => {
    expect(DEFAULT_SM_COUNT).toBe(132);
    expect(planSplits(args)).toEqual(planSplits({ ...args, smCount: DEFAULT_SM_COUNT }));
    expect(planSplits(args)).not.toEqual(planSplits({ ...args, smCount: 16 }));
  });

  it('accepts 1..MAX_SM_COUNT, the addon bound', () => {
    expect(() => planSplits({ ...args, smCount: MAX_SM_COUNT })).not.toThrow();
    expect(() => planSplits({ ...args, smCount: MAX_SM_COUNT + 1 })).toThrow(
      expect.objectContaining({ code: 'out_of_range', path: 'planSplits.smCount' }),
    );
  });
});
