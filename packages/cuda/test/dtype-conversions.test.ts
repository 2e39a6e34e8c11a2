// toBf16/fromBf16/toFp16/fromFp16 against independent references: the widening direction over
// all 65536 bit patterns (checked with arithmetic, not bit tricks), the narrowing direction at
// every tie and its neighbours (all 65535 adjacent pairs), with random float32 bit patterns
// against a nearest-value search, and on a table of edge cases (signed zeros, subnormals,
// overflow, infinities, NaNs). The GPU suite compares the same functions with the hardware.
import { InvalidArgumentError } from '@flashgraph/errors';
import { nameOfThrown, throwingProxy } from '@flashgraph/tooling/hostile';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBf16, fromFp16, toBf16, toFp16 } from '../src/index.js';

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0] as number;
const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0] as number;
const all16 = Uint16Array.from({ length: 65536 }, (_, i) => i);

interface Format {
  name: string;
  to: (x: Float32Array) => Uint16Array;
  from: (h: Uint16Array) => Float32Array;
  mantissaBits: number;
  exponentBias: number;
  exponentMask: number;
  /** widening of a NaN pattern */
  nanWidened: (h: number) => number;
  /** the value just above the largest finite one (where rounding to infinity starts) */
  overflowValue: number;
}

const formats: Format[] = [
  {
    name: 'bf16',
    to: toBf16,
    from: fromBf16,
    mantissaBits: 7,
    exponentBias: 127,
    exponentMask: 0xff,
    nanWidened: (h) => (h << 16) >>> 0,
    overflowValue: 2 ** 128,
  },
  {
    name: 'fp16',
    to: toFp16,
    from: fromFp16,
    mantissaBits: 10,
    exponentBias: 15,
    exponentMask: 0x1f,
    nanWidened: () => 0x7fffffff,
    overflowValue: 65536,
  },
];

/** Value of a 16-bit pattern computed arithmetically (NaN for NaN patterns). */
function decode(f: Format, h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> f.mantissaBits) & f.exponentMask;
  const mantissa = h & ((1 << f.mantissaBits) - 1);
  if (exponent === f.exponentMask) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - f.exponentBias - f.mantissaBits);
  return sign * (1 + mantissa / 2 ** f.mantissaBits) * 2 ** (exponent - f.exponentBias);
}

const isNanPattern = (f: Format, h: number) =>
  ((h >>> f.mantissaBits) & f.exponentMask) === f.exponentMask && (h & ((1 << f.mantissaBits) - 1)) !== 0;

/** Independent narrowing: the nearest value by search, ties to the even pattern. */
function referenceNarrow(f: Format, positives: Float64Array, x: number): number {
  if (Number.isNaN(x)) return 0x7fff;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  const inf = (f.exponentMask << f.mantissaBits) | sign;
  if (a === Number.POSITIVE_INFINITY) return inf;
  // positives[i] is the value of pattern i (0 .. largest finite), then the overflow value.
  let lo = 0;
  let hi = positives.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((positives[mid] as number) <= a) lo = mid;
    else hi = mid;
  }
  if (a >= (positives[hi] as number)) return hi === positives.length - 1 ? inf : hi | sign;
  const dLo = a - (positives[lo] as number);
  const dHi = (positives[hi] as number) - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return pick === positives.length - 1 ? inf : pick | sign;
}

