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
import { type Attention, createAttention, type HeadDim, kvCacheDtypeBytes } from '@flashgraph/fa3';
import { attentionWindow } from './attention-window.js';
import type { BackendLimits, ExecuteResult, ExecutionBackend } from './backend.js';
import { EngineError } from './errors.js';
import type { AttentionIO, CudaForwardContext, DeviceTensor, LoadedModel, Model } from './model.js';
import { loadNative, nativeSampler } from './native.js';
import { SamplingParamsView } from './sampling/params.js';
import type { ScheduledBatch } from './scheduler.js';
import { StepInputWriter } from './step-inputs.js';

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
  const window = attentionWindow(model.shape);
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
        headDim: headDim as HeadDim,
        dtype,
        pageSize: limits.blockSize,
        numPages: limits.numBlocks,
        maxNumReqs: R,
        maxNumTokens: T,
        maxNumPagesPerReq: limits.maxBlocksPerReq,
        maxNumSplits: config.maxNumSplits,
        causal: true,
        ...(window ? { window } : {}),
        kvDtype: limits.kvCache.dtype,
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
    const cacheBytes =
      limits.numBlocks * limits.blockSize * numHeadsKv * headDim * kvCacheDtypeBytes(limits.kvCache.dtype);
    const kvCache = own(DeviceBuffer.alloc(2 * numLayers * cacheBytes, { device }));
    const kCaches = Array.from({ length: numLayers }, (_, l) => kvCache.view(2 * l * cacheBytes, cacheBytes));
    const vCaches = Array.from({ length: numLayers }, (_, l) => kvCache.view((2 * l + 1) * cacheBytes, cacheBytes));
    // fp8 caches: the descales, fp32 [K | V][numLayers][Hkv] (default all 1), one row per layer;
    // fa3 reads them on the device at every launch.
    const descales =
      limits.kvCache.dtype === 'fp8_e4m3' ? own(DeviceBuffer.alloc(8 * numLayers * numHeadsKv, { device })) : null;
    const descaleRows = (which: 0 | 1): (DeviceBuffer | undefined)[] => {
      if (!descales) return new Array(numLayers).fill(undefined);
      const rowBytes = 4 * numHeadsKv;
      return Array.from({ length: numLayers }, (_, l) => descales.view((which * numLayers + l) * rowBytes, rowBytes));
    };
    if (descales) {
      const host = new Float32Array(2 * numLayers * numHeadsKv).fill(1);
      if (limits.kvCache.kDescale) host.set(limits.kvCache.kDescale, 0);
      if (limits.kvCache.vDescale) host.set(limits.kvCache.vDescale, numLayers * numHeadsKv);
      descales.write(host);
    }
    const kDescales = descaleRows(0);
    const vDescales = descaleRows(1);

    // Inputs: [sampleRows R int32 | sampling params 24R bytes | tokenIds T int32], staged in
    // pinned memory and copied in one go, so the sampler's parameters sit at a fixed address.
    const paramsOffset = R * 4;
    const tokensOffset = paramsOffset + SamplingParamsView.byteLength(R);
    const inputBytes = tokensOffset + T * 4;
    const pinnedInputs = own(PinnedHostBuffer.alloc(inputBytes));
    const deviceInputs = own(DeviceBuffer.alloc(inputBytes, { device }));
    const samplingParams = new SamplingParamsView(
      pinnedInputs.bytes.buffer,
      pinnedInputs.bytes.byteOffset + paramsOffset,
      R,
    );
    const inputs = new StepInputWriter(pinnedInputs.int32(tokensOffset, T), pinnedInputs.int32(0, R), samplingParams);
    deviceInputs.write(pinnedInputs.bytes);
    // Outputs: [sampled R int32 | logprobs R fp32], copied back in one go.
    const outputsDevice = own(DeviceBuffer.alloc(R * 8, { device }));
    outputsDevice.fill(0);
    const outputsHost = own(PinnedHostBuffer.alloc(R * 8));
    // The device sampler comes with the engine addon; models that sample themselves never need it.
    const sampler = nativeSampler();
    const vocabSize = model.shape.vocabSize;
    const samplerWorkspace = sampler
      ? own(DeviceBuffer.alloc(Math.max(1, sampler.samplerWorkspaceBytes(vocabSize, R)), { device }))
      : null;

    // A first (empty) build gives the metadata views, which are the same objects every step.
    let metadata: AttentionMetadata<DeviceBuffer> = builder.build(
      { requests: [] },
      { stream, padToTokens: 1, padToReqs: 1 },
    );
    stream.synchronize();
    const buffers = Object.freeze({
      tokenIds: deviceInputs.view(tokensOffset, T * 4),
      positions: metadata.positions,
      sampleRows: deviceInputs.view(0, R * 4),
      sampled: outputsDevice.view(0, R * 4),
      logprobs: outputsDevice.view(R * 4, R * 4),
    });
    const paramsDevice = deviceInputs.view(paramsOffset, SamplingParamsView.byteLength(R));

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
        sample: (logits: DeviceTensor) => {
          if (!sampler || !samplerWorkspace) {
            const native = loadNative();
            const why = native.addon ? `${native.path} has no sample()` : native.reason;
            throw new EngineError(
              'sampler_unavailable',
              `ctx.sample: the engine addon has no device sampler (${why})`,
              {
                fix: 'Rebuild it with `npx -y pnpm@10.34.9 --filter @flashgraph/engine build` from a tree that has native/engine sampling.',
              },
            );
          }
          sampler.sample(
            typeof logits === 'bigint' ? logits : logits.ptr,
            paramsDevice.ptr,
            buffers.sampleRows.ptr,
            buffers.sampled.ptr,
            buffers.logprobs.ptr,
            samplerWorkspace.ptr,
            vocabSize,
            ctx.numReqs,
            R,
            ctx.stream.handle,
          );
        },
      }),
      prologue: (ctx) => {
        const batch = current ? { requests: current.requests } : dummyBatch(ctx.numReqs);
        // The runner's decision, passed along: a decode graph states the decode query length
        // (fa3's decode kernel), a mixed graph the padded token count.
        metadata = builder.build(batch, {
          stream: ctx.stream,
          padToTokens: ctx.numTokens,
          padToReqs: ctx.numReqs,
          decodeGraph: ctx.decodeGraph,
        });
        pinnedInputs.copyToDevice(deviceInputs, { stream: ctx.stream, byteLength: tokensOffset + ctx.numTokens * 4 });
      },
      runAttention: (call, ctx) => {
        const io = call.io as AttentionIO<DeviceTensor>;
        const kCache = kCaches[call.layer] as DeviceBuffer;
        const vCache = vCaches[call.layer] as DeviceBuffer;
        const kDescale = kDescales[call.layer];
        const vDescale = vDescales[call.layer];
        const descale = kDescale && vDescale ? { kDescale, vDescale } : {};
        attention.writeKvCache({
          stream: ctx.stream,
          key: io.k,
          value: io.v,
          kCache,
          vCache,
          slotMapping: metadata.slotMapping,
          numTokens: ctx.numTokens,
          ...descale,
        });
        const sinks = io.sinks ? { sinks: io.sinks } : {};
        attention.forward({
          ...forwardArgs(metadata, { stream: ctx.stream, q: io.q, kCache, vCache, out: io.out, ...sinks }),
          ...descale,
        });
      },
    });

    const deviceBytes =
      attention.workspaceBytes +
      kvCache.byteLength +
      deviceInputs.byteLength +
      outputsDevice.byteLength +
      (samplerWorkspace?.byteLength ?? 0);

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
          outputsHost.copyFromDevice(outputsDevice, { stream, byteLength: R * 8 });
          stream.synchronize();
          return {
            outcome,
            sampled: outputsHost.int32(0, numReqs).slice(),
            logprobs: outputsHost.float32(R * 4, numReqs).slice(),
          };
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
