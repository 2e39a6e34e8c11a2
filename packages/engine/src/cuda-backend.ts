// The CUDA backend: persistent buffers at fixed addresses, FA3 attention with the metadata
// builder, and the graph runner. One step:
//   host:   scheduler batch -> pinned inputs; plan(); for a full-graph replay, builder.stage()
//   device: [prologue: metadata copy + AoT schedule + input copy] forward ... sample
//           (captured in the full graph, eager before piecewise graphs and eager steps)
//   host:   copy the sampled tokens back, synchronize once.

import type { AttentionMetadata, MetadataRequest } from '@flashgraph/attn-metadata';
import { type CudaMetadataBuilder, createMetadataBuilder, forwardArgs } from '@flashgraph/attn-metadata';
import type { ResolvedGraphConfig } from '@flashgraph/config';
import { DeviceBuffer, PinnedHostBuffer, Stream } from '@flashgraph/cuda';
import {
  type CaptureProgress,
  createGraphRunner,
  type GraphRunner,
  type StepContext,
  segmentedForward,
} from '@flashgraph/cuda-graph';
import { type Attention, createAttention } from '@flashgraph/fa3';
import type { BackendLimits, ExecuteResult, ExecutionBackend } from './backend.js';
import type { AttentionIO, CudaForwardContext, DeviceTensor, LoadedModel, Model } from './model.js';
import type { ScheduledBatch } from './scheduler.js';
import { StepInputWriter } from './step-inputs.js';

const DTYPE_BYTES = 2;

