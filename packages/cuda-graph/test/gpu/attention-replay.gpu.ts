// GPU test of @flashgraph/cuda-graph with attention: a step of small kernels plus FA3 attention
// fed by the metadata builder, written once as segments. In mode `full` the attention (metadata
// copy, AoT scheduler, KV write, forward) is inside the full graphs (uniform decode batches replay
// their own graphs, whose metadata states the decode query length: `decodeGraph`, so fa3 runs its
// decode kernel there); in `full_and_piecewise` it is inside the uniform-decode full graphs and
// runs eagerly between piecewise graphs otherwise.
// Over 1,000 random batches of mixed sizes, replay output is bit-identical to running the same
// step eagerly with the same padding, and periodically checked against the fp32 reference.
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  createMetadataBuilder,
  forwardArgs,
  type MetadataBatch,
  type MetadataRequest,
} from '@flashgraph/attn-metadata';
import { type GraphMode, resolveGraphConfig } from '@flashgraph/config';
import { cudaStatus, DeviceBuffer, fromBf16, kernels, Stream, toBf16 } from '@flashgraph/cuda';
import { createGraphRunner, type SegmentedStep, type StepContext } from '@flashgraph/cuda-graph';
import { createAttention, referenceAttention } from '@flashgraph/fa3';

const status = cudaStatus();
const skip = status.available ? false : `no CUDA device: ${status.reason ?? 'unavailable'}`;

const PAGE = 16;
const MAX_NUM_SEQS = 32;
const MAX_TOKENS = 160; // above the max capture size (64): eager fallbacks too
const CAPS = {
  maxNumReqs: MAX_NUM_SEQS,
  maxNumTokens: MAX_TOKENS,
  blockSize: PAGE,
  numBlocks: 1024,
  maxBlocksPerReq: 32,
};
const ATTN = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128 as const,
  dtype: 'bf16' as const,
  pageSize: PAGE,
  numPages: CAPS.numBlocks,
  maxNumReqs: CAPS.maxNumReqs,
  maxNumTokens: CAPS.maxNumTokens,
  maxNumPagesPerReq: CAPS.maxBlocksPerReq,
  maxNumSplits: 16,
  causal: true,
};
const Q_ROW = ATTN.numHeadsQ * ATTN.headDim; // bf16 elements per token of q / out
const KV_ROW = ATTN.numHeadsKv * ATTN.headDim;
/** Page 0 is the scratch page the warm-up / capture dummy request writes to; batches never use it. */
const SCRATCH_PAGE = 0;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** Random batch: 40% pure decode, else mixed prefill chunks and decodes; distinct pages (never page 0). */
function randomBatch(r: ReturnType<typeof rng>): MetadataBatch {
  const pages = Array.from({ length: CAPS.numBlocks - 1 }, (_, i) => i + 1);
  for (let i = pages.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [pages[i], pages[j]] = [pages[j]!, pages[i]!];
  }
  const decode = r.next() < 0.4;
  const maxTokens = r.next() < 0.2 ? MAX_TOKENS : r.int(1, 64);
  const numReqs = r.int(1, Math.min(MAX_NUM_SEQS, maxTokens));
  const requests: MetadataRequest[] = [];
  let tokens = 0;
  let nextPage = 0;
  for (let i = 0; i < numReqs && tokens < maxTokens; i++) {
    const q = decode ? 1 : Math.min(maxTokens - tokens, r.next() < 0.5 ? 1 : r.int(1, 24));
    const seqLen = r.int(q, CAPS.maxBlocksPerReq * PAGE);
    const count = Math.ceil(seqLen / PAGE);
    const ids = pages.slice(nextPage, nextPage + count);
    nextPage += count;
    tokens += q;
    requests.push({ numNewTokens: q, numComputedTokens: seqLen - q, blockIds: ids });
  }
  return { requests };
}

function batchShape(batch: MetadataBatch) {
  const reqs = Array.from(batch.requests);
  return {
    numTokens: reqs.reduce((t, q) => t + q.numNewTokens, 0),
    numReqs: reqs.length,
    uniformDecode: reqs.every((q) => q.numNewTokens === 1),
  };
}

function randomBf16(r: ReturnType<typeof rng>, count: number): Uint16Array {
  return toBf16(Float32Array.from({ length: count }, () => r.next() * 2 - 1));
}

