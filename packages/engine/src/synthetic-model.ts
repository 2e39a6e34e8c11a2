// `syntheticDecoder`: the built-in model. Per layer a projection kernel deriving q, k, v from the
// hidden state, attention, and a residual update; an embedding before and a sampling kernel after.
// Every layer reads the previous one's output, so a step is a realistic chain of dependent
// launches while attention moves most of the bytes. CUDA kernels in native/engine, CPU mirror in
// synthetic-math.ts.
import { DeviceBuffer } from '@flashgraph/cuda';
import { checkInt, checkOneOf, checkOptions, InvalidArgumentError, optional } from '@flashgraph/errors';
import { EngineError } from './errors.js';
import type {
  AttentionCall,
  CpuForwardContext,
  CudaForwardContext,
  ForwardContext,
  LoadedModel,
  Model,
  ModelDtype,
  ModelLoadContext,
  ModelShape,
} from './model.js';
import { loadNative } from './native.js';
import {
  embedRow,
  projectRow,
  residualRow,
  type SyntheticDims,
  type SyntheticWeights,
  sampleRow,
  syntheticWeights,
} from './synthetic-math.js';

export interface SyntheticDecoderOptions {
  /** Default 32. */
  numLayers?: number;
  /** Default 32. */
  numHeadsQ?: number;
  /** Default 8; must divide numHeadsQ. */
  numHeadsKv?: number;
  /** 64, 128 (default) or 256. */
  headDim?: number;
  /** Default numHeadsQ * headDim. */
  hiddenSize?: number;
  /** Default 32000. */
  vocabSize?: number;
  /** Default 'bf16'. */
  dtype?: ModelDtype;
}

export const HEAD_DIMS = [64, 128, 256] as const;

const SYNTHETIC_DECODER_KEYS = [
  'numLayers',
  'numHeadsQ',
  'numHeadsKv',
  'headDim',
  'hiddenSize',
  'vocabSize',
  'dtype',
] as const;

/** The built-in synthetic decoder (Llama-8B-like attention shapes by default). */
export function syntheticDecoder(options: SyntheticDecoderOptions = {}): Model {
  const o = checkOptions('options', options, SYNTHETIC_DECODER_KEYS);
  const int = (key: string, fallback: number, max: number, min = 1) =>
    optional(o[key], fallback, (v) => checkInt(`options.${key}`, v, { min, max }));
  const numLayers = int('numLayers', 32, 1024);
  const numHeadsQ = int('numHeadsQ', 32, 1024);
  const numHeadsKv = int('numHeadsKv', 8, numHeadsQ);
  if (numHeadsQ % numHeadsKv !== 0) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'options.numHeadsKv',
      value: numHeadsKv,
      allowed: `a divisor of numHeadsQ (${numHeadsQ})`,
    });
  }
  const headDim = optional(o.headDim, 128, (v) => checkOneOf('options.headDim', v, HEAD_DIMS));
  const hiddenSize = int('hiddenSize', numHeadsQ * headDim, 1 << 20);
  const vocabSize = int('vocabSize', 32000, 1 << 24);
  const dtype = optional(o.dtype, 'bf16' as const, (v) => checkOneOf('options.dtype', v, ['bf16', 'fp16'] as const));
  const shape: ModelShape = Object.freeze({
    numLayers,
    numHeadsQ,
    numHeadsKv,
    headDim,
    hiddenSize,
    vocabSize,
    dtype,
  });
  return Object.freeze({
    name: `synthetic-decoder(${numLayers}L, ${numHeadsQ}/${numHeadsKv} heads, d${shape.headDim})`,
    shape,
    backends: Object.freeze(['cuda', 'cpu'] as const),
    load: (context: ModelLoadContext): LoadedModel =>
      context.backend === 'cuda' ? loadCuda(shape, context) : loadCpu(shape, context),
  });
}

export function syntheticDims(shape: ModelShape): SyntheticDims {
  return {
    numLayers: shape.numLayers,
    hiddenSize: shape.hiddenSize,
    qSize: shape.numHeadsQ * shape.headDim,
    kvSize: shape.numHeadsKv * shape.headDim,
    headDim: shape.headDim,
    vocabSize: shape.vocabSize,
  };
}

function wrongBackend(ctx: ForwardContext, expected: string): never {
  throw new EngineError('wrong_backend', `forward(ctx): the model was loaded for the ${expected} backend`, {
    value: ctx.backend,
    allowed: `a ${expected} forward context`,
  });
}

