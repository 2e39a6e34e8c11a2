// planSplits / the step bound / tileShape in TypeScript against the addon's host mirror of
// native/fa3/kernels/scheduling.h, over thousands of random batches. Runs wherever the addon is
// built (no GPU needed: these functions are host code); skipped with a message otherwise.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forwardKernel, HEAD_DIMS, planSplits, tileShape } from '../src/index.js';
import { type Caps, loadNative } from '../src/native.js';
import { partialsBytes, resolveOptions } from '../src/options.js';

const loaded = loadNative();
const native = loaded.addon;
if (!native) console.warn(`native parity tests skipped: ${'reason' in loaded ? loaded.reason : ''}`);

const capsArb = fc
  .record({
    hkv: fc.constantFrom(1, 2, 4, 8, 16),
    g: fc.constantFrom(1, 2, 4, 8),
    headDim: fc.constantFrom(...HEAD_DIMS),
    pageSize: fc.constantFrom(16, 32, 64, 256),
    maxNumReqs: fc.integer({ min: 1, max: 4096 }),
    maxNumSplits: fc.integer({ min: 1, max: 256 }),
    causal: fc.boolean(),
  })
  .map((c) =>
    resolveOptions({
      numHeadsQ: c.hkv * c.g,
      numHeadsKv: c.hkv,
      headDim: c.headDim,
      dtype: 'bf16',
      pageSize: c.pageSize,
      numPages: 100000,
      maxNumReqs: c.maxNumReqs,
      maxNumTokens: 4 * c.maxNumReqs + 600,
      maxNumPagesPerReq: Math.ceil(65536 / c.pageSize),
      maxNumSplits: c.maxNumSplits,
      causal: c.causal,
    }),
  );

