// One owner per limit: the TypeScript copies that must stay for host-only use are pinned here to
// their owners: the addon (validate_caps / scheduling.h) and @flashgraph/config (the split
// workspace formula and its 256 split limit). The addon half runs wherever the addon is built.
import { estimateSplitWorkspaceBytes } from '@flashgraph/config';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NUM_HEADS_KV, MAX_NUM_HEADS_Q } from '../src/heads.js';
import { loadNative } from '../src/native.js';
import { partialsBytes, resolveOptions } from '../src/options.js';
import { MAX_NUM_SPLITS } from '../src/plan-splits.js';
import { MAX_SM_COUNT } from '../src/sm-count.js';

const native = loadNative().addon;
const ok = {
  numHeadsQ: 32,
  numHeadsKv: 8,
  headDim: 128 as const,
  dtype: 'bf16' as const,
  pageSize: 16,
  numPages: 1000,
  maxNumReqs: 8,
  maxNumTokens: 256,
  maxNumPagesPerReq: 64,
  maxNumSplits: 32,
  causal: true,
};

describe('limits shared with @flashgraph/config', () => {
  it('the split limit is config’s (estimateSplitWorkspaceBytes accepts exactly 1..MAX_NUM_SPLITS)', () => {
    const shape = { numHeadsQ: 1, maxNumTokens: 1, headDim: 64 };
    expect(() => estimateSplitWorkspaceBytes({ ...shape, maxNumSplits: MAX_NUM_SPLITS })).not.toThrow();
    expect(() => estimateSplitWorkspaceBytes({ ...shape, maxNumSplits: MAX_NUM_SPLITS + 1 })).toThrow();
  });

  it('the partials are sized by config’s formula', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 4096 }), (s, t) => {
        const { options } = resolveOptions({ ...ok, maxNumSplits: s, maxNumTokens: t });
        expect(partialsBytes(options)).toBe(4 * s * 32 * t * 129);
      }),
      { numRuns: 200 },
    );
  });
});

describe.skipIf(!native)('limits shared with the addon (validate_caps, scheduling.h)', () => {
  const accepts = (over: Record<string, unknown>) => {
    const { caps } = resolveOptions({ ...ok, ...over });
    return () => native!.workspaceLayout(caps);
  };
  const rawCaps = (over: Record<string, unknown>) => ({ ...resolveOptions(ok).caps, ...over });

  it('head counts, split capacity and index products: the TS bound is exactly the addon bound', () => {
    expect(accepts({ numHeadsQ: MAX_NUM_HEADS_Q, numHeadsKv: MAX_NUM_HEADS_KV, maxNumTokens: 1 })).not.toThrow();
    expect(() => native!.workspaceLayout(rawCaps({ numHeadsQ: MAX_NUM_HEADS_Q + 1, numHeadsKv: 1 }))).toThrow();
    expect(() => native!.workspaceLayout(rawCaps({ numHeadsKv: MAX_NUM_HEADS_KV + 1, numHeadsQ: 2048 }))).toThrow();
    expect(() => resolveOptions({ ...ok, numHeadsQ: MAX_NUM_HEADS_Q + 1 })).toThrow();
    expect(accepts({ maxNumSplits: MAX_NUM_SPLITS, maxNumTokens: 16 })).not.toThrow();
    expect(() => native!.workspaceLayout(rawCaps({ maxNumSplits: MAX_NUM_SPLITS + 1 }))).toThrow();
    // maxNumTokens x G and maxNumPagesPerReq x pageSize < 2^30.
    const g = 4;
    const maxTokens = Math.floor((2 ** 30 - 1) / g);
    expect(() => resolveOptions({ ...ok, maxNumTokens: maxTokens, maxNumSplits: 1, maxNumReqs: 1 })).not.toThrow();
    expect(() => resolveOptions({ ...ok, maxNumTokens: maxTokens + 1 })).toThrow();
    expect(() => native!.workspaceLayout(rawCaps({ maxNumTokens: maxTokens + 1 }))).toThrow();
    const maxPages = Math.floor((2 ** 30 - 1) / 16);
    expect(accepts({ maxNumPagesPerReq: maxPages })).not.toThrow();
    expect(() => resolveOptions({ ...ok, maxNumPagesPerReq: maxPages + 1 })).toThrow();
    expect(() => native!.workspaceLayout(rawCaps({ maxNumPagesPerReq: maxPages + 1 }))).toThrow();
  });

  it('the SM count bound', () => {
    const { caps } = resolveOptions(ok);
    const a = { caps, numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 4096 };
    expect(() => native!.resolveNumSplits({ ...a, smCount: MAX_SM_COUNT })).not.toThrow();
    expect(() => native!.resolveNumSplits({ ...a, smCount: MAX_SM_COUNT + 1 })).toThrow();
  });

  it('the addon workspace holds exactly config’s partials after its metadata', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 2048 }), (s, t) => {
        const { options, caps } = resolveOptions({ ...ok, maxNumSplits: s, maxNumTokens: t });
        const l = native!.workspaceLayout(caps);
        expect(l.totalBytes - l.oPartialOffset).toBeGreaterThanOrEqual(partialsBytes(options));
        expect(l.lsePartialOffset - l.oPartialOffset).toBe(4 * s * options.numHeadsQ * t * options.headDim);
      }),
      { numRuns: 200 },
    );
  });
});
