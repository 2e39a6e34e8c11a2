import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planSplits, tileShape } from '../src/index.js';
import { ceilDiv, stepSplitBound } from '../src/plan-splits.js';

/** A batch from per-request (qLen, kLen) pairs. */
function batch(reqs: readonly (readonly [number, number])[]): {
  cuSeqlensQ: Int32Array;
  seqLens: Int32Array;
  numReqs: number;
} {
  const cuSeqlensQ = new Int32Array(reqs.length + 1);
  const seqLens = new Int32Array(reqs.length);
  reqs.forEach(([q, k], b) => {
    cuSeqlensQ[b + 1] = cuSeqlensQ[b]! + q;
    seqLens[b] = k;
  });
  return { cuSeqlensQ, seqLens, numReqs: reqs.length };
}

// Llama-3-8B-like decode geometry on an H100 SXM (132 SMs): G = 4, D = 128 -> blockM 64, blockN 64.
const llama = { numHeadsQ: 32, numHeadsKv: 8, headDim: 128, smCount: 132, maxNumSplits: 32 } as const;

describe('tileShape', () => {
  it.each([
    [64, 1, 64, 128],
    [64, 8, 64, 128],
    [128, 1, 64, 64],
    [128, 4, 64, 64],
    [256, 2, 64, 64],
    [96, 1, 64, 64],
    [192, 8, 64, 64],
  ])('headDim %i, G %i -> blockM %i, blockN %i (scheduling.h tile_shape)', (d, g, m, n) => {
    expect(tileShape(d, g)).toEqual({ blockM: m, blockN: n });
  });

  it('rejects head dims the kernels do not build', () => {
    expect(() => tileShape(80, 1)).toThrow(
      expect.objectContaining({ code: 'invalid_value', path: 'tileShape.headDim' }),
    );
    expect(() => tileShape(128, 0)).toThrow(
      expect.objectContaining({ code: 'out_of_range', path: 'tileShape.qheadsPerKvhead' }),
    );
  });
});

describe('ceilDiv', () => {
  it('is exact where float division rounds', () => {
    expect(ceilDiv(0, 7)).toBe(0);
    expect(ceilDiv(1, 64)).toBe(1);
    expect(ceilDiv(64, 64)).toBe(1);
    expect(ceilDiv(65, 64)).toBe(2);
    expect(ceilDiv(2 ** 53 - 1, 3)).toBe(3002399751580331);
    expect(ceilDiv(2 ** 52 + 1, 2 ** 52)).toBe(2);
  });
});

