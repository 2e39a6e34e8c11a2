// The CPU references over an fp8 e4m3 cache: writeKvCacheReference quantizes as the KV write
// kernel does, and referenceAttention on the codes equals referenceAttention on the dequantized
// values (code x descale of the KV head).
import { describe, expect, it } from 'vitest';
import { decodeE4m3, encodeE4m3, referenceAttention, writeKvCacheReference } from '../src/index.js';
import { expectArgumentError } from './support/expect-error.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

describe('writeKvCacheReference with kvDtype fp8_e4m3', () => {
  // 2 pages x 4 slots x 2 KV heads x D 2.
  const base = () => ({
    key: Float32Array.from([1, -2, 300, 1000, 0.1, Number.NaN, 3, 5]),
    value: Float32Array.from([0.5, 0.25, -600, 7, 1e-9, -0, 8, 9]),
    kCache: new Uint8Array(2 * 4 * 2 * 2).fill(0x55),
    vCache: new Uint8Array(2 * 4 * 2 * 2).fill(0x55),
    numHeadsKv: 2,
    headDim: 2,
    pageSize: 4,
    kvDtype: 'fp8_e4m3' as const,
  });

  it('stores e4m3(x / descale[head]) per element at the token slot and skips slot -1', () => {
    const a = base();
    const kDescale = Float32Array.from([1, 4]);
    const vDescale = Float32Array.from([2, 0.5]);
    writeKvCacheReference({ ...a, kDescale, vDescale, slotMapping: Int32Array.from([5, -1]) });
    const row = 4; // Hkv x D
    const expectK = [1, -2, 300 / 4, 1000 / 4].map((x) => encodeE4m3(x));
    const expectV = [0.5 / 2, 0.25 / 2, -600 / 0.5, 7 / 0.5].map((x) => encodeE4m3(x));
    expect(Array.from(a.kCache.subarray(5 * row, 6 * row))).toEqual(expectK);
    expect(Array.from(a.vCache.subarray(5 * row, 6 * row))).toEqual(expectV);
    expect(a.vCache[5 * row + 2]).toBe(0xfe); // -1200 saturates to -448
    expect(a.kCache.subarray(0, 5 * row).every((c) => c === 0x55)).toBe(true); // slot -1: nothing written
  });

  it('descales default to 1; NaN is stored as NaN, -0 keeps its sign', () => {
    const a = base();
    writeKvCacheReference({ ...a, slotMapping: Int32Array.from([-1, 0]) });
    expect(Array.from(a.kCache.subarray(0, 4))).toEqual([0.1, Number.NaN, 3, 5].map((x) => encodeE4m3(x)));
    expect(a.kCache[1]).toBe(0x7f);
    expect(a.vCache[1]).toBe(0x80);
    expect(decodeE4m3(a.vCache[0]!)).toBe(0); // 1e-9 rounds to zero
  });

  it('rejects wrong element types, descales of the wrong length or value, and descales without fp8, writing nothing', () => {
    const a = base();
    const slotMapping = Int32Array.from([0, 1]);
    expectArgumentError(
      () => writeKvCacheReference({ ...a, kCache: new Float32Array(32) as never, slotMapping }),
      'invalid_value',
      'writeKvCacheReference.kCache',
    );
    expectArgumentError(
      () => writeKvCacheReference({ ...a, key: new Uint16Array(8) as never, slotMapping }),
      'invalid_value',
      'writeKvCacheReference.key',
    );
    expectArgumentError(
      () => writeKvCacheReference({ ...a, kDescale: new Float32Array(1), slotMapping }),
      'out_of_range',
      'writeKvCacheReference.kDescale.length',
    );
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectArgumentError(
        () => writeKvCacheReference({ ...a, vDescale: Float32Array.from([1, bad]), slotMapping }),
        'out_of_range',
        'writeKvCacheReference.vDescale[1]',
      );
    }
    expectArgumentError(
      () =>
        writeKvCacheReference({
          ...a,
          kvDtype: undefined,
          kCache: new Float32Array(32),
          vCache: new Float32Array(32),
          kDescale: Float32Array.from([1, 1]),
          slotMapping,
        } as never),
      'invalid_value',
      'writeKvCacheReference.kDescale',
    );
    expectArgumentError(
      () => writeKvCacheReference({ ...a, kvDtype: 'fp8_e5m2' as never, slotMapping }),
      'invalid_value',
      'writeKvCacheReference.kvDtype',
    );
    expect(a.kCache.every((c) => c === 0x55)).toBe(true);
  });
});

