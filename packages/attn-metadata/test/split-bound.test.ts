import { resolveGraphConfig } from '@flashgraph/config';
import { describe, expect, it } from 'vitest';
import { isFullGraphStep, stepNumSplits } from '../src/split-bound.js';

const context = { maxNumSeqs: 64, maxNumBatchedTokens: 2048 };

describe('split bound with resolved graph configs', () => {
  it.each([
    { mode: 'full', decode: [true, true, false], mixed: [true, true, false] },
    // 128 gets no decode graph here: uniform decode batches hold at most maxNumSeqs (64) tokens.
    { mode: 'full_decode_only', decode: [true, false, false], mixed: [false, false, false] },
    { mode: 'full_and_piecewise', decode: [true, false, false], mixed: [false, false, false] },
    { mode: 'piecewise', decode: [false, false, false], mixed: [false, false, false] },
    { mode: 'none', decode: [false, false, false], mixed: [false, false, false] },
  ] as const)('$mode', ({ mode, decode, mixed }) => {
    const config = resolveGraphConfig({ mode, maxNumSplits: 24 }, context);
    // 8 is a default capture size, 128 the max (2 x 64), 9 is not a capture size.
    const sizes = [8, 128, 9];
    sizes.forEach((n, i) => {
      expect(isFullGraphStep(config, n, true), `decode ${n}`).toBe(decode[i]);
      expect(isFullGraphStep(config, n, false), `mixed ${n}`).toBe(mixed[i]);
      expect(stepNumSplits(config, isFullGraphStep(config, n, true))).toBe(decode[i] ? 24 : 0);
    });
    expect(isFullGraphStep(config, 0, true)).toBe(false);
    expect(isFullGraphStep(config, 4096, true)).toBe(false);
  });
});