describe('step split bound (FA3 wave-efficiency heuristic)', () => {
  const base = { ...llama, cuSeqlensQ: new Int32Array([0, 1]), seqLens: new Int32Array([1]), numReqs: 1 };
  // Hand-computed over ctaSlots = 2 x 132 = 264: totalMBlocks = 8 * ceil(1 * 4 / 64) = 8;
  // numNBlocks = 32768 / 64 = 512; eff(s) = 8s / 264 for s <= 32, best 256/264 at s = 32;
  // 0.85 x best -> 8s >= 217.6 -> s >= 28; ceil(512/28) = ceil(512/27) = 19, so s = 29 (18).
  it.each([
    ['decode 32k, S = 32', { maxSeqlenQ: 1, maxSeqlenK: 32768, maxNumSplits: 32 }, 29],
    // S = 8: best eff 64/264 at s = 8; 8s >= 54.4 -> s = 7 (ceil(512/7) = 74 != ceil(512/6) = 86).
    ['decode 32k, S = 8', { maxSeqlenQ: 1, maxSeqlenK: 32768, maxNumSplits: 8 }, 7],
    ['S = 1 always 1', { maxSeqlenQ: 1, maxSeqlenK: 32768, maxNumSplits: 1 }, 1],
    // 10 * totalMBlocks >= 8 * ctaSlots: 8 * ceil(1024 * 4 / 64) = 512 tiles already fill the machine.
    ['prefill 1k', { maxSeqlenQ: 1024, maxSeqlenK: 32768, maxNumSplits: 32 }, 1],
    // numNBlocks = 256 / 64 = 4 <= 4.
    ['short context', { maxSeqlenQ: 1, maxSeqlenK: 256, maxNumSplits: 32 }, 1],
    ['empty step', { maxSeqlenQ: 0, maxSeqlenK: 0, maxNumSplits: 32 }, 1],
    // numNBlocks = 5: s <= 5; eligible 1, 2, 3, 5 (ceil(5/4) = ceil(5/3) = 2); eff 8s/264 -> best 5,
    // 0.85 x 40 = 34 -> s = 5.
    ['5 KV blocks', { maxSeqlenQ: 1, maxSeqlenK: 257, maxNumSplits: 32 }, 5],
    ['explicit numSplits is the bound', { maxSeqlenQ: 1, maxSeqlenK: 32768, numSplits: 3 }, 3],
    ['explicit numSplits 1', { maxSeqlenQ: 1024, maxSeqlenK: 128, numSplits: 1 }, 1],
  ] as const)('%s -> %i', (_name, over, expected) => {
    const plan = planSplits({ numSplits: 0, ...base, ...over });
    expect(plan.numSplitsBound).toBe(expected);
  });

  it('D = 64 uses 128-key blocks: 32768 / 128 = 256 blocks', () => {
    // totalMBlocks = 8; best eff at s = 32 (256/264), threshold s >= 28; ceil(256/28) = ceil(256/27) = 10,
    // ceil(256/29) = 9 -> s = 29.
    const plan = planSplits({ ...base, headDim: 64, numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 32768 });
    expect(plan.blockN).toBe(128);
    expect(plan.numSplitsBound).toBe(29);
  });

  it('stays in [1, maxNumSplits] and within min(128, ctaSlots, KV blocks)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }), // Hkv
        fc.constantFrom(1, 2, 4, 8), // G
        fc.constantFrom(64, 128, 256),
        fc.integer({ min: 1, max: 256 }), // S
        fc.integer({ min: 0, max: 4096 }), // maxSeqlenQ
        fc.integer({ min: 0, max: 1 << 20 }), // maxSeqlenK
        fc.integer({ min: 1, max: 264 }), // SMs
        (hkv, g, d, s, mq, mk, sm) => {
          const { blockM, blockN } = tileShape(d, g);
          const b = stepSplitBound({
            numSplits: 0,
            maxSeqlenQ: mq,
            maxSeqlenK: mk,
            numHeadsKv: hkv,
            qheadsPerKvhead: g,
            blockM,
            blockN,
            smCount: sm,
            maxNumSplits: s,
          });
          expect(Number.isInteger(b)).toBe(true);
          expect(b).toBeGreaterThanOrEqual(1);
          expect(b).toBeLessThanOrEqual(s);
          if (b > 1) expect(b).toBeLessThanOrEqual(Math.min(128, 2 * sm, ceilDiv(mk, blockN)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('planSplits per-request splits and tiles', () => {
  it('matches a hand-computed decode batch', () => {
    // m = [1, 1, 0, 1], n = [512, 2, 0, 0]; totalWork = (512 + 2) * 8 = 4112; ctaSlots = 264;
    // blocksPerSlot = ceil(4112 * 11 / 2640) = 18; splits = [min(ceil(512/18) = 29, 29), 1, 0, 1].
    const plan = planSplits({
      ...llama,
      ...batch([
        [1, 32768],
        [1, 100],
        [0, 0],
        [1, 0],
      ]),
      numSplits: 0,
      maxSeqlenQ: 1,
      maxSeqlenK: 32768,
    });
    expect(plan.numSplitsBound).toBe(29);
    expect(Array.from(plan.splits)).toEqual([29, 1, 0, 1]);
    expect(Array.from(plan.tileOffsets)).toEqual([0, 232, 240, 240, 248]);
    expect(plan.kernel).toBe('decode');
    expect(Array.from(plan.order)).toEqual([0, 1, 2, 3]); // decode steps keep the request order
    expect(plan.totalTiles).toBe(248);
  });

  it('orders requests longest tiles first (ties by index) and numbers tiles in that order', () => {
    // n = [2, 512, 8, 8] KV blocks, one query each, on the general kernel (a decode step keeps the
    // request order); fill rule: blocks per slot 17 -> splits [1, 29, 1, 1], tile lengths [2, 18, 8, 8].
    const plan = planSplits({
      kernel: 'general',
      ...llama,
      ...batch([
        [1, 100],
        [1, 32768],
        [1, 500],
        [1, 512],
      ]),
      numSplits: 0,
      maxSeqlenQ: 1,
      maxSeqlenK: 32768,
    });
    expect(Array.from(plan.splits)).toEqual([1, 29, 1, 1]);
    expect(Array.from(plan.order)).toEqual([1, 2, 3, 0]);
    expect(Array.from(plan.tileOffsets)).toEqual([0, 232, 240, 248, 256]);
  });

  it('small batches fill the CTA slots in one balanced wave (the fill rule)', () => {
    // B=1, 4k: n = 64, totalWork = 512, ctaSlots = 264. FA3's blocks per slot, ceil(512 * 11 / 2640) = 3,
    // gives 22 splits = 176 tiles; the fill rule takes the smallest value in [ceil(512 / 264) = 2, 3]
    // whose tiles fit: 2 -> 32 splits = 256 tiles.
    const one = planSplits({ ...llama, ...batch([[1, 4096]]), numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 4096 });
    expect(one.numSplitsBound).toBe(32);
    expect(Array.from(one.splits)).toEqual([32]);
    expect(one.totalTiles).toBe(256);
    // B=2, 4k: FA3 gives ceil(11264 / 2640) = 5 -> 13 splits (208 tiles); filled: 4 -> 16 splits (256 tiles).
    const two = planSplits({
      ...llama,
      ...batch([
        [1, 4096],
        [1, 4096],
      ]),
      numSplits: 0,
      maxSeqlenQ: 1,
      maxSeqlenK: 4096,
    });
    expect(Array.from(two.splits)).toEqual([16, 16]);
    expect(two.totalTiles).toBe(256);
  });

  it("the fill rule stops at 32 requests: 33 requests keep FA3's blocks per slot", () => {
    // Requests with no queries add no work and no tiles, so 32 and 33 requests differ only in the rule.
    const reqs = (n: number): [number, number][] => [
      [1, 4096],
      [1, 4096],
      ...Array.from({ length: n - 2 }, (): [number, number] => [0, 0]),
    ];
    const args = { ...llama, numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 4096 };
    expect(Array.from(planSplits({ ...args, ...batch(reqs(32)) }).splits.subarray(0, 2))).toEqual([16, 16]);
    expect(Array.from(planSplits({ ...args, ...batch(reqs(33)) }).splits.subarray(0, 2))).toEqual([13, 13]);
  });

  it('an explicit bound caps every request', () => {
    const plan = planSplits({
      ...llama,
      ...batch([
        [1, 32768],
        [1, 4096],
      ]),
      numSplits: 4,
      maxSeqlenQ: 1,
      maxSeqlenK: 32768,
    });
    // totalWork = (512 + 64) * 8 = 4608 -> blocksPerSlot = ceil(50688 / 2640) = 20; ceil(64/20) = 4.
    expect(Array.from(plan.splits)).toEqual([4, 4]);
    expect(plan.totalTiles).toBe(8 * 4 + 8 * 4);
  });

  it.each([
    // q = 1000 tokens x G 4 = 4000 packed rows -> m = ceil(4000 / 64) = 63 (general, 64-row tiles)
    // or ceil(4000 / 128) = 32 (wgmma, 128-row tiles): 8 x m tiles fill the 264 CTA slots.
    ['general', 63],
    ['wgmma', 32],
  ] as const)('prefill on the %s kernel: GQA-packed query blocks, no split when the machine is full', (kernel, m) => {
    const b = batch([[1000, 1000]]);
    const plan = planSplits({ ...llama, ...b, numSplits: 0, maxSeqlenQ: 1000, maxSeqlenK: 1000, kernel });
    expect(plan.kernel).toBe(kernel);
    expect(plan.numSplitsBound).toBe(1);
    expect(Array.from(plan.splits)).toEqual([1]);
    expect(plan.totalTiles).toBe(8 * m);
  });

  it('has no 992-request limit: request 4000 of 4096 still gets dynamic splits', () => {
    const reqs: [number, number][] = Array.from({ length: 4096 }, () => [1, 1]);
    reqs[4000] = [1, 32768];
    const plan = planSplits({ ...llama, ...batch(reqs), numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 32768 });
    // totalWork = 4095 * 8 + 512 * 8 = 36856 -> blocksPerSlot = ceil(405416 / 2640) = 154 -> ceil(512/154) = 4.
    expect(plan.splits[4000]).toBe(4);
    expect(plan.splits[3999]).toBe(1);
    expect(plan.totalTiles).toBe(4095 * 8 + 4 * 8);
    expect(plan.tileOffsets).toHaveLength(4097);
  });

  it('numReqs 0 is an empty plan', () => {
    const plan = planSplits({ ...llama, ...batch([]), numSplits: 0, maxSeqlenQ: 0, maxSeqlenK: 0 });
    expect(plan.splits).toHaveLength(0);
    expect(Array.from(plan.tileOffsets)).toEqual([0]);
    expect(plan.totalTiles).toBe(0);
  });

  it('only reads the first numReqs entries of longer arrays', () => {
    const b = batch([
      [1, 5000],
      [3, 70],
      [9, 9],
    ]);
    const full = planSplits({ ...llama, ...b, numReqs: 2, numSplits: 0, maxSeqlenQ: 3, maxSeqlenK: 5000 });
    const cut = planSplits({
      ...llama,
      cuSeqlensQ: b.cuSeqlensQ.slice(0, 3),
      seqLens: b.seqLens.slice(0, 2),
      numReqs: 2,
      numSplits: 0,
      maxSeqlenQ: 3,
      maxSeqlenK: 5000,
    });
    expect(full).toEqual(cut);
  });

  it("property: with <= 32 requests the tiles fit the CTA slots whenever FA3's would, and never fewer", () => {
    const small = fc.tuple(
      fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 })),
      fc.integer({ min: 0, max: 65536 }),
    );
    fc.assert(
      fc.property(fc.array(small, { minLength: 1, maxLength: 32 }), fc.integer({ min: 1, max: 200 }), (reqs, sm) => {
        const b = batch(reqs);
        const args = { ...llama, ...b, smCount: sm, numSplits: 8, maxSeqlenQ: 4, maxSeqlenK: 65536 };
        const plan = planSplits(args);
        // FA3's rule, computed directly.
        const work = reqs.reduce((w, [q, k]) => w + Math.ceil((q * 4) / 64) * Math.ceil(k / 64) * 8, 0);
        const bps = Math.max(1, Math.ceil((work * 11) / (10 * 2 * sm)));
        const fa3Tiles = reqs.reduce(
          (t, [q, k]) =>
            t +
            (q === 0 ? 0 : 8 * Math.ceil((q * 4) / 64) * Math.min(Math.max(Math.ceil(Math.ceil(k / 64) / bps), 1), 8)),
          0,
        );
        if (fa3Tiles <= 2 * sm) expect(plan.totalTiles).toBeLessThanOrEqual(2 * sm);
        expect(plan.totalTiles).toBeGreaterThanOrEqual(fa3Tiles);
      }),
      { numRuns: 1000 },
    );
  });

  const reqArb = fc.tuple(
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 2048 })),
    fc.integer({ min: 0, max: 65536 }),
  );
  it('properties: splits in [1, bound] for q > 0 and 0 for q = 0; offsets are the prefix sum of tiles', () => {
    fc.assert(
      fc.property(
        fc.array(reqArb, { minLength: 1, maxLength: 300 }),
        fc.constantFrom(1, 2, 4, 8),
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom(64, 128, 256),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 0, max: 256 }),
        fc.integer({ min: 1, max: 200 }),
        (reqs, g, hkv, d, s, nsRaw, sm) => {
          const b = batch(reqs);
          const numSplits = nsRaw % (s + 1);
          const maxSeqlenQ = Math.max(...reqs.map((r) => r[0]));
          const maxSeqlenK = Math.max(...reqs.map((r) => r[1]));
          const plan = planSplits({
            ...b,
            numHeadsQ: hkv * g,
            numHeadsKv: hkv,
            headDim: d,
            maxNumSplits: s,
            numSplits,
            maxSeqlenQ,
            maxSeqlenK,
            smCount: sm,
          });
          expect(plan.numSplitsBound).toBeGreaterThanOrEqual(1);
          expect(plan.numSplitsBound).toBeLessThanOrEqual(s);
          if (numSplits > 0) expect(plan.numSplitsBound).toBe(numSplits);
          reqs.forEach(([q], i) => {
            const sp = plan.splits[i]!;
            if (q === 0) expect(sp).toBe(0);
            else {
              expect(sp).toBeGreaterThanOrEqual(1);
              expect(sp).toBeLessThanOrEqual(plan.numSplitsBound);
            }
          });
          // order is a permutation, longest tiles first (decode steps: the identity); offsets follow it.
          expect(Array.from(plan.order).sort((x, y) => x - y)).toEqual(reqs.map((_, i) => i));
          if (plan.kernel === 'decode') expect(Array.from(plan.order)).toEqual(reqs.map((_, i) => i));
          const len = (b: number) =>
            plan.splits[b]! === 0 ? 0 : ceilDiv(ceilDiv(reqs[b]![1], plan.blockN), plan.splits[b]!);
          let sum = 0;
          for (let i = 0; i < reqs.length; i++) {
            const b = plan.order[i]!;
            if (i > 0 && plan.kernel !== 'decode') expect(len(plan.order[i - 1]!)).toBeGreaterThanOrEqual(len(b));
            expect(plan.tileOffsets[i]).toBe(sum);
            sum += hkv * ceilDiv(reqs[b]![0] * g, plan.blockM) * plan.splits[b]!;
            expect(plan.tileOffsets[i + 1]!).toBeGreaterThanOrEqual(plan.tileOffsets[i]!);
          }
          expect(plan.totalTiles).toBe(sum);
          expect(plan.tileOffsets[reqs.length]).toBe(sum);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('planSplits argument errors', () => {
  const ok = { ...llama, ...batch([[1, 10]]), numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 10 };
  it.each([
    ['numSplits above maxNumSplits', { numSplits: 33 }, 'out_of_range', 'numSplits', /integer in \[0, 32\]/],
    ['maxNumSplits above 256', { maxNumSplits: 257 }, 'out_of_range', 'maxNumSplits', /integer in \[1, 256\]/],
    ['fractional numSplits', { numSplits: 1.5 }, 'out_of_range', 'numSplits', /got 1\.5/],
    [
      'Hq not a multiple of Hkv',
      { numHeadsQ: 12, numHeadsKv: 8 },
      'invalid_value',
      'numHeadsQ',
      /multiple of numHeadsKv/,
    ],
    ['head dim 80', { headDim: 80 }, 'invalid_value', 'headDim', /one of 64, 96, 128, 192, 256/],
    ['cuSeqlensQ too short', { numReqs: 2 }, 'out_of_range', 'cuSeqlensQ.length', /at least 3 elements/],
    ['cuSeqlensQ not Int32Array', { cuSeqlensQ: [0, 1] }, 'invalid_type', 'cuSeqlensQ', /Int32Array/],
    [
      'decreasing cuSeqlensQ',
      { cuSeqlensQ: new Int32Array([3, 1]) },
      'out_of_range',
      'cuSeqlensQ[1]',
      /non-decreasing/,
    ],
    ['negative seqLens', { seqLens: new Int32Array([-1]) }, 'out_of_range', 'seqLens[0]', />= 0/],
    ['zero SMs', { smCount: 0 }, 'out_of_range', 'smCount', /integer in \[1, 4096\]/],
  ] as const)('%s', (_name, over, code, path, message) => {
    expect(() => planSplits({ ...ok, ...(over as object) } as never)).toThrow(
      expect.objectContaining({ code, path: `planSplits.${path}` }),
    );
    expect(() => planSplits({ ...ok, ...(over as object) } as never)).toThrow(message);
  });
});