describe.skipIf(!native)('TypeScript scheduling maths == addon (scheduling.h)', () => {
  it('tileShape of every kernel', () => {
    for (const k of ['general', 'decode', 'wgmma'] as const)
      for (const d of HEAD_DIMS)
        for (const g of [1, 2, 3, 4, 8, 16, 64]) expect(tileShape(d, g, k)).toEqual(native!.tileShape(d, g, k));
  });

  it("the addon accepts exactly HEAD_DIMS (forward_kernel_list.h: the general kernel's head dims)", () => {
    const accepted: number[] = [];
    for (let d = 8; d <= 1024; d += 8) {
      try {
        native!.tileShape(d, 1);
        accepted.push(d);
      } catch (err) {
        expect((err as Error).message).toContain('headDim must be one of 64, 96, 128, 192, 256');
      }
    }
    expect(accepted).toEqual([...HEAD_DIMS]);
  });

  it('forwardKernel (choose_forward_kernel, with this process environment request)', () => {
    for (const d of HEAD_DIMS)
      for (const g of [1, 2, 3, 4, 8, 16, 17, 4096])
        for (const q of [0, 1, 2, 3, 4, 5, 8, 16, 17, 512, 2 ** 31 - 1])
          expect(forwardKernel(q, g, d)).toBe(native!.forwardKernel(q, g, d));
  });

  it('planSplits and the step bound equal planSplitsHost / resolveNumSplits over random batches', () => {
    fc.assert(
      fc.property(
        capsArb,
        fc.integer({ min: 1, max: 264 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.integer({ min: 0, max: 256 }),
        fc.constantFrom('auto', 'general', 'decode', 'wgmma'),
        ({ options: o, caps }, smCount, seed, ns, kernel) => {
          let s = seed;
          const rand = () => {
            s = (Math.imul(s, 1103515245) + 12345) >>> 0;
            return s / 2 ** 32;
          };
          const numReqs = 1 + Math.floor(rand() ** 3 * o.maxNumReqs);
          const cu = new Int32Array(numReqs + 1);
          const seqLens = new Int32Array(numReqs);
          let tokens = 0;
          for (let b = 0; b < numReqs; b++) {
            const room = o.maxNumTokens - tokens - (numReqs - b - 1);
            const q = rand() < 0.05 ? 0 : Math.min(room, rand() < 0.8 ? 1 : 1 + Math.floor(rand() * 600));
            tokens += Math.max(0, q);
            cu[b + 1] = tokens;
            seqLens[b] = rand() < 0.05 ? 0 : Math.floor(rand() ** 2 * o.maxNumPagesPerReq * o.pageSize);
          }
          const numSplits = ns % (o.maxNumSplits + 1);
          const maxSeqlenQ = Math.max(...Array.from({ length: numReqs }, (_, b) => cu[b + 1]! - cu[b]!));
          const maxSeqlenK = Math.max(...seqLens);
          const plan = planSplits({
            cuSeqlensQ: cu,
            seqLens,
            numReqs,
            numHeadsQ: o.numHeadsQ,
            numHeadsKv: o.numHeadsKv,
            headDim: o.headDim,
            maxNumSplits: o.maxNumSplits,
            numSplits,
            maxSeqlenQ,
            maxSeqlenK,
            smCount,
            kernel,
          });
          if (kernel === 'auto') {
            // The addon's bound uses this process's request (unset here: auto).
            const bound = native!.resolveNumSplits({ caps, numSplits, maxSeqlenQ, maxSeqlenK, smCount });
            expect(plan.numSplitsBound).toBe(bound);
          }
          const bound = plan.numSplitsBound;
          const host = native!.planSplitsHost({
            caps,
            cuSeqlensQ: cu,
            seqLens,
            numReqs,
            numSplitsBound: bound,
            smCount,
            kernel: plan.kernel,
          });
          expect(Array.from(host.splits.subarray(0, numReqs))).toEqual(Array.from(plan.splits));
          expect(Array.from(host.tileOffsets.subarray(0, numReqs + 1))).toEqual(Array.from(plan.tileOffsets));
          expect(Array.from(host.order.subarray(0, numReqs))).toEqual(Array.from(plan.order));
          expect(host.totalTiles).toBe(plan.totalTiles);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the heuristic bound agrees for every (maxSeqlenQ, maxSeqlenK) on a grid', () => {
    const { caps } = resolveOptions({
      numHeadsQ: 32,
      numHeadsKv: 8,
      headDim: 128,
      dtype: 'bf16',
      pageSize: 16,
      numPages: 1000,
      maxNumReqs: 64,
      maxNumTokens: 8192,
      maxNumPagesPerReq: 8192,
      maxNumSplits: 128,
      causal: true,
    });
    for (const smCount of [78, 114, 132]) {
      for (let mq = 0; mq <= 8192; mq = mq < 16 ? mq + 1 : mq * 2) {
        for (let mk = 0; mk <= 131072; mk = mk < 64 ? mk + 7 : Math.floor(mk * 1.37)) {
          const ts = planSplits({
            cuSeqlensQ: new Int32Array([0, 0]),
            seqLens: new Int32Array([0]),
            numReqs: 1,
            numHeadsQ: 32,
            numHeadsKv: 8,
            headDim: 128,
            maxNumSplits: 128,
            numSplits: 0,
            maxSeqlenQ: mq,
            maxSeqlenK: mk,
            smCount,
          }).numSplitsBound;
          expect([mq, mk, smCount, ts]).toEqual([
            mq,
            mk,
            smCount,
            native!.resolveNumSplits({ caps, numSplits: 0, maxSeqlenQ: mq, maxSeqlenK: mk, smCount }),
          ]);
        }
      }
    }
  });

  it('workspaceLayout holds the metadata and the fp32 partials without overlap', () => {
    fc.assert(
      fc.property(
        capsArb,
        ({ options, caps }: { options: ReturnType<typeof resolveOptions>['options']; caps: Caps }) => {
          const l = native!.workspaceLayout(caps);
          const S = options.maxNumSplits;
          const T = options.maxNumTokens;
          const hq = options.numHeadsQ;
          expect(l.totalBytes).toBeGreaterThanOrEqual(partialsBytes(options));
          expect(l.tileOffsetsOffset).toBeGreaterThanOrEqual(l.splitsOffset + 4 * options.maxNumReqs);
          expect(l.orderOffset).toBeGreaterThanOrEqual(l.tileOffsetsOffset + 4 * (options.maxNumReqs + 1));
          expect(l.countersOffset).toBeGreaterThanOrEqual(l.orderOffset + 4 * options.maxNumReqs);
          expect(l.oPartialOffset).toBeGreaterThanOrEqual(l.countersOffset + l.countersBytes);
          expect(l.lsePartialOffset).toBeGreaterThanOrEqual(l.oPartialOffset + 4 * S * hq * T * options.headDim);
          expect(l.totalBytes).toBeGreaterThanOrEqual(l.lsePartialOffset + 4 * S * hq * T);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// The forward kernels' tile order inside one request (scheduling.h, top of file), written out
// as loops: KV heads in sections of as many heads as keep their K and V within 32 MiB of L2;
// per section the m blocks (a causal request's last first), then the section's heads, then
// the splits.
function expectedTileOrder(
  hkv: number,
  headDim: number,
  kLen: number,
  mBlocks: number,
  splits: number,
  causal: boolean,
) {
  const perHead = 4 * Math.max(kLen, 1) * headDim;
  const hs = Math.min(hkv, Math.max(1, Math.floor((32 * 2 ** 20) / perHead)));
  const out: number[] = [];
  for (let h0 = 0; h0 < hkv; h0 += hs)
    for (let rank = 0; rank < mBlocks; ++rank)
      for (let h = h0; h < Math.min(h0 + hs, hkv); ++h)
        for (let s = 0; s < splits; ++s) out.push(h, causal ? mBlocks - 1 - rank : rank, s);
  return { order: out, hs };
}

describe.skipIf(!native)('tile order (scheduling.h tile_coord) == the order written out', () => {
  it('every (KV head, m block, split) once, in L2 sections, longest first; one past the end is dropped', () => {
    fc.assert(
      fc.property(
        fc.record({
          hkv: fc.integer({ min: 1, max: 16 }),
          headDim: fc.constantFrom(...HEAD_DIMS),
          kLen: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 4096, max: 1 << 20 })),
          mBlocks: fc.integer({ min: 1, max: 40 }),
          splits: fc.integer({ min: 1, max: 4 }),
          causal: fc.boolean(),
        }),
        ({ hkv, headDim, kLen, mBlocks, splits, causal }) => {
          const got = native!.tileOrder({ numHeadsKv: hkv, headDim, kLen, mBlocks, splits, causal });
          const { order } = expectedTileOrder(hkv, headDim, kLen, mBlocks, splits, causal);
          expect(Array.from(got.subarray(0, order.length))).toEqual(order);
          // One past the last tile: m block = mBlocks, which every kernel drops.
          const past = got.subarray(order.length);
          expect(past[1]).toBe(mBlocks);
          expect(past[0]).toBeGreaterThanOrEqual(0);
          expect(past[0]).toBeLessThan(hkv);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('sections: every head in one up to 4k keys at D 128 (8 KV heads), four at 16k, one at 64k', () => {
    // Heads per section = the leading positions of the longest m block (one split).
    const heads = (kLen: number) => {
      const got = native!.tileOrder({ numHeadsKv: 8, headDim: 128, kLen, mBlocks: 4, splits: 1, causal: true });
      let n = 0;
      while (n < 32 && got[3 * n + 1] === 3) ++n;
      return n;
    };
    expect(expectedTileOrder(8, 128, 4096, 4, 1, true).hs).toBe(8);
    expect(heads(4096)).toBe(8);
    expect(expectedTileOrder(8, 128, 16384, 4, 1, true).hs).toBe(4);
    expect(heads(16384)).toBe(4);
    expect(expectedTileOrder(8, 128, 65536, 4, 1, true).hs).toBe(1);
    expect(heads(65536)).toBe(1);
  });
});

describe.skipIf(!native)("corrupt cuSeqlensQ in the addon's host plan (the prepare kernel's rule)", () => {
  const caps = {
    numHeadsQ: 1,
    numHeadsKv: 1,
    headDim: 128,
    dtype: 'bf16',
    pageSize: 16,
    numPages: 64,
    maxNumReqs: 256,
    maxNumTokens: 2 ** 30 - 1,
    maxNumPagesPerReq: 8,
    maxNumSplits: 1,
    causal: true,
    windowLeft: -1,
    windowRight: -1,
    softcap: 0,
  } as const;
  const plan = (cu: Int32Array, seqLens: Int32Array, numReqs: number) =>
    native!.planSplitsHost({ caps, cuSeqlensQ: cu, seqLens, numReqs, numSplitsBound: 1, smCount: 132 });

  it('a batch whose offsets descend anywhere is planned as no query tokens: no tiles, never negative offsets', () => {
    // Each request's range is clamped into capacity on its own: alternating 0, T, 0, T ranges
    // overlap, and their tiles summed past int32 (a negative totalTiles) before this rule.
    const n = 256;
    const cu = Int32Array.from({ length: n + 1 }, (_, i) => (i % 2 ? caps.maxNumTokens : 0));
    const seqLens = Int32Array.from({ length: n }, (_, i) => (i * 7) % 128);
    const got = plan(cu, seqLens, n);
    expect(got.totalTiles).toBe(0);
    expect(Array.from(got.tileOffsets.subarray(0, n + 1)).every((t) => t === 0)).toBe(true);
    const zeros = plan(new Int32Array(n + 1), seqLens, n);
    expect(Array.from(got.splits)).toEqual(Array.from(zeros.splits));
    expect(Array.from(got.order)).toEqual(Array.from(zeros.order));
    // One descent in the middle of an otherwise valid batch is enough.
    const oneDescent = Int32Array.from({ length: 5 }, (_, i) => [0, 4, 8, 6, 12][i]!);
    expect(plan(oneDescent, Int32Array.of(4, 4, 4, 4), 4).totalTiles).toBe(0);
  });

  it('non-decreasing offsets, the largest the capacity allows: the exact plan', () => {
    const got = plan(Int32Array.of(0, caps.maxNumTokens), Int32Array.of(100), 1);
    // One KV head, one split, 64-row tiles of the general kernel (tileShape).
    expect(got.totalTiles).toBe(Math.ceil(caps.maxNumTokens / tileShape(128, 1).blockM));
  });
});