function firstMismatch(a: Uint16Array, b: Uint16Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const MODES: GraphMode[] = ['full', 'full_and_piecewise'];
const BATCHES_PER_MODE = 500;

for (const mode of MODES) {
  test(`${mode}: attention-inclusive replay is bit-identical to eager over ${BATCHES_PER_MODE} random batches`, {
    skip,
  }, () => {
    using stream = Stream.create();
    using attention = createAttention(ATTN);
    const config = resolveGraphConfig(
      { mode, maxNumSplits: ATTN.maxNumSplits },
      { maxNumSeqs: MAX_NUM_SEQS, maxNumBatchedTokens: MAX_TOKENS },
    );
    using builder = createMetadataBuilder({ attention, graphConfig: config, ...CAPS });
    const r = rng(4242 + MODES.indexOf(mode));
    const cacheElems = CAPS.numBlocks * PAGE * KV_ROW;
    using kCache = DeviceBuffer.alloc(cacheElems * 2);
    using vCache = DeviceBuffer.alloc(cacheElems * 2);
    kCache.write(randomBf16(r, cacheElems));
    vCache.write(randomBf16(r, cacheElems));
    const alloc = (rowElems: number) => DeviceBuffer.alloc(MAX_TOKENS * rowElems * 2);
    using qIn = alloc(Q_ROW);
    using kIn = alloc(KV_ROW);
    using vIn = alloc(KV_ROW);
    using q = alloc(Q_ROW);
    using key = alloc(KV_ROW);
    using value = alloc(KV_ROW);
    using out = alloc(Q_ROW);
    using final = alloc(Q_ROW);
    for (const b of [qIn, kIn, vIn, q, key, value, out, final]) b.fill(0);

    // What the eager attention builds for; warm-up and capture use a one-token dummy request on
    // the scratch page instead (the replayed graph reads whatever stage() wrote).
    let current: MetadataBatch | null = null;
    const dummy: MetadataBatch = { requests: [{ numNewTokens: 1, numComputedTokens: 0, blockIds: [SCRATCH_PAGE] }] };
    const step: SegmentedStep = {
      segments: [
        {
          kind: 'graph', // "projections": copy this step's q, k, v rows into the attention inputs
          run(ctx: StepContext) {
            kernels.copyBytes(q, qIn, ctx.numTokens * Q_ROW * 2, stream);
            kernels.copyBytes(key, kIn, ctx.numTokens * KV_ROW * 2, stream);
            kernels.copyBytes(value, vIn, ctx.numTokens * KV_ROW * 2, stream);
          },
        },
        {
          kind: 'eager', // attention: inside full graphs, eager between piecewise graphs
          run(ctx: StepContext) {
            const batch = ctx.phase === 'eager' ? current! : dummy;
            // A decode graph (captured with uniformDecode) only ever replays uniform decode batches.
            const m = builder.build(batch, {
              stream,
              padToTokens: ctx.numTokens,
              padToReqs: ctx.numReqs,
              decodeGraph: ctx.uniformDecode,
            });
            attention.writeKvCache({
              stream,
              key,
              value,
              kCache,
              vCache,
              slotMapping: m.slotMapping,
              numTokens: ctx.numTokens,
            });
            attention.forward(forwardArgs(m, { stream, q, kCache, vCache, out }));
          },
        },
        {
          kind: 'graph', // "output projection"
          run(ctx: StepContext) {
            kernels.copyBytes(final, out, ctx.numTokens * Q_ROW * 2, stream);
          },
        },
      ],
    };

    const runner = createGraphRunner({ config, stream, maxNumReqs: MAX_NUM_SEQS });
    try {
      runner.capture(step);
      const seen = { full: 0, piecewise: 0, eager: 0 };
      let decodeGraphReplays = 0;
      let referenceChecks = 0;
      for (let iter = 0; iter < BATCHES_PER_MODE; iter++) {
        const batch = randomBatch(r);
        const shape = batchShape(batch);
        const plan = runner.plan(shape);
        // Fresh inputs on every row (padding rows hold garbage too); poisoned output.
        qIn.write(randomBf16(r, MAX_TOKENS * Q_ROW));
        kIn.write(randomBf16(r, MAX_TOKENS * KV_ROW));
        vIn.write(randomBf16(r, MAX_TOKENS * KV_ROW));
        final.fill(0xff);
        current = batch;
        // A full graph copies and schedules the staged metadata itself.
        if (plan.mode === 'full')
          builder.stage(batch, {
            padToTokens: plan.paddedTokens,
            padToReqs: plan.paddedReqs,
            decodeGraph: plan.decodeGraph,
          });
        const outcome = runner.run(shape);
        // plan() predicts run() by value; eager outcomes are fresh objects, replay outcomes are
        // shared per size and route (RunOutcome's contract), so only those compare by identity.
        assert.deepEqual(outcome, plan, `${mode} iter ${iter}: run() did not do what plan() said`);
        if (outcome.mode !== 'eager')
          assert.equal(outcome, plan, `${mode} iter ${iter}: a replay outcome is not the shared one`);
        seen[outcome.mode]++;
        if (outcome.decodeGraph) decodeGraphReplays++;
        assert.equal(
          outcome.decodeGraph,
          outcome.mode === 'full' && shape.uniformDecode,
          `${mode} iter ${iter}: decodeGraph`,
        );
        const replayed = final.read(new Uint16Array(shape.numTokens * Q_ROW), { stream });
        stream.synchronize();

        // The same step, eagerly, with the same padding (so the same split bound).
        final.fill(0xff);
        const ctx = Object.freeze({
          stream,
          numTokens: outcome.paddedTokens,
          numReqs: outcome.paddedReqs,
          uniformDecode: shape.uniformDecode,
          phase: 'eager' as const,
          graph: 'eager' as const,
          decodeGraph: false,
        });
        for (const segment of step.segments) segment.run(ctx);
        const eager = final.read(new Uint16Array(shape.numTokens * Q_ROW), { stream });
        stream.synchronize();
        const at = firstMismatch(replayed, eager);
        assert.equal(
          at,
          -1,
          `${mode} iter ${iter} (${outcome.mode}, ${shape.numTokens} tokens -> ${outcome.paddedTokens}, ${shape.numReqs} reqs -> ${outcome.paddedReqs}): replay differs from eager at element ${at}`,
        );

        if (iter % 50 === 0) {
          referenceChecks++;
          const m = builder.stage(batch, {
            padToTokens: outcome.paddedTokens,
            padToReqs: outcome.paddedReqs,
            decodeGraph: outcome.decodeGraph,
          });
          const h = builder.host;
          const ref = referenceAttention({
            q: fromBf16(q.read(new Uint16Array(shape.numTokens * Q_ROW))),
            kCache: fromBf16(kCache.read(new Uint16Array(cacheElems))),
            vCache: fromBf16(vCache.read(new Uint16Array(cacheElems))),
            pageTable: h.blockTable.slice(0, m.numReqs * CAPS.maxBlocksPerReq),
            cuSeqlensQ: h.queryStartLoc.slice(0, m.numReqs + 1),
            seqLens: h.seqLens.slice(0, m.numReqs),
            numHeadsQ: ATTN.numHeadsQ,
            numHeadsKv: ATTN.numHeadsKv,
            headDim: ATTN.headDim,
            pageSize: PAGE,
            causal: true,
            pageTableStride: CAPS.maxBlocksPerReq,
          });
          const got = fromBf16(replayed);
          let worst = 0;
          for (let i = 0; i < got.length; i++) {
            assert.ok(Number.isFinite(got[i]!), `${mode} iter ${iter}: element ${i} is not finite`);
            worst = Math.max(worst, Math.abs(got[i]! - ref.out[i]!) / (1 + Math.abs(ref.out[i]!)));
          }
          assert.ok(worst <= 1e-2, `${mode} iter ${iter}: relative error ${worst} > 1e-2 against referenceAttention`);
        }
      }
      console.log(
        `${mode}: ${JSON.stringify(seen)} (${decodeGraphReplays} on decode graphs), ${referenceChecks} reference checks, ${runner.stats().graphs} graphs`,
      );
      assert.ok(seen.full > 0 && seen.eager > 0 && decodeGraphReplays > 0);
      if (mode === 'full') assert.ok(seen.full > decodeGraphReplays, 'mixed batches replayed mixed full graphs');
      if (mode === 'full_and_piecewise') assert.ok(seen.piecewise > 0);
    } finally {
      runner.dispose();
    }
  });
}
