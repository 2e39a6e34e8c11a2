import { afterEach, describe, expect, it } from 'vitest';
import { FP8_FAST_ENV, fp8FastEnabled } from '../src/fp8-fast.js';

describe('FLASHGRAPH_FA3_FP8_FAST', () => {
  const saved = process.env[FP8_FAST_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[FP8_FAST_ENV];
    else process.env[FP8_FAST_ENV] = saved;
  });

  it('is the switch name the docs and the round check use', () => {
    expect(FP8_FAST_ENV).toBe('FLASHGRAPH_FA3_FP8_FAST');
  });

  it('is on only for exactly "1", read at each call (createAttention reads it per Attention)', () => {
    delete process.env[FP8_FAST_ENV];
    expect(fp8FastEnabled()).toBe(false);
    for (const off of ['0', '', 'true', 'yes', ' 1', '1 ']) {
      process.env[FP8_FAST_ENV] = off;
      expect(fp8FastEnabled()).toBe(false);
    }
    process.env[FP8_FAST_ENV] = '1';
    expect(fp8FastEnabled()).toBe(true);
  });
});
