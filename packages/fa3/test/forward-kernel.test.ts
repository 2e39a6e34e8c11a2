import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DECODE_MAX_ROWS, forwardKernel, tileShape, WGMMA_BY_DEFAULT } from '../src/index.js';

// What 'auto' runs for a prefill-shaped step at D = 128: the one switch decides.
const PREFILL = WGMMA_BY_DEFAULT ? 'wgmma' : 'general';

describe('forwardKernel (which kernel forward launches)', () => {
  it('WGMMA_BY_DEFAULT is kWgmmaByDefault of native/fa3/kernels/scheduling.h (flip both together)', () => {
    const header = readFileSync(new URL('../../../native/fa3/kernels/scheduling.h', import.meta.url), 'utf8');
    const m = /^constexpr bool kWgmmaByDefault = (true|false);$/m.exec(header);
    expect(m?.[1]).toBe(String(WGMMA_BY_DEFAULT));
  });

  it.each([
    [1, 4, 'decode'], // Llama-3-8B decode: 4 rows
    [4, 4, 'decode'], // 16 rows: the limit
    [5, 4, PREFILL],
    [2, 8, 'decode'], // G = 8, two query tokens (speculative decoding): 16 rows
    [3, 8, PREFILL],
    [16, 1, 'decode'],
    [17, 1, PREFILL],
    [1, 16, 'decode'],
    [1, 17, PREFILL],
    [0, 4096, 'decode'], // no queries: nothing to run, the decode kernel exits at once
    [512, 4, PREFILL], // prefill
  ] as const)('maxSeqlenQ %i, G %i -> %s', (q, g, kernel) => {
    expect(forwardKernel(q, g, 128, 'auto')).toBe(kernel);
  });

  it('a request forces a kernel; wgmma is built for every head dim', () => {
    for (const q of [0, 1, 512]) {
      expect(forwardKernel(q, 4, 128, 'wgmma')).toBe('wgmma');
      expect(forwardKernel(q, 4, 64, 'wgmma')).toBe('wgmma');
      expect(forwardKernel(q, 4, 256, 'wgmma')).toBe('wgmma');
      expect(forwardKernel(q, 4, 96, 'wgmma')).toBe('general');
      expect(forwardKernel(q, 4, 192, 'wgmma')).toBe('general');
      expect(forwardKernel(q, 4, 192, 'decode')).toBe('decode');
      expect(forwardKernel(q, 4, 128, 'general')).toBe('general');
      expect(forwardKernel(q, 4, 256, 'decode')).toBe('decode');
    }
    expect(tileShape(128, 4, 'wgmma')).toEqual({ blockM: 128, blockN: 128 });
    expect(tileShape(64, 4, 'wgmma')).toEqual({ blockM: 128, blockN: 128 });
    expect(tileShape(256, 4, 'wgmma')).toEqual({ blockM: 128, blockN: 64 });
    expect(tileShape(128, 4, 'decode')).toEqual(tileShape(128, 4));
    expect(() => forwardKernel(1, 4, 128, 'fast' as never)).toThrow(
      'forwardKernel.request: invalid value (got "fast", allowed one of "auto", "general", "decode", "wgmma")',
    );
    expect(() => forwardKernel(1, 4, 80)).toThrow(
      /forwardKernel.headDim: invalid value \(got 80, allowed one of 64, 96, 128, 192, 256\)/,
    );
  });

  it('is decode exactly when maxSeqlenQ x G <= DECODE_MAX_ROWS, without overflow at int32 extremes', () => {
    expect(DECODE_MAX_ROWS).toBe(16);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4096 }), (q, g) => {
        expect(forwardKernel(q, g, 128, 'auto')).toBe(q * g <= 16 ? 'decode' : PREFILL);
      }),
    );
    expect(forwardKernel(2 ** 31 - 1, 4096, 128, 'auto')).toBe(PREFILL);
    // Head dims the wgmma kernel lacks run the general kernel either way.
    expect(forwardKernel(512, 4, 96, 'auto')).toBe('general');
    expect(forwardKernel(512, 4, 192, 'auto')).toBe('general');
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
