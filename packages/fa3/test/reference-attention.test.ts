import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReferenceAttentionArgs } from '../src/index.js';
import { mergeSplitsReference, referenceAttention } from '../src/index.js';
import { expectArgumentError } from './support/expect-error.js';

/** Deterministic pseudo-random floats in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}
const randArray = (n: number, r: () => number, scale = 1) => Float32Array.from({ length: n }, () => r() * scale);

/**
 * A paged problem with one page-table row per request, pages handed out in a shuffled order so
 * that paging is exercised (contiguous pages would hide indexing bugs).
 */
function problem(o: {
  qLens: number[];
  kLens: number[];
  hq: number;
  hkv: number;
  d: number;
  pageSize: number;
  causal: boolean;
  seed: number;
  window?: [number, number];
  softcap?: number;
  qScale?: number;
}): ReferenceAttentionArgs {
  const r = rng(o.seed);
  const numReqs = o.qLens.length;
  const cuSeqlensQ = new Int32Array(numReqs + 1);
  o.qLens.forEach((q, b) => {
    cuSeqlensQ[b + 1] = cuSeqlensQ[b]! + q;
  });
  const pagesPer = o.kLens.map((k) => Math.ceil(k / o.pageSize));
  const stride = Math.max(1, ...pagesPer);
  const numPages = pagesPer.reduce((a, b) => a + b, 0) + 1;
  const order = Array.from({ length: numPages }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(((r() + 1) / 2) * (i + 1)) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const pageTable = new Int32Array(numReqs * stride).fill(-1); // unused entries must never be read
  let next = 0;
  pagesPer.forEach((n, b) => {
    for (let p = 0; p < n; p++) pageTable[b * stride + p] = order[next++]!;
  });
  const cacheLen = numPages * o.pageSize * o.hkv * o.d;
  return {
    q: randArray(cuSeqlensQ[numReqs]! * o.hq * o.d, r, o.qScale ?? 1),
    kCache: randArray(cacheLen, r),
    vCache: randArray(cacheLen, r),
    pageTable,
    cuSeqlensQ,
    seqLens: Int32Array.from(o.kLens),
    numHeadsQ: o.hq,
    numHeadsKv: o.hkv,
    headDim: o.d,
    pageSize: o.pageSize,
    causal: o.causal,
    window: o.window,
    softcap: o.softcap,
  };
}

/**
 * An independent dense oracle: gathers each request's K/V into a contiguous matrix, builds the full
 * mask matrix, and runs a textbook softmax (no paging, no range arithmetic), a head's sink as one
 * more logit in the softmax whose value row is zero.
 */
function denseAttention(a: ReferenceAttentionArgs): { out: Float32Array; lse: Float32Array } {
  const { numHeadsQ: hq, numHeadsKv: hkv, headDim: d, pageSize } = a;
  const numReqs = a.seqLens.length;
  const stride = a.pageTable.length / numReqs;
  const totalQ = a.cuSeqlensQ[numReqs]!;
  const out = new Float32Array(totalQ * hq * d);
  const lse = new Float32Array(hq * totalQ);
  const scale = a.softmaxScale ?? 1 / Math.sqrt(d);
  const [left, right] = a.window ?? [-1, -1];
  for (let b = 0; b < numReqs; b++) {
    const q0 = a.cuSeqlensQ[b]!;
    const ql = a.cuSeqlensQ[b + 1]! - q0;
    const kl = a.seqLens[b]!;
    const K: number[][][] = [];
    const V: number[][][] = [];
    for (let j = 0; j < kl; j++) {
      const slot = a.pageTable[b * stride + Math.floor(j / pageSize)]! * pageSize + (j % pageSize);
      K.push(
        Array.from({ length: hkv }, (_, h) =>
          Array.from(a.kCache.subarray((slot * hkv + h) * d, (slot * hkv + h + 1) * d)),
        ),
      );
      V.push(
        Array.from({ length: hkv }, (_, h) =>
          Array.from(a.vCache.subarray((slot * hkv + h) * d, (slot * hkv + h + 1) * d)),
        ),
      );
    }
    for (let i = 0; i < ql; i++) {
      for (let h = 0; h < hq; h++) {
        const kh = Math.floor((h * hkv) / hq);
        const qv = Array.from(a.q.subarray(((q0 + i) * hq + h) * d, ((q0 + i) * hq + h + 1) * d));
        const allowed = Array.from({ length: kl }, (_, j) => {
          const diag = j - (kl - ql + i); // key offset from the query's diagonal
          if (a.causal && diag > 0) return false;
          if (right >= 0 && diag > right) return false;
          if (left >= 0 && -diag > left) return false;
          return true;
        });
        const s = K.map((k, j) => {
          let v = k[kh]!.reduce((acc, x, c) => acc + x * qv[c]!, 0) * scale;
          if (a.softcap) v = a.softcap * Math.tanh(v / a.softcap);
          return allowed[j] ? v : Number.NEGATIVE_INFINITY;
        });
        const sink = a.sinks ? a.sinks[h]! : Number.NEGATIVE_INFINITY;
        const m = Math.max(...s, sink);
        if (m === Number.NEGATIVE_INFINITY) {
          lse[h * totalQ + q0 + i] = m;
          continue;
        }
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((x, y) => x + y, Math.exp(sink - m));
        lse[h * totalQ + q0 + i] = m + Math.log(z);
        for (let c = 0; c < d; c++)
          out[((q0 + i) * hq + h) * d + c] = e.reduce((acc, w, j) => acc + w * V[j]![kh]![c]!, 0) / z;
      }
    }
  }
  return { out, lse };
}

function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (a === e) continue; // includes -Infinity == -Infinity
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) throw new Error(`element ${i}: got ${a}, expected ${e}`);
  }
}

