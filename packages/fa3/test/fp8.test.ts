import { describe, expect, it } from 'vitest';
import { decodeE4m3, E4M3_MAX, E4M3_NAN, encodeE4m3 } from '../src/index.js';

// An independent oracle for the encoder: the nearest finite code by brute force over all 254
// finite codes, ties to the code with the even mantissa, |x| beyond 448 saturated.
function nearestCode(x: number): number {
  if (Number.isNaN(x)) return E4M3_NAN;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (a >= E4M3_MAX) return sign | 0x7e;
  let best = 0;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let c = 0; c < 0x7f; c++) {
    const err = Math.abs(decodeE4m3(c) - a);
    if (err < bestErr || (err === bestErr && (c & 1) === 0)) {
      best = c;
      bestErr = err;
    }
  }
  return sign | best;
}

describe('e4m3 codec', () => {
  it('decodes every code: sign, exponent bias 7, subnormals, NaN only at S.1111.111', () => {
    for (let c = 0; c < 256; c++) {
      const v = decodeE4m3(c);
      const e = (c >> 3) & 0xf;
      const m = c & 7;
      if ((c & 0x7f) === 0x7f) {
        expect(v).toBeNaN();
        continue;
      }
      const mag = e === 0 ? m * 2 ** -9 : (1 + m / 8) * 2 ** (e - 7);
      expect(v).toBe(c & 0x80 ? -mag : mag);
    }
    expect(decodeE4m3(0x7e)).toBe(448);
    expect(decodeE4m3(0x08)).toBe(2 ** -6);
    expect(decodeE4m3(0x01)).toBe(2 ** -9);
    expect(Object.is(decodeE4m3(0x80), -0)).toBe(true);
  });

  it('round-trips every finite code exactly (encode(decode(c)) === c)', () => {
    let finite = 0;
    for (let c = 0; c < 256; c++) {
      if ((c & 0x7f) === 0x7f) continue;
      expect(encodeE4m3(decodeE4m3(c))).toBe(c);
      finite++;
    }
    expect(finite).toBe(254);
  });

  it('rounds to nearest, ties to even, at every midpoint between neighbouring codes', () => {
    for (let c = 0; c < 0x7e; c++) {
      const lo = decodeE4m3(c);
      const hi = decodeE4m3(c + 1);
      const mid = (lo + hi) / 2;
      const even = (c & 1) === 0 ? c : c + 1;
      expect(encodeE4m3(mid)).toBe(even);
      expect(encodeE4m3(-mid)).toBe(0x80 | even);
      // Just off the midpoint goes to the nearer code.
      expect(encodeE4m3(mid - (hi - lo) / 64)).toBe(c);
      expect(encodeE4m3(mid + (hi - lo) / 64)).toBe(c + 1);
    }
  });

  it('agrees with the brute-force nearest code on 20,000 fp32 values over the whole range', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((rand() < 0.5 ? -1 : 1) * 2 ** (rand() * 24 - 14));
      expect(encodeE4m3(x)).toBe(nearestCode(x));
    }
  });

  it('saturates to +-448 (never NaN) beyond the range, infinities included', () => {
    for (const x of [448, 449, 463.9, 464, 480, 1e6, 3.4e38, Number.POSITIVE_INFINITY]) {
      expect(encodeE4m3(x)).toBe(0x7e);
      expect(encodeE4m3(-x)).toBe(0xfe);
    }
  });

  it('keeps NaN as NaN (0x7f) and the sign of zero; values under half the smallest subnormal become zero', () => {
    expect(encodeE4m3(Number.NaN)).toBe(E4M3_NAN);
    expect(decodeE4m3(encodeE4m3(Number.NaN))).toBeNaN();
    expect(encodeE4m3(0)).toBe(0);
    expect(encodeE4m3(-0)).toBe(0x80);
    expect(encodeE4m3(2 ** -11)).toBe(0);
    expect(encodeE4m3(-(2 ** -11))).toBe(0x80);
    expect(encodeE4m3(2 ** -10)).toBe(0); // the tie between 0 and 2^-9 goes to even (0)
    expect(encodeE4m3(1.5 * 2 ** -10)).toBe(1);
  });

  it('divides by the scale in fp32 before rounding', () => {
    expect(encodeE4m3(896, 2)).toBe(0x7e);
    expect(encodeE4m3(1, 0.5)).toBe(encodeE4m3(2));
    // 1 / 3 in fp32 (not float64) is what gets rounded.
    expect(encodeE4m3(1, 3)).toBe(nearestCode(Math.fround(1 / 3)));
    expect(encodeE4m3(1e-3, 1e-3)).toBe(encodeE4m3(Math.fround(1e-3 / 1e-3)));
  });
});
