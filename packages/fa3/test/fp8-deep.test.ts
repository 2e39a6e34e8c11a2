import { afterEach, describe, expect, it } from 'vitest';
import { FP8_DEEP_ENV, fp8DeepEnabled } from '../src/fp8-deep.js';

describe('FLASHGRAPH_FA3_FP8_DEEP', () => {
  const saved = process.env[FP8_DEEP_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[FP8_DEEP_ENV];
    else process.env[FP8_DEEP_ENV] = saved;
  });

  it('is the switch name the docs and the round check use', () => {
    expect(FP8_DEEP_ENV).toBe('FLASHGRAPH_FA3_FP8_DEEP');
  });

  it('is on only for exactly "1", read at each call (createAttention reads it per Attention)', () => {
    delete process.env[FP8_DEEP_ENV];
    expect(fp8DeepEnabled()).toBe(false);
    for (const off of ['0', '', 'true', 'yes', ' 1', '1 ']) {
      process.env[FP8_DEEP_ENV] = off;
      expect(fp8DeepEnabled()).toBe(false);
    }
    process.env[FP8_DEEP_ENV] = '1';
    expect(fp8DeepEnabled()).toBe(true);
  });
});