/**
 * One request over pagesA + pagesB pages of 16 keys, attended whole and as its two page-aligned
 * halves (each half's partial without the sink), the halves LSE-merged (with the sinks, once).
 */
function mergeHalves(
  qLen: number,
  pagesA: number,
  pagesB: number,
  seed: number,
  o: { softcap?: number | undefined; sinks?: Float32Array },
) {
  const pageSize = 16;
  const whole = problem({
    qLens: [qLen],
    kLens: [(pagesA + pagesB) * pageSize],
    hq: 4,
    hkv: 2,
    d: 8,
    pageSize,
    causal: false,
    seed,
    softcap: o.softcap,
  });
  const stride = Math.max(1, pagesA + pagesB);
  const half = (from: number, n: number) => {
    const pageTable = new Int32Array(stride).fill(-1);
    pageTable.set(whole.pageTable.subarray(from, from + n));
    return referenceAttention({ ...whole, pageTable, seqLens: new Int32Array([n * pageSize]) });
  };
  const a = half(0, pagesA);
  const b = half(pagesA, pagesB);
  const sinks = o.sinks ? { sinks: o.sinks } : {};
  const merged = mergeSplitsReference({
    outs: [a.out, b.out],
    lses: [a.lse, b.lse],
    numHeadsQ: 4,
    headDim: 8,
    ...sinks,
  });
  const full = referenceAttention({ ...whole, ...sinks });
  return { merged, full };
}

