// The CPU backend: the same step as on CUDA (metadata, inputs, the segmented forward, graph
// dispatch) with fp32 CPU kernels: the model's TS mirror, and @flashgraph/fa3's reference
// attention and KV-cache write over the paged cache. Small sizes keep it quick.
import { createHostMirror } from '@flashgraph/attn-metadata';
import type { ResolvedGraphConfig } from '@flashgraph/config';
import {
  type CaptureProgress,
  createCpuGraphRunner,
  type GraphRunnerStats,
  type StepContext,
  segmentedForward,
} from '@flashgraph/cuda-graph';
import { referenceAttention, writeKvCacheReference } from '@flashgraph/fa3';
import { attentionWindow } from './attention-window.js';
import type { BackendLimits, ExecuteResult, ExecutionBackend } from './backend.js';
import type { AttentionIO, CpuForwardContext, CpuStream, LoadedModel, Model } from './model.js';
import { CpuSampler } from './sampling/cpu-sampler.js';
import { SamplingParamsView } from './sampling/params.js';
import type { ScheduledBatch } from './scheduler.js';
import { StepInputWriter } from './step-inputs.js';

export function createCpuBackend(
  model: Model,
  config: ResolvedGraphConfig,
  limits: BackendLimits,
  onProgress?: (event: CaptureProgress) => void,
): ExecutionBackend {
  const { numLayers, numHeadsQ, numHeadsKv, headDim } = model.shape;
  const T = limits.maxNumBatchedTokens;
  const R = limits.maxNumSeqs;
  const mirror = createHostMirror({
    maxNumReqs: R,
    maxNumTokens: T,
    blockSize: limits.blockSize,
    numBlocks: limits.numBlocks,
    maxBlocksPerReq: limits.maxBlocksPerReq,
    uniformDecodeQueryLen: config.uniformDecodeQueryLen,
  });
  const cacheElements = limits.numBlocks * limits.blockSize * numHeadsKv * headDim;
  const kCaches = Array.from({ length: numLayers }, () => new Float32Array(cacheElements));
  const vCaches = Array.from({ length: numLayers }, () => new Float32Array(cacheElements));
  const tokenIds = new Int32Array(T);
  const sampleRows = new Int32Array(R);
  const sampled = new Int32Array(R);
  const logprobs = new Float32Array(R);
  const samplingParams = new SamplingParamsView(new ArrayBuffer(SamplingParamsView.byteLength(R)), 0, R);
  const sampler = new CpuSampler(model.shape.vocabSize);
  const inputs = new StepInputWriter(tokenIds, sampleRows, samplingParams);
  const buffers = Object.freeze({ tokenIds, positions: mirror.positions, sampleRows, sampled, logprobs });
  const loaded: LoadedModel = model.load({ backend: 'cpu', device: 0, maxNumTokens: T, maxNumReqs: R });
  const runner = createCpuGraphRunner(config, R, onProgress);
  const rowQ = numHeadsQ * headDim;
  const stride = mirror.layout.blockTableStride;
  const window = attentionWindow(model.shape);

  const step = segmentedForward<CpuStream>({
    numLayers,
    model: loaded,
    makeContext: (ctx: StepContext<CpuStream>, attention): CpuForwardContext => ({
      backend: 'cpu',
      stream: ctx.stream,
      numTokens: ctx.numTokens,
      numReqs: ctx.numReqs,
      buffers,
      attention: attention as (layer: number, io: AttentionIO<Float32Array>) => ReturnType<typeof attention>,
      sample: (logits: Float32Array) => {
        const numReqs = ctx.numReqs;
        // A kernel: reads the rows and parameters when it runs (each replay), not at launch.
        ctx.stream.launch(() => sampler.sampleBatch(logits, sampleRows, samplingParams, sampled, logprobs, numReqs));
      },
    }),
    // On the CPU the host mirror is the metadata itself: execute() writes it before dispatch.
    prologue: () => {},
    runAttention: (call, ctx) => {
      const io = call.io as AttentionIO<Float32Array>;
      const kCache = kCaches[call.layer] as Float32Array;
      const vCache = vCaches[call.layer] as Float32Array;
      const numTokens = ctx.numTokens;
      const numReqs = ctx.numReqs;
      // A kernel: reads the metadata when it runs, so a replayed graph sees the current step.
      ctx.stream.launch(() => {
        writeKvCacheReference({
          key: io.k,
          value: io.v,
          kCache,
          vCache,
          slotMapping: mirror.slotMapping,
          numHeadsKv,
          headDim,
          pageSize: limits.blockSize,
          numTokens,
        });
        const cuSeqlensQ = mirror.queryStartLoc.subarray(0, numReqs + 1);
        const totalQ = cuSeqlensQ[numReqs] as number;
        const { out } = referenceAttention({
          q: io.q.subarray(0, totalQ * rowQ),
          kCache,
          vCache,
          pageTable: mirror.blockTable,
          pageTableStride: stride,
          cuSeqlensQ,
          seqLens: mirror.seqLens.subarray(0, numReqs),
          numReqs,
          numHeadsQ,
          numHeadsKv,
          headDim,
          pageSize: limits.blockSize,
          causal: true,
          ...(window ? { window } : {}),
          ...(io.sinks ? { sinks: io.sinks } : {}),
        });
        io.out.set(out);
      });
    },
  });

  return {
    kind: 'cpu',
    deviceBytes: 0,
    blockTableRows: mirror.blockTableRows,
    capture: () => runner.capture(step),
    execute(batch: ScheduledBatch): ExecuteResult {
      const runBatch = {
        numTokens: batch.numTokens,
        numReqs: batch.requests.length,
        uniformDecode: batch.uniformDecode,
      };
      const planned = runner.plan(runBatch);
      // The requests name their block-table rows: the same rows path as the CUDA builder, with the
      // same decodeGraph check (a decode graph only ever replays uniform decode batches).
      mirror.write(
        { requests: batch.requests },
        { padToTokens: planned.paddedTokens, padToReqs: planned.paddedReqs, decodeGraph: planned.decodeGraph },
      );
      inputs.write(batch);
      const outcome = runner.run(runBatch);
      const n = batch.requests.length;
      return { outcome, sampled: sampled.slice(0, n), logprobs: logprobs.slice(0, n) };
    },
    runnerStats: (): GraphRunnerStats => runner.stats(),
    dispose() {
      runner.dispose();
      loaded.dispose();
    },
  };
}