function loadCpu(shape: ModelShape, context: ModelLoadContext): LoadedModel {
  const d = syntheticDims(shape);
  const w: SyntheticWeights = syntheticWeights(d);
  const T = context.maxNumTokens;
  const x = new Float32Array(T * d.hiddenSize);
  const q = new Float32Array(T * d.qSize);
  const k = new Float32Array(T * d.kvSize);
  const v = new Float32Array(T * d.kvSize);
  const out = new Float32Array(T * d.qSize);
  return {
    *forward(ctx: ForwardContext): Generator<AttentionCall, void, void> {
      if (ctx.backend !== 'cpu') wrongBackend(ctx, 'cpu');
      const c = ctx as CpuForwardContext;
      const n = c.numTokens;
      const { tokenIds, positions, sampleRows, sampled } = c.buffers;
      c.stream.launch(() => {
        for (let t = 0; t < n; t++)
          embedRow(x, t * d.hiddenSize, tokenIds[t] as number, positions[t] as number, d.hiddenSize);
      });
      for (let layer = 0; layer < d.numLayers; layer++) {
        c.stream.launch(() => {
          for (let t = 0; t < n; t++) projectRow(d, w, layer, x, t * d.hiddenSize, q, k, v, t);
        });
        yield c.attention(layer, { q, k, v, out });
        c.stream.launch(() => {
          for (let t = 0; t < n; t++) residualRow(d, w, layer, x, t * d.hiddenSize, out, t * d.qSize);
        });
      }
      const r = c.numReqs;
      c.stream.launch(() => {
        for (let i = 0; i < r; i++) {
          const row = sampleRows[i] as number;
          sampled[i] = row < 0 || row >= n ? -1 : sampleRow(d, w, x, row * d.hiddenSize);
        }
      });
    },
    dispose() {},
  };
}

function loadCuda(shape: ModelShape, context: ModelLoadContext): LoadedModel {
  const native = loadNative();
  if (!native.addon) {
    throw new EngineError('backend_unavailable', `syntheticDecoder cannot load on CUDA: ${native.reason}`, {
      fix: "Use backend 'cpu', or build the engine addon.",
    });
  }
  const d = syntheticDims(shape);
  const T = context.maxNumTokens;
  const kernels = new native.addon.SyntheticKernels({
    hiddenSize: d.hiddenSize,
    qSize: d.qSize,
    kvSize: d.kvSize,
    headDim: d.headDim,
    vocabSize: d.vocabSize,
    dtype: shape.dtype === 'bf16' ? 0 : 1,
    numLayers: d.numLayers,
    maxNumTokens: T,
    maxNumReqs: context.maxNumReqs,
  });
  const bytes = 2; // bf16 / fp16
  const buffers: DeviceBuffer[] = [];
  const alloc = (elements: number) => {
    const b = DeviceBuffer.alloc(elements * bytes, { device: context.device });
    buffers.push(b);
    return b;
  };
  let x: DeviceBuffer;
  let q: DeviceBuffer;
  let k: DeviceBuffer;
  let v: DeviceBuffer;
  let out: DeviceBuffer;
  try {
    x = alloc(T * d.hiddenSize);
    q = alloc(T * d.qSize);
    k = alloc(T * d.kvSize);
    v = alloc(T * d.kvSize);
    out = alloc(T * d.qSize);
  } catch (err) {
    for (const b of buffers) b.dispose();
    throw err;
  }
  return {
    *forward(ctx: ForwardContext): Generator<AttentionCall, void, void> {
      if (ctx.backend !== 'cuda') wrongBackend(ctx, 'cuda');
      const c = ctx as CudaForwardContext;
      const s = c.stream.handle;
      const n = c.numTokens;
      const b = c.buffers;
      kernels.embed(b.tokenIds.ptr, b.positions.ptr, x.ptr, n, s);
      for (let layer = 0; layer < d.numLayers; layer++) {
        kernels.project(layer, x.ptr, q.ptr, k.ptr, v.ptr, n, s);
        yield c.attention(layer, { q, k, v, out });
        kernels.residual(layer, x.ptr, out.ptr, n, s);
      }
      kernels.sample(x.ptr, b.sampleRows.ptr, b.sampled.ptr, c.numReqs, n, s);
    },
    dispose() {
      for (const b of buffers.splice(0)) b.dispose();
    },
  };
}
