// "Is this step a full graph, and which one" is decided once, by @flashgraph/config's graph route:
// the graph runner (@flashgraph/cuda-graph) captures and replays by it, the metadata builders
// (@flashgraph/attn-metadata) derive `fullGraph` and the decode query bound from it. The engine is
// the package that uses both, so the property that they agree for every mode, capture ladder,
// query length, request cap and batch lives here.
import { createHostMetadataBuilder, isFullGraphStep, stepOptionsFromPlan } from '@flashgraph/attn-metadata/host';
import { type GraphMode, graphModes, graphRoute, resolveGraphConfig } from '@flashgraph/config';
import { createCpuGraphRunner } from '@flashgraph/cuda-graph';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const BLOCK_SIZE = 16;

interface Case {
  mode: GraphMode;
  k: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  captureSizes: number[] | undefined;
  maxNumReqs: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    mode: fc.constantFrom(...graphModes),
    k: fc.integer({ min: 1, max: 4 }),
    maxNumSeqs: fc.integer({ min: 1, max: 48 }),
    extraTokens: fc.integer({ min: 0, max: 96 }),
    ladder: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 160 }), { minLength: 1, maxLength: 12 })),
    reqsBelow: fc.integer({ min: 0, max: 47 }),
  })
  .map(({ mode, k, maxNumSeqs, extraTokens, ladder, reqsBelow }) => {
    // Room for a uniform decode batch of every request count, plus mixed batches above it.
    const maxNumBatchedTokens = maxNumSeqs * k + extraTokens;
    // The config rounds sizes up to multiples of k; keep those that still fit.
    const sizes = ladder?.filter((s) => Math.ceil(s / k) * k <= maxNumBatchedTokens).sort((a, b) => a - b);
    return {
      mode,
      k,
      maxNumSeqs,
      maxNumBatchedTokens,
      captureSizes: sizes !== undefined && sizes.length > 0 ? sizes : undefined,
      maxNumReqs: Math.max(1, maxNumSeqs - reqsBelow),
    };
  });

/** A batch of `numReqs` requests: uniform decode (k tokens each) or `numTokens` tokens spread over them. */
function batchOf(numReqs: number, numTokens: number) {
  const base = Math.floor(numTokens / numReqs);
  const requests = Array.from({ length: numReqs }, (_, i) => {
    const numNewTokens = base + (i < numTokens % numReqs ? 1 : 0);
    return {
      numNewTokens,
      numComputedTokens: 0,
      blockIds: Array.from({ length: Math.ceil(numNewTokens / BLOCK_SIZE) }, (_, j) => i * 64 + j),
    };
  });
  return { requests };
}

function check(c: Case, numReqsPick: number, tokensPick: number, uniformDecode: boolean): void {
  const config = resolveGraphConfig(
    { mode: c.mode, ...(c.captureSizes ? { captureSizes: c.captureSizes } : {}), numWarmups: 0 },
    { maxNumSeqs: c.maxNumSeqs, maxNumBatchedTokens: c.maxNumBatchedTokens, uniformDecodeQueryLen: c.k },
  );
  const numReqs = 1 + (numReqsPick % c.maxNumReqs);
  const numTokens = uniformDecode ? numReqs * c.k : numReqs + (tokensPick % (c.maxNumBatchedTokens - numReqs + 1));
  const where = JSON.stringify({ ...c, numReqs, numTokens, uniformDecode });

  // The runner: what run() would do.
  const runner = createCpuGraphRunner(config, c.maxNumReqs);
  const plan = runner.plan({ numTokens, numReqs, uniformDecode });
  runner.dispose();
  const route = graphRoute(config, numTokens, uniformDecode, c.maxNumReqs);
  expect({ mode: plan.mode, paddedTokens: plan.paddedTokens, decodeGraph: plan.decodeGraph }, where).toEqual({
    mode: route.graph,
    paddedTokens: route.graph === 'eager' ? numTokens : route.captureSize,
    decodeGraph: route.decodeGraph,
  });

  // The builder, given the runner's plan and given nothing but the padding (the content decides).
  const builder = createHostMetadataBuilder({
    maxNumReqs: c.maxNumReqs,
    maxNumTokens: c.maxNumBatchedTokens,
    blockSize: BLOCK_SIZE,
    numBlocks: 64 * c.maxNumSeqs,
    maxBlocksPerReq: Math.ceil(c.maxNumBatchedTokens / BLOCK_SIZE),
    graphConfig: config,
  });
  const batch = batchOf(numReqs, numTokens);
  const fromPlan = builder.stage(batch, stepOptionsFromPlan(plan));
  const full = plan.mode === 'full';
  expect(fromPlan.fullGraph, where).toBe(full);
  expect(fromPlan.numSplits, where).toBe(full ? config.maxNumSplits : 0);
  if (full) {
    expect(fromPlan.maxSeqlenQ, where).toBe(plan.decodeGraph ? Math.min(c.k, plan.paddedTokens) : plan.paddedTokens);
  }
  // The content's uniformity is the flag here (a mixed batch of k-token requests aside).
  if (fromPlan.uniformDecode === uniformDecode) {
    const unsaid = builder.stage(batch, { padToTokens: plan.paddedTokens, padToReqs: plan.paddedReqs });
    expect([unsaid.fullGraph, unsaid.maxSeqlenQ], where).toEqual([fromPlan.fullGraph, fromPlan.maxSeqlenQ]);
  }
  expect(isFullGraphStep(config, plan.paddedTokens, uniformDecode, c.maxNumReqs), where).toBe(full);
}

describe('one full-graph decision: the runner, the metadata builders and the config route agree', () => {
  it('for every mode, capture ladder, query length, request cap and batch (property)', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), fc.nat(), fc.boolean(), (c, numReqsPick, tokensPick, uniformDecode) => {
        check(c, numReqsPick, tokensPick, uniformDecode);
      }),
      { numRuns: 400 },
    );
  });

  it('for every batch size of every mode on the default ladder (exhaustive)', () => {
    for (const mode of graphModes) {
      const c: Case = { mode, k: 1, maxNumSeqs: 8, maxNumBatchedTokens: 24, captureSizes: undefined, maxNumReqs: 8 };
      for (let numReqs = 1; numReqs <= 8; numReqs++) {
        check(c, numReqs - 1, 0, true);
        for (let numTokens = numReqs; numTokens <= 24; numTokens++) check(c, numReqs - 1, numTokens - numReqs, false);
      }
    }
  });
});