describe('referenceAttention: hand-computed cases', () => {
  const one = (over: Partial<ReferenceAttentionArgs>): ReferenceAttentionArgs => ({
    q: new Float32Array([1, 0]),
    kCache: new Float32Array(32),
    vCache: new Float32Array(32),
    pageTable: new Int32Array([0]),
    cuSeqlensQ: new Int32Array([0, 1]),
    seqLens: new Int32Array([2]),
    numHeadsQ: 1,
    numHeadsKv: 1,
    headDim: 2,
    pageSize: 16,
    causal: false,
    softmaxScale: 1,
    ...over,
  });
  // keys k0 = [1, 0], k1 = [0, 0]; values v0 = [1, 2], v1 = [3, 4].
  const k = new Float32Array(32);
  k.set([1, 0, 0, 0]);
  const v = new Float32Array(32);
  v.set([1, 2, 3, 4]);

  it('two keys: softmax of [1, 0]', () => {
    const { out, lse } = referenceAttention(one({ kCache: k, vCache: v }));
    const p0 = Math.E / (Math.E + 1);
    const p1 = 1 / (Math.E + 1);
    expectClose(out, new Float32Array([p0 * 1 + p1 * 3, p0 * 2 + p1 * 4]), 1e-6);
    expectClose(lse, new Float32Array([Math.log(Math.E + 1)]), 1e-6);
  });

  it('softmaxScale defaults to 1/sqrt(D)', () => {
    const { lse } = referenceAttention(one({ kCache: k, vCache: v, softmaxScale: undefined }));
    expectClose(lse, new Float32Array([Math.log(Math.exp(Math.SQRT1_2) + 1)]), 1e-6);
  });

  it('softcap applies c * tanh(s / c) to the scaled score', () => {
    const { lse } = referenceAttention(one({ kCache: k, vCache: v, softmaxScale: 3, softcap: 2 }));
    expectClose(lse, new Float32Array([Math.log(Math.exp(2 * Math.tanh(1.5)) + 1)]), 1e-6);
  });

  it('causal is bottom-right aligned: q_len 2, k_len 3', () => {
    // One-hot values: out[c] = weight of key c. Query 0 sits at key 1 (sees 0..1), query 1 at key 2.
    const vv = new Float32Array(16 * 3);
    vv.set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const { out, lse } = referenceAttention(
      one({
        q: new Float32Array(6),
        kCache: new Float32Array(48),
        vCache: vv,
        cuSeqlensQ: new Int32Array([0, 2]),
        seqLens: new Int32Array([3]),
        headDim: 3,
        causal: true,
      }),
    );
    expectClose(out, new Float32Array([0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3]), 1e-6);
    expectClose(lse, new Float32Array([Math.log(2), Math.log(3)]), 1e-6);
  });

  it('causal with q_len > k_len: leading rows see no key -> zeros and -Infinity', () => {
    const { out, lse } = referenceAttention(
      one({
        q: new Float32Array(6),
        kCache: k,
        vCache: v,
        cuSeqlensQ: new Int32Array([0, 3]),
        seqLens: new Int32Array([1]),
        causal: true,
      }),
    );
    expect(Array.from(lse)).toEqual([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0]);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 1, 2]);
  });

  it('a request with no keys gives zeros and -Infinity; q_len 0 gives nothing', () => {
    const { out, lse } = referenceAttention(
      one({
        cuSeqlensQ: new Int32Array([0, 0, 1]),
        seqLens: new Int32Array([5, 0]),
        pageTable: new Int32Array([0, -7]),
      }),
    );
    expect(Array.from(out)).toEqual([0, 0]);
    expect(Array.from(lse)).toEqual([Number.NEGATIVE_INFINITY]);
  });

  it('window [1, 0] sees the diagonal key and one before it', () => {
    const vv = new Float32Array(16 * 4);
    vv.set([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const { out } = referenceAttention(
      one({
        q: new Float32Array(4),
        kCache: new Float32Array(64),
        vCache: vv,
        seqLens: new Int32Array([4]),
        headDim: 4,
        window: [1, 0],
      }),
    );
    expectClose(out, new Float32Array([0, 0, 0.5, 0.5]), 1e-6);
  });

  it('window [0, 1] without causal looks one key ahead of the diagonal', () => {
    const vv = new Float32Array(16 * 4);
    vv.set([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    const { out } = referenceAttention(
      one({
        q: new Float32Array(8),
        kCache: new Float32Array(64),
        vCache: vv,
        cuSeqlensQ: new Int32Array([0, 2]),
        seqLens: new Int32Array([4]),
        headDim: 4,
        window: [0, 1],
      }),
    );
    // Query 0 sits at key 2 -> keys 2..3; query 1 at key 3 -> key 3.
    expectClose(out, new Float32Array([0, 0, 0.5, 0.5, 0, 0, 0, 1]), 1e-6);
  });
});

describe('referenceAttention: the page table is a security boundary', () => {
  const base = problem({ qLens: [1, 2], kLens: [40, 20], hq: 2, hkv: 1, d: 8, pageSize: 16, causal: false, seed: 7 });
  it.each([
    [1, 1, 99, /got 99, allowed a page of kCache, in \[0, 6\)/],
    [0, 2, -1, /got -1/],
  ])('request %i page %i = %i throws an out_of_range error naming both', (b, p, bad, message) => {
    const pageTable = base.pageTable.slice();
    pageTable[b * 3 + p] = bad;
    expectArgumentError(
      () => referenceAttention({ ...base, pageTable }),
      'out_of_range',
      `referenceAttention.pageTable[${b}][${p}]`,
      message,
    );
  });

  it('entries past the pages a request needs are never read', () => {
    // Request 1 has 20 keys: 2 pages; its third entry is -1 in `problem` and stays unread.
    expect(base.pageTable[1 * 3 + 2]).toBe(-1);
    expect(() => referenceAttention(base)).not.toThrow();
  });

  it('argument errors name the argument', () => {
    const fn = 'referenceAttention';
    expectArgumentError(
      () => referenceAttention({ ...base, numHeadsQ: 3, numHeadsKv: 2 }),
      'invalid_value',
      `${fn}.numHeadsQ`,
      /multiple of numHeadsKv/,
    );
    expectArgumentError(
      () => referenceAttention({ ...base, q: new Float32Array(3) }),
      'out_of_range',
      `${fn}.q.length`,
      /totalQ x numHeadsQ x headDim/,
    );
    expectArgumentError(() => referenceAttention({ ...base, window: [-2, 0] }), 'out_of_range', `${fn}.window[0]`);
    expectArgumentError(
      () => referenceAttention({ ...base, causal: true, window: [4, 3] }),
      'invalid_value',
      `${fn}.window[1]`,
      /-1 or 0 when causal/,
    );
    expectArgumentError(() => referenceAttention({ ...base, softcap: -1 }), 'out_of_range', `${fn}.softcap`);
    expectArgumentError(
      () => referenceAttention({ ...base, seqLens: new Int32Array([40, 60]) }),
      'out_of_range',
      `${fn}.seqLens[1]`,
      /pageTableStride x pageSize = 3 x 16 keys/,
    );
  });
});

describe('referenceAttention: properties', () => {
  const cfg = fc.record({
    reqs: fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 40 })), {
      minLength: 1,
      maxLength: 4,
    }),
    hkv: fc.integer({ min: 1, max: 2 }),
    g: fc.constantFrom(1, 2, 4),
    d: fc.constantFrom(4, 8),
    pageSize: fc.constantFrom(16, 32),
    causal: fc.boolean(),
    window: fc.option(fc.tuple(fc.integer({ min: -1, max: 12 }), fc.integer({ min: -1, max: 12 })), { nil: undefined }),
    softcap: fc.option(fc.constantFrom(0.5, 5, 30), { nil: undefined }),
    qScale: fc.constantFrom(1, 8),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  });
  type Cfg = typeof cfg extends fc.Arbitrary<infer T> ? T : never;
  const build = (c: Cfg) =>
    problem({
      qLens: c.reqs.map((r) => r[0]),
      kLens: c.reqs.map((r) => r[1]),
      hq: c.hkv * c.g,
      hkv: c.hkv,
      d: c.d,
      pageSize: c.pageSize,
      causal: c.causal,
      window: c.window && c.causal ? [c.window[0], Math.min(c.window[1], 0)] : c.window,
      softcap: c.softcap,
      qScale: c.qScale,
      seed: c.seed,
    });

  it('equals an independent dense masked attention (causal, window, softcap, GQA, paging)', () => {
    fc.assert(
      fc.property(cfg, (c) => {
        const a = build(c);
        const got = referenceAttention(a);
        const want = denseAttention(a);
        expectClose(got.out, want.out);
        expectClose(got.lse, want.lse);
      }),
      { numRuns: 300 },
    );
  });

  it('softmax weights sum to 1: with all-ones values every row that sees a key outputs ones', () => {
    fc.assert(
      fc.property(cfg, (c) => {
        const a = build(c);
        const { out, lse } = referenceAttention({ ...a, vCache: new Float32Array(a.vCache.length).fill(1) });
        const totalQ = a.cuSeqlensQ[a.seqLens.length]!;
        for (let t = 0; t < totalQ; t++) {
          for (let h = 0; h < a.numHeadsQ; h++) {
            const seen = lse[h * totalQ + t] !== Number.NEGATIVE_INFINITY;
            for (let x = 0; x < a.headDim; x++) {
              const v = out[(t * a.numHeadsQ + h) * a.headDim + x]!;
              if (seen) expect(Math.abs(v - 1)).toBeLessThan(1e-6);
              else expect(v).toBe(0);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('GQA equals repeating each KV head G times', () => {
    fc.assert(
      fc.property(cfg, (c) => {
        const a = build({ ...c, g: 4 });
        const { numHeadsKv: hkv, numHeadsQ: hq, headDim: d } = a;
        const g = hq / hkv;
        const slots = a.kCache.length / (hkv * d);
        const rep = (src: Float32Array) => {
          const dst = new Float32Array(slots * hq * d);
          for (let s = 0; s < slots; s++)
            for (let h = 0; h < hq; h++)
              dst.set(
                src.subarray((s * hkv + Math.floor(h / g)) * d, (s * hkv + Math.floor(h / g) + 1) * d),
                (s * hq + h) * d,
              );
          return dst;
        };
        const gqa = referenceAttention(a);
        const mha = referenceAttention({ ...a, numHeadsKv: hq, kCache: rep(a.kCache), vCache: rep(a.vCache) });
        expect(gqa.out).toEqual(mha.out);
        expect(gqa.lse).toEqual(mha.lse);
      }),
      { numRuns: 100 },
    );
  });

  it('split-merge identity: LSE-merging the results over two page-aligned KV halves equals the whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.option(fc.constantFrom(1, 10), { nil: undefined }),
        (qLen, pagesA, pagesB, seed, softcap) => {
          const { merged, full } = mergeHalves(qLen, pagesA, pagesB, seed, { softcap });
          expectClose(merged.out, full.out, 1e-5);
          expectClose(merged.lse, full.lse, 1e-6);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is numerically stable for large scores (running max): no Infinity or NaN', () => {
    const a = problem({
      qLens: [3],
      kLens: [50],
      hq: 2,
      hkv: 1,
      d: 8,
      pageSize: 16,
      causal: true,
      seed: 3,
      qScale: 1e4,
    });
    const { out, lse } = referenceAttention(a);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(lse.every(Number.isFinite)).toBe(true);
  });
});

describe('referenceAttention: capacity-sized inputs and caller-owned outputs', () => {
  const base = problem({ qLens: [1, 3], kLens: [20, 9], hq: 4, hkv: 2, d: 8, pageSize: 16, causal: true, seed: 11 });
  const totalQ = 4;
  const row = 4 * 8;

  it('reads only the first totalQ rows of a capacity-sized q', () => {
    const want = referenceAttention(base);
    const q = new Float32Array(16 * row).fill(Number.NaN); // capacity 16 rows; the tail is never read
    q.set(base.q);
    const got = referenceAttention({ ...base, q });
    expect(got.out).toEqual(want.out);
    expect(got.lse).toEqual(want.lse);
  });

  it('writes into out and lse when given (the same arrays come back), leaving rows past totalQ alone', () => {
    const want = referenceAttention(base);
    const out = new Float32Array(16 * row).fill(7);
    const lse = new Float32Array(4 * totalQ).fill(7);
    const got = referenceAttention({ ...base, out, lse });
    expect(got.out).toBe(out);
    expect(got.lse).toBe(lse);
    expect(out.subarray(0, totalQ * row)).toEqual(want.out);
    expect(lse).toEqual(want.lse);
    expect(out.subarray(totalQ * row).every((v) => v === 7)).toBe(true);
  });

  it('clears rows that see no key in a reused output', () => {
    const causalEarly = problem({ qLens: [3], kLens: [1], hq: 1, hkv: 1, d: 4, pageSize: 16, causal: true, seed: 3 });
    const out = new Float32Array(3 * 4).fill(9);
    referenceAttention({ ...causalEarly, out });
    expect(Array.from(out.subarray(0, 8))).toEqual(new Array(8).fill(0)); // two leading rows see no key
  });

  it('a too-small out is rejected before anything is written', () => {
    const out = new Float32Array(totalQ * row - 1).fill(5);
    expectArgumentError(() => referenceAttention({ ...base, out }), 'out_of_range', 'referenceAttention.out.length');
    expect(out.every((v) => v === 5)).toBe(true);
  });
});

describe('referenceAttention: attention sinks', () => {
  const NEG = Number.NEGATIVE_INFINITY;
  // One head, D 2, keys k0 = [1, 0], k1 = [0, 0], values v0 = [1, 2], v1 = [3, 4], q = [1, 0],
  // scale 1: scores [1, 0].
  const k = new Float32Array(32);
  k.set([1, 0, 0, 0]);
  const v = new Float32Array(32);
  v.set([1, 2, 3, 4]);
  const base: ReferenceAttentionArgs = {
    q: new Float32Array([1, 0]),
    kCache: k,
    vCache: v,
    pageTable: new Int32Array([0]),
    cuSeqlensQ: new Int32Array([0, 1]),
    seqLens: new Int32Array([2]),
    numHeadsQ: 1,
    numHeadsKv: 1,
    headDim: 2,
    pageSize: 16,
    causal: false,
    softmaxScale: 1,
  };

  it('hand-computed: the sink joins the denominator only (softmax of [1, 0, sink], sink row dropped)', () => {
    for (const sink of [0.5, -3, 4]) {
      const { out, lse } = referenceAttention({ ...base, sinks: new Float32Array([sink]) });
      const z = Math.E + 1 + Math.exp(sink);
      expectClose(out, new Float32Array([(Math.E * 1 + 3) / z, (Math.E * 2 + 4) / z]), 1e-6);
      expectClose(lse, new Float32Array([Math.log(z)]), 1e-6);
    }
  });

  it('the sink is used as is: neither softmaxScale nor softcap applies to it', () => {
    const { lse } = referenceAttention({ ...base, softmaxScale: 0.5, softcap: 0.25, sinks: new Float32Array([2]) });
    const s0 = 0.25 * Math.tanh(0.5 / 0.25);
    expectClose(lse, new Float32Array([Math.log(Math.exp(s0) + 1 + Math.exp(2))]), 1e-6);
  });

  it('a row that sees no key gets zeros and LSE = its sink; -Infinity is no sink at all', () => {
    const r = referenceAttention({
      ...base,
      q: new Float32Array([1, 0, 0, 1]),
      numHeadsQ: 2,
      seqLens: new Int32Array([0]),
      sinks: new Float32Array([1.5, NEG]),
    });
    expect(Array.from(r.out)).toEqual([0, 0, 0, 0]);
    expect(Array.from(r.lse)).toEqual([1.5, NEG]);
    const off = referenceAttention({ ...base, sinks: new Float32Array([NEG]) });
    const none = referenceAttention(base);
    expect(off.out).toEqual(none.out);
    expect(off.lse).toEqual(none.lse);
  });

  it('equals the dense oracle with sinks (causal, window, softcap, GQA, paging)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.boolean(),
        fc.constantFrom(1, 2, 4),
        fc.array(fc.oneof(fc.double({ min: -6, max: 12, noNaN: true }), fc.constant(NEG)), {
          minLength: 8,
          maxLength: 8,
        }),
        (seed, causal, g, sinkValues) => {
          const a = problem({
            qLens: [3, 1, 0, 5],
            kLens: [40, 2, 9, 3],
            hq: 2 * g,
            hkv: 2,
            d: 8,
            pageSize: 16,
            causal,
            seed,
            qScale: 4,
          });
          const sinks = Float32Array.from(sinkValues.slice(0, a.numHeadsQ));
          const got = referenceAttention({ ...a, sinks });
          const want = denseAttention({ ...a, sinks });
          expectClose(got.out, want.out);
          expectClose(got.lse, want.lse);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('split-merge identity with sinks: partials without the sink, merged with it once, equal the whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.double({ min: -4, max: 8, noNaN: true }),
        (qLen, pagesA, pagesB, seed, sink) => {
          const sinks = new Float32Array([sink, sink / 2, NEG, -sink]);
          const { merged, full } = mergeHalves(qLen, pagesA, pagesB, seed, { sinks });
          expectClose(merged.out, full.out, 1e-5);
          expectClose(merged.lse, full.lse, 1e-6);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('bad sinks are typed errors naming the argument, before anything is written', () => {
    const out = new Float32Array(2).fill(7);
    expectArgumentError(
      () => referenceAttention({ ...base, sinks: [1] as never, out }),
      'invalid_type',
      'referenceAttention.sinks',
    );
    expectArgumentError(
      () => referenceAttention({ ...base, numHeadsQ: 1, sinks: new Float32Array(0), out }),
      'out_of_range',
      'referenceAttention.sinks.length',
    );
    expectArgumentError(
      () => referenceAttention({ ...base, sinks: new Float32Array([Number.NaN]), out }),
      'invalid_value',
      'referenceAttention.sinks[0]',
    );
    expectArgumentError(
      () => referenceAttention({ ...base, sinks: new Float32Array([Number.POSITIVE_INFINITY]), out }),
      'invalid_value',
      'referenceAttention.sinks[0]',
    );
    expect(Array.from(out)).toEqual([7, 7]);
    const merge = { outs: [new Float32Array(2)], lses: [new Float32Array(1)], numHeadsQ: 1, headDim: 2 };
    expectArgumentError(
      () => mergeSplitsReference({ ...merge, sinks: new Float32Array([Number.NaN]) }),
      'invalid_value',
      'mergeSplitsReference.sinks[0]',
    );
    expectArgumentError(
      () => mergeSplitsReference({ ...merge, sinks: new Float32Array(0) }),
      'out_of_range',
      'mergeSplitsReference.sinks.length',
    );
  });
});