describe.each(formats)('$name', (f) => {
  const maxFinite = (f.exponentMask << f.mantissaBits) - 1;
  const positives = new Float64Array(maxFinite + 2);
  for (let h = 0; h <= maxFinite; h++) positives[h] = decode(f, h);
  positives[maxFinite + 1] = f.overflowValue;

  it('widens all 65536 patterns exactly', () => {
    const out = f.from(all16);
    const bits = new Uint32Array(out.buffer);
    for (let h = 0; h < 65536; h++) {
      if (isNanPattern(f, h)) {
        expect(bits[h], `pattern 0x${h.toString(16)}`).toBe(f.nanWidened(h));
      } else {
        expect(Object.is(out[h], decode(f, h)), `pattern 0x${h.toString(16)}: ${out[h]} vs ${decode(f, h)}`).toBe(true);
      }
    }
  });

  it('narrows every widened pattern back to itself (NaNs to 0x7fff)', () => {
    const back = f.to(f.from(all16));
    for (let h = 0; h < 65536; h++) {
      expect(back[h], `pattern 0x${h.toString(16)}`).toBe(isNanPattern(f, h) ? 0x7fff : h);
    }
  });

  it('rounds every tie to even and its float32 neighbours to the nearer side', () => {
    const inputs: number[] = [];
    const expected: number[] = [];
    for (let h = 0; h < maxFinite; h++) {
      for (const sign of [0, 0x8000]) {
        const s = sign ? -1 : 1;
        const mid = s * (((positives[h] as number) + (positives[h + 1] as number)) / 2);
        const midBits = bitsOf(mid);
        expect(f32(midBits), 'midpoints are float32 values').toBe(mid);
        const even = (h % 2 === 0 ? h : h + 1) | sign;
        inputs.push(midBits, midBits - 1, midBits + 1);
        expected.push(even, h | sign, (h + 1) | sign);
      }
    }
    const out = f.to(new Float32Array(new Uint32Array(inputs).buffer));
    for (let i = 0; i < inputs.length; i++) {
      if (out[i] !== expected[i]) {
        throw new Error(
          `${f.name}: float32 0x${(inputs[i] as number).toString(16)} -> 0x${out[i]?.toString(16)}, expected 0x${expected[i]?.toString(16)}`,
        );
      }
    }
  });

  it('matches a nearest-value search on random float32 bit patterns', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 64 }), (patterns) => {
        const src = new Float32Array(new Uint32Array(patterns).buffer);
        const out = f.to(src);
        for (let i = 0; i < src.length; i++) {
          expect(out[i], `float32 0x${(patterns[i] as number).toString(16)}`).toBe(
            referenceNarrow(f, positives, src[i] as number),
          );
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('edge tables', () => {
  const cases: [string, number, number, number][] = [
    // [description, float32 bits, bf16 bits, fp16 bits]
    ['+0', 0x00000000, 0x0000, 0x0000],
    ['-0', 0x80000000, 0x8000, 0x8000],
    ['1', 0x3f800000, 0x3f80, 0x3c00],
    ['-2', 0xc0000000, 0xc000, 0xc000],
    ['1 + 2^-8 (bf16 tie, to even)', 0x3f808000, 0x3f80, 0x3c04],
    ['1 + 3 * 2^-8 (bf16 tie, to even upward)', 0x3f818000, 0x3f82, 0x3c0c],
    ['1 + 2^-11 (fp16 tie, to even)', 0x3f801000, 0x3f80, 0x3c00],
    ['65504 (fp16 max)', 0x477fe000, 0x4780, 0x7bff],
    ['65519.996 (just below the fp16 overflow tie)', 0x477fefff, 0x4780, 0x7bff],
    ['65520 (fp16 overflow tie -> inf)', 0x477ff000, 0x4780, 0x7c00],
    ['-1e6 (fp16 overflow)', bitsOf(-1e6), 0xc974, 0xfc00],
    ['float32 max (bf16 overflow -> inf)', 0x7f7fffff, 0x7f80, 0x7c00],
    ['2^-14 (fp16 min normal)', 0x38800000, 0x3880, 0x0400],
    ['2^-24 (fp16 min subnormal)', 0x33800000, 0x3380, 0x0001],
    ['2^-25 (tie between 0 and min subnormal -> 0)', 0x33000000, 0x3300, 0x0000],
    ['2^-25 + ulp (-> min subnormal)', 0x33000001, 0x3300, 0x0001],
    ['-0.75 * 2^-24 (-> minus the min subnormal)', 0xb3400000, 0xb340, 0x8001],
    ['float32 min subnormal', 0x00000001, 0x0000, 0x0000],
    ['float32 subnormal 0x00400000 (bf16 keeps it)', 0x00400000, 0x0040, 0x0000],
    ['float32 largest subnormal (bf16 rounds to min normal)', 0x007fffff, 0x0080, 0x0000],
    ['+inf', 0x7f800000, 0x7f80, 0x7c00],
    ['-inf', 0xff800000, 0xff80, 0xfc00],
    ['quiet NaN', 0x7fc00000, 0x7fff, 0x7fff],
    ['negative NaN with payload', 0xffc12345, 0x7fff, 0x7fff],
    ['signalling NaN', 0x7f800001, 0x7fff, 0x7fff],
  ];
  it.each(cases)('%s', (_d, bits, bf16, fp16) => {
    const src = new Float32Array(new Uint32Array([bits]).buffer);
    expect(toBf16(src)[0]).toBe(bf16);
    expect(toFp16(src)[0]).toBe(fp16);
  });

  it('widening keeps bf16 NaN payloads and canonicalizes fp16 NaNs', () => {
    const bf = new Uint32Array(fromBf16(new Uint16Array([0xffc1, 0x7f81])).buffer);
    expect([...bf]).toEqual([0xffc10000, 0x7f810000]);
    const fp = new Uint32Array(fromFp16(new Uint16Array([0xfe01, 0x7c01])).buffer);
    expect([...fp]).toEqual([0x7fffffff, 0x7fffffff]);
  });

  it('works on offset views and empty arrays', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    expect([...toFp16(backing.subarray(1, 3))]).toEqual([0x3c00, 0x4000]);
    expect(toBf16(new Float32Array(0))).toEqual(new Uint16Array(0));
    const halves = new Uint16Array([0, 0x3c00, 0x4000, 0]);
    expect([...fromFp16(halves.subarray(1, 3))]).toEqual([1, 2]);
  });

  it.each([
    [
      'toBf16',
      () => toBf16(new Float64Array(2) as never),
      /src: wrong type \(got Float64Array\(2\), allowed Float32Array\)/,
    ],
    ['toFp16', () => toFp16([1, 2] as never), /src: wrong type \(got \[1,2\], allowed Float32Array\)/],
    [
      'fromBf16',
      () => fromBf16(new Int16Array(2) as never),
      /src: wrong type \(got Int16Array\(2\), allowed Uint16Array of 16-bit patterns\)/,
    ],
    ['fromFp16', () => fromFp16(new Float32Array(2) as never), /allowed Uint16Array/],
  ])('%s rejects other array kinds', (_n, fn, message) => {
    expect(fn).toThrow(InvalidArgumentError);
    expect(fn).toThrow(expect.objectContaining({ code: 'invalid_type', path: 'src' }));
    expect(fn).toThrow(message);
  });
});

describe('conversions given a proxy whose traps throw', () => {
  it('InvalidArgumentError, never the trap', () => {
    for (const convert of [toBf16, fromBf16, toFp16, fromFp16]) {
      expect(nameOfThrown(() => convert(throwingProxy() as never))).toBe('InvalidArgumentError');
    }
  });
});
