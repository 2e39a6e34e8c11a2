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

  it('is on unless exactly "0", read at each call (createAttention reads it per Attention)', () => {
    delete process.env[FP8_FAST_ENV];
    expect(fp8FastEnabled()).toBe(true);
    for (const on of ['1', '', 'true', 'yes', ' 0', '0 ']) {
      process.env[FP8_FAST_ENV] = on;
      expect(fp8FastEnabled()).toBe(true);
    }
    process.env[FP8_FAST_ENV] = '0';
    expect(fp8FastEnabled()).toBe(false);
  });
});