export function createCudaBackend(
  model: Model,
  config: ResolvedGraphConfig,
  limits: BackendLimits,
  onProgress?: (event: CaptureProgress) => void,
): ExecutionBackend {
  const { numLayers, numHeadsQ, numHeadsKv, headDim, dtype } = model.shape;
  const T = limits.maxNumBatchedTokens;
  const R = limits.maxNumSeqs;
  const device = limits.device;
  // Everything allocated goes on this list, so a failure half-way frees what exists.
  const owned: { dispose(): void }[] = [];
  const own = <X extends { dispose(): void }>(x: X): X => {
    owned.push(x);
    return x;
  };
  const disposeAll = () => {
    for (const x of owned.splice(0).reverse()) {
      try {
        x.dispose();
      } catch {
        // keep freeing the rest
      }
    }
  };

  try {
    const stream = own(Stream.create({ device, nonBlocking: true }));
    const attention: Attention = own(
      createAttention({
        numHeadsQ,
        numHeadsKv,
        headDim: headDim as 64 | 128 | 256,
        dtype,
        pageSize: limits.blockSize,
        numPages: limits.numBlocks,
        maxNumReqs: R,
        maxNumTokens: T,
        maxNumPagesPerReq: limits.maxBlocksPerReq,
        maxNumSplits: config.maxNumSplits,
        causal: true,
        device,
      }),
    );
    const builder: CudaMetadataBuilder = own(
      createMetadataBuilder({
        attention,
        graphConfig: config,
        maxNumReqs: R,
        maxNumTokens: T,
        blockSize: limits.blockSize,
        numBlocks: limits.numBlocks,
        maxBlocksPerReq: limits.maxBlocksPerReq,
      }),
    );
    // One allocation for every layer's K and V pages.
    const cacheBytes = limits.numBlocks * limits.blockSize * numHeadsKv * headDim * DTYPE_BYTES;
    const kvCache = own(DeviceBuffer.alloc(2 * numLayers * cacheBytes, { device }));
    const kCaches = Array.from({ length: numLayers }, (_, l) => kvCache.view(2 * l * cacheBytes, cacheBytes));
    const vCaches = Array.from({ length: numLayers }, (_, l) => kvCache.view((2 * l + 1) * cacheBytes, cacheBytes));

    // Inputs: [sampleRows R | tokenIds T] int32, staged in pinned memory, copied in one go.
    const inputBytes = (R + T) * 4;
    const pinnedInputs = own(PinnedHostBuffer.alloc(inputBytes));
    const deviceInputs = own(DeviceBuffer.alloc(inputBytes, { device }));
    const inputs = new StepInputWriter(pinnedInputs.int32(R * 4, T), pinnedInputs.int32(0, R));
    deviceInputs.write(pinnedInputs.bytes);
    const sampledDevice = own(DeviceBuffer.alloc(R * 4, { device }));
    const sampledHost = own(PinnedHostBuffer.alloc(R * 4));

    // A first (empty) build gives the metadata views, which are the same objects every step.
    let metadata: AttentionMetadata<DeviceBuffer> = builder.build(
      { requests: [] },
      { stream, padToTokens: 1, padToReqs: 1 },
    );
    stream.synchronize();
    const buffers = Object.freeze({
      tokenIds: deviceInputs.view(R * 4, T * 4),
      positions: metadata.positions,
      sampleRows: deviceInputs.view(0, R * 4),
      sampled: sampledDevice,
    });

    const loaded: LoadedModel = own(model.load({ backend: 'cuda', device, maxNumTokens: T, maxNumReqs: R }));
    const runner: GraphRunner<Stream> = own(createGraphRunner({ config, stream, onProgress, maxNumReqs: R }));

    // The batch of the step in flight; null while capturing (the prologue then builds a dummy
    // batch of ctx.numReqs one-token requests on page 0: nothing is cached yet at capture time).
    let current: ScheduledBatch | null = null;
    const dummyPage = [0];
    const dummyBatch = (numReqs: number): { requests: MetadataRequest[] } => ({
      requests: Array.from({ length: numReqs }, () => ({ numNewTokens: 1, numComputedTokens: 0, blockIds: dummyPage })),
    });

    const step = segmentedForward<Stream>({
      numLayers,
      model: loaded,
      makeContext: (ctx: StepContext<Stream>, attention): CudaForwardContext => ({
        backend: 'cuda',
        stream: ctx.stream,
        numTokens: ctx.numTokens,
        numReqs: ctx.numReqs,
        buffers,
        attention: attention as (layer: number, io: AttentionIO<DeviceTensor>) => ReturnType<typeof attention>,
      }),
      prologue: (ctx) => {
        const batch = current ? { requests: current.requests } : dummyBatch(ctx.numReqs);
        // ctx.uniformDecode is true exactly on the runner's decode routes: a decode graph states
        // the decode query length (fa3's decode kernel), a mixed graph the padded token count.
        metadata = builder.build(batch, {
          stream: ctx.stream,
          padToTokens: ctx.numTokens,
          padToReqs: ctx.numReqs,
          decodeGraph: ctx.uniformDecode,
        });
        pinnedInputs.copyToDevice(deviceInputs, { stream: ctx.stream, byteLength: (R + ctx.numTokens) * 4 });
      },
      runAttention: (call, ctx) => {
        const io = call.io as AttentionIO<DeviceTensor>;
        const kCache = kCaches[call.layer] as DeviceBuffer;
        const vCache = vCaches[call.layer] as DeviceBuffer;
        attention.writeKvCache({
          stream: ctx.stream,
          key: io.k,
          value: io.v,
          kCache,
          vCache,
          slotMapping: metadata.slotMapping,
          numTokens: ctx.numTokens,
        });
        attention.forward(forwardArgs(metadata, { stream: ctx.stream, q: io.q, kCache, vCache, out: io.out }));
      },
    });

    const deviceBytes =
      attention.workspaceBytes + kvCache.byteLength + deviceInputs.byteLength + sampledDevice.byteLength;

    return {
      kind: 'cuda',
      deviceBytes,
      blockTableRows: builder.blockTableRows,
      capture: () => {
        current = null;
        const stats = runner.capture(step);
        stream.synchronize();
        return stats;
      },
      execute(batch: ScheduledBatch): ExecuteResult {
        const numReqs = batch.requests.length;
        const runBatch = { numTokens: batch.numTokens, numReqs, uniformDecode: batch.uniformDecode };
        inputs.write(batch);
        const planned = runner.plan(runBatch);
        current = batch;
        try {
          // A full graph holds the prologue; its host half (the staging write) happens here.
          if (planned.mode === 'full') {
            metadata = builder.stage(
              { requests: batch.requests },
              { padToTokens: planned.paddedTokens, padToReqs: planned.paddedReqs, decodeGraph: planned.decodeGraph },
            );
          }
          const outcome = runner.run(runBatch);
          sampledHost.copyFromDevice(sampledDevice, { stream, byteLength: numReqs * 4 });
          stream.synchronize();
          return { outcome, sampled: sampledHost.int32(0, numReqs).slice() };
        } finally {
          current = null;
        }
      },
      runnerStats: () => runner.stats(),
      dispose() {
        try {
          stream.synchronize();
        } finally {
          disposeAll();
        }
      },
    };
  } catch (err) {
    disposeAll();
    throw err;
  }
}
