// The runtime: the toy model, its KV cache and the step loop, composed from flashgraph packages.
// - @flashgraph/config resolves the graph configuration (mode, capture sizes, split bound);
// - @flashgraph/cuda-graph captures and replays the step (its CPU capture backend: graphs are the
//   recorded closures) and turns the generator forward into graph and eager segments;
// - @flashgraph/attn-metadata/host stages each step's attention metadata (the same rule as the
//   CUDA builder, on plain Int32Arrays);
// - @flashgraph/fa3/reference is the attention kernel and the KV-cache write, on the CPU.
import { createHostMetadataBuilder, stepOptionsFromPlan } from '@flashgraph/attn-metadata/host';
import { resolveGraphConfig } from '@flashgraph/config';
import { cpuCaptureBackend, createGraphRunnerWithBackend, segmentedForward } from '@flashgraph/cuda-graph';
import { referenceAttention, writeKvCacheReference } from '@flashgraph/fa3/reference';
import { argmaxRows } from './toy-model.mjs';

/** A full graph's key: its size and whether only uniform decode batches replay it. */
export function graphKey(numTokens, decodeGraph) {
  return `${numTokens}/${decodeGraph ? 'decode' : 'mixed'}`;
}

/** The metadata values a captured full graph keeps for every replay. */
export function frozenScalars(metadata) {
  const { maxSeqlenQ, maxSeqlenK, numSplits, numPaddedReqs } = metadata;
  return { maxSeqlenQ, maxSeqlenK, numSplits, numPaddedReqs };
}

/** A batch the size of a capture: `numTokens` new tokens over `numReqs` requests, one page each. */
function captureBatch(numTokens, numReqs) {
  return {
    requests: Array.from({ length: numReqs }, (_, i) => ({
      numNewTokens: Math.floor(numTokens / numReqs) + (i < numTokens % numReqs ? 1 : 0),
      numComputedTokens: 0,
      blockIds: [0],
    })),
  };
}

/**
 * @param model a toy model (createToyModel)
 * @param limits `{ maxNumSeqs, maxNumBatchedTokens, blockSize, numBlocks, maxBlocksPerReq }`
 * @param graphInput what the runtime's user asked for, e.g. `{ mode: 'full' }`
 */
export function createRuntime(model, limits, graphInput) {
  const { numLayers, numHeadsQ, numHeadsKv, headDim, vocabSize } = model.shape;
  const { maxNumSeqs, maxNumBatchedTokens, blockSize, numBlocks, maxBlocksPerReq } = limits;
  const graphConfig = resolveGraphConfig(graphInput, { maxNumSeqs, maxNumBatchedTokens });
  // The attention's capacities (no GPU: fa3's default SM count plans the splits for describe()).
  const attention = {
    options: {
      numHeadsQ,
      numHeadsKv,
      headDim,
      pageSize: blockSize,
      numPages: numBlocks,
      maxNumReqs: maxNumSeqs,
      maxNumTokens: maxNumBatchedTokens,
      maxNumPagesPerReq: maxBlocksPerReq,
      maxNumSplits: graphConfig.maxNumSplits,
    },
  };
  const builder = createHostMetadataBuilder({
    graphConfig,
    maxNumReqs: maxNumSeqs,
    maxNumTokens: maxNumBatchedTokens,
    blockSize,
    numBlocks,
    maxBlocksPerReq,
    attention,
  });
  const meta = builder.host; // the staged arrays, the same objects every step: the kernels read them
  const tokenIds = new Int32Array(maxNumBatchedTokens);
  const logits = new Float32Array(maxNumSeqs * vocabSize);
  const cacheElements = numBlocks * blockSize * numHeadsKv * headDim;
  const kCaches = Array.from({ length: numLayers }, () => new Float32Array(cacheElements));
  const vCaches = Array.from({ length: numLayers }, () => new Float32Array(cacheElements));
  const lse = new Float32Array(numHeadsQ * maxNumBatchedTokens);
  const bound = model.bind({
    maxNumTokens: maxNumBatchedTokens,
    tokenIds,
    positions: meta.positions,
    queryStartLoc: meta.queryStartLoc,
    logits,
  });

  /** What each full graph froze at capture, by graphKey(size, decodeGraph). */
  const capturedGraphs = new Map();
  const runner = createGraphRunnerWithBackend({
    config: graphConfig,
    backend: cpuCaptureBackend(),
    maxNumReqs: maxNumSeqs,
  });
  const step = segmentedForward({
    numLayers,
    model: bound,
    makeContext: (ctx, attentionCall) => ({
      stream: ctx.stream,
      numTokens: ctx.numTokens,
      numReqs: ctx.numReqs,
      attention: attentionCall,
    }),
    // Eager steps and replays get their metadata staged before run(). A full graph's capture is
    // where a GPU runtime builds metadata inside the graph, freezing its scalars (maxSeqlenQ/K,
    // numSplits) for every replay: stage a capture-time batch the same way and keep what it froze.
    prologue: (ctx) => {
      if (ctx.phase !== 'capture' || ctx.graph !== 'full') return;
      const metadata = builder.stage(captureBatch(ctx.numTokens, ctx.numReqs), {
        padToTokens: ctx.numTokens,
        padToReqs: ctx.numReqs,
        decodeGraph: ctx.decodeGraph,
      });
      capturedGraphs.set(graphKey(ctx.numTokens, ctx.decodeGraph), frozenScalars(metadata));
    },
    runAttention: (call, ctx) => {
      const { q, k, v, out } = call.io;
      const kCache = kCaches[call.layer];
      const vCache = vCaches[call.layer];
      const numTokens = ctx.numTokens;
      const numReqs = ctx.numReqs;
      ctx.stream.launch(() => {
        writeKvCacheReference({
          key: k,
          value: v,
          kCache,
          vCache,
          slotMapping: meta.slotMapping,
          numHeadsKv,
          headDim,
          pageSize: blockSize,
          numTokens,
        });
        referenceAttention({
          q,
          kCache,
          vCache,
          pageTable: meta.blockTable,
          pageTableStride: maxBlocksPerReq,
          cuSeqlensQ: meta.queryStartLoc,
          seqLens: meta.seqLens,
          numReqs,
          numHeadsQ,
          numHeadsKv,
          headDim,
          pageSize: blockSize,
          causal: true,
          out,
          lse,
        });
      });
    },
  });

  return {
    graphConfig,
    builder,
    rows: builder.blockTableRows,
    capturedGraphs,
    capture: () => runner.capture(step),
    stats: () => runner.stats(),
    /** One step: plan, stage metadata and inputs for the plan's padding, run; the real rows' logits. */
    execute(batch) {
      const runBatch = {
        numTokens: batch.tokens.length,
        numReqs: batch.requests.length,
        uniformDecode: batch.uniformDecode,
      };
      const plan = runner.plan(runBatch);
      const metadata = builder.stage({ requests: batch.requests }, stepOptionsFromPlan(plan));
      tokenIds.fill(0, 0, plan.paddedTokens);
      tokenIds.set(batch.tokens);
      const outcome = runner.run(runBatch);
      const rows = logits.slice(0, batch.requests.length * vocabSize);
      return { plan, outcome, metadata, logits: rows, sampled: argmaxRows(rows, batch.requests.length, vocabSize) };
    },
    dispose: () => runner.dispose(),
  };
}