describe('referenceAttention over an fp8 e4m3 cache', () => {
  // 3 requests (GQA 2, D 16, pages of 16 in a shuffled order), random codes across the whole
  // finite range (NaN codes excluded), descales per KV head.
  function fp8Problem(seed: number, causal: boolean) {
    const r = rng(seed);
    const hq = 4;
    const hkv = 2;
    const d = 16;
    const pageSize = 16;
    const qLens = [1, 3, 5];
    const kLens = [17, 40, 5];
    const cuSeqlensQ = Int32Array.from([0, 1, 4, 9]);
    const numPages = 8;
    const pageTable = Int32Array.from([3, 0, -1, 5, 1, 7, 2, -1, -1]);
    const elems = numPages * pageSize * hkv * d;
    // Codes of magnitude up to ~8 (exponent field <= 10) keep the scores in softmax range.
    const code = () => {
      const c = Math.floor(((r() + 1) / 2) * 0x50);
      return r() < 0 ? c | 0x80 : c;
    };
    const kCache = Uint8Array.from({ length: elems }, code);
    const vCache = Uint8Array.from({ length: elems }, code);
    const q = Float32Array.from({ length: 9 * hq * d }, () => r());
    const kDescale = Float32Array.from([0.5, 1.25]);
    const vDescale = Float32Array.from([2, 0.75]);
    const common = {
      q,
      pageTable,
      cuSeqlensQ,
      seqLens: Int32Array.from(kLens),
      numHeadsQ: hq,
      numHeadsKv: hkv,
      headDim: d,
      pageSize,
      causal,
      pageTableStride: 3,
    };
    void qLens;
    // The dequantized cache: code value x descale of the element's KV head (exact in fp32 here:
    // 4-bit significands times 3-bit ones).
    const deq = (codes: Uint8Array, ds: Float32Array) =>
      Float32Array.from(codes, (c, i) => decodeE4m3(c) * ds[Math.floor(i / d) % hkv]!);
    return {
      fp8: { ...common, kCache, vCache, kvDtype: 'fp8_e4m3' as const, kDescale, vDescale },
      dequantized: { ...common, kCache: deq(kCache, kDescale), vCache: deq(vCache, vDescale) },
    };
  }

  for (const causal of [false, true]) {
    it(`equals referenceAttention on the dequantized cache (causal ${causal})`, () => {
      const p = fp8Problem(causal ? 7 : 11, causal);
      const a = referenceAttention(p.fp8);
      const b = referenceAttention(p.dequantized);
      for (let i = 0; i < b.out.length; i++) expect(a.out[i]).toBeCloseTo(b.out[i]!, 5);
      for (let i = 0; i < b.lse.length; i++) expect(a.lse[i]).toBeCloseTo(b.lse[i]!, 5);
      expect(a.out.some((x) => x !== 0)).toBe(true);
    });
  }

  it('descales default to 1', () => {
    const p = fp8Problem(3, false);
    const none = referenceAttention({ ...p.fp8, kDescale: undefined, vDescale: undefined });
    const ones = referenceAttention({ ...p.fp8, kDescale: Float32Array.of(1, 1), vDescale: Float32Array.of(1, 1) });
    expect(none.out).toEqual(ones.out);
  });

  it('rejects a Float32Array cache with fp8, a code cache without it, and descales without fp8', () => {
    const p = fp8Problem(5, false);
    expectArgumentError(
      () => referenceAttention({ ...p.fp8, kCache: new Float32Array(p.fp8.kCache.length) } as never),
      'invalid_type',
      'referenceAttention.kCache',
      /Uint8Array/,
    );
    expectArgumentError(
      () => referenceAttention({ ...p.fp8, vCache: new Uint8Array(4) }),
      'out_of_range',
      'referenceAttention.vCache',
    );
    expectArgumentError(
      () => referenceAttention({ ...p.dequantized, kCache: p.fp8.kCache } as never),
      'invalid_type',
      'referenceAttention.kCache',
    );
    expectArgumentError(
      () => referenceAttention({ ...p.dequantized, vDescale: Float32Array.of(1, 1) } as never),
      'invalid_value',
      'referenceAttention.vDescale',
    );
  });
});
