// The CUDA backend's weights: each tensor streamed from the checkpoint to device memory through
// one pinned staging buffer (the disk read of chunk n+1 overlaps the copy of chunk n), converted
// on the device where the checkpoint's dtype differs from the model's. q/k/v and gate/up are
// stored fused ([q; k; v] and [gate; up] rows), so each takes one GEMM.
import { DeviceBuffer, PinnedHostBuffer, Stream } from '@flashgraph/cuda';
import type { Checkpoint } from '../../checkpoint/index.js';
import { ModelsError } from '../../errors.js';
import { loadModelsNative, type NativeElemType, type NativeModels } from '../../native.js';
import type { LlamaConfig } from '../config.js';
import { ropeInverseFrequencies, ropePositionScale } from '../rope.js';
import { layerPrefix } from '../tensors.js';

/** Bytes per chunk through the pinned staging buffer. */
export const WEIGHT_CHUNK_BYTES = 16 * 1024 * 1024;

export type CudaDtype = 'bf16' | 'fp16';

export interface CudaLayerWeights {
  readonly inputNorm: DeviceBuffer;
  /** [(Hq + 2 Hkv) * D, H]: q, k and v projections stacked. */
  readonly qkv: DeviceBuffer;
  readonly qkvBias: DeviceBuffer | null;
  readonly qNorm: DeviceBuffer | null;
  readonly kNorm: DeviceBuffer | null;
  readonly o: DeviceBuffer;
  readonly oBias: DeviceBuffer | null;
  readonly postNorm: DeviceBuffer;
  /** [2 I, H]: gate and up stacked. */
  readonly gateUp: DeviceBuffer;
  readonly down: DeviceBuffer;
}

export interface CudaWeights {
  readonly dtype: CudaDtype;
  readonly embed: DeviceBuffer;
  readonly layers: readonly CudaLayerWeights[];
  readonly norm: DeviceBuffer;
  /** The embedding matrix itself when the embeddings are tied. */
  readonly lmHead: DeviceBuffer;
  /** fp32 [headDim / 2]: ropeInverseFrequencies times ropePositionScale (one source with the CPU). */
  readonly invFreq: DeviceBuffer;
  /** Device bytes held. */
  readonly byteLength: number;
  dispose(): void;
}

export interface CudaWeightsOptions {
  readonly device: number;
  readonly dtype: CudaDtype;
  /** Called after each tensor lands on the device. */
  readonly onTensor?: (name: string, byteLength: number) => void;
}

const ELEM: Record<string, { type: NativeElemType; bytes: number }> = {
  BF16: { type: 0, bytes: 2 },
  F16: { type: 1, bytes: 2 },
  F32: { type: 2, bytes: 4 },
};

export function requireModelsNative(): NativeModels {
  const native = loadModelsNative();
  if (!native.addon) {
    throw new ModelsError('cuda_unavailable', 'backend', `the models' CUDA kernels did not load: ${native.reason}`, {
      value: 'cuda',
      fix: "build @flashgraph/models with its native addon, or use backend 'cpu'",
    });
  }
  return native.addon;
}

export function loadCudaWeights(config: LlamaConfig, checkpoint: Checkpoint, options: CudaWeightsOptions): CudaWeights {
  const native = requireModelsNative();
  const { device, dtype } = options;
  const dstType: NativeElemType = dtype === 'bf16' ? 0 : 1;
  const owned: DeviceBuffer[] = [];
  let byteLength = 0;
  const alloc = (elements: number, bytesPerElement = 2): DeviceBuffer => {
    const b = DeviceBuffer.alloc(elements * bytesPerElement, { device });
    owned.push(b);
    byteLength += b.byteLength;
    return b;
  };
  const stream = Stream.create({ device });
  const pinned = PinnedHostBuffer.alloc(WEIGHT_CHUNK_BYTES);
  let staging: DeviceBuffer | null = null;

  // Streams tensor `name` into dst at element offset `elementOffset` (model dtype elements).
  const upload = (name: string, dst: DeviceBuffer, elementOffset = 0): void => {
    const info = checkpoint.tensors.get(name);
    if (!info) throw new ModelsError('missing_tensor', name, 'the checkpoint has no such tensor');
    const src = ELEM[info.dtype];
    if (!src) {
      throw new ModelsError('unsupported_dtype', name, 'the tensor has a dtype the CUDA loader cannot convert', {
        value: info.dtype,
        allowed: 'BF16, F16, F32',
      });
    }
    const elements = info.byteLength / src.bytes;
    if ((elementOffset + elements) * 2 > dst.byteLength) {
      throw new ModelsError('wrong_shape', name, 'the tensor does not fit its device buffer', { value: info.shape });
    }
    checkpoint.readChunksSync(name, WEIGHT_CHUNK_BYTES, (chunk, byteOffset) => {
      stream.synchronize(); // the staging buffer's previous copy has landed
      pinned.bytes.set(chunk);
      const firstElement = elementOffset + byteOffset / src.bytes;
      if (src.type === dstType) {
        pinned.copyToDevice(dst, { stream, dstOffset: firstElement * 2, byteLength: chunk.byteLength });
        return;
      }
      staging ??= DeviceBuffer.alloc(WEIGHT_CHUNK_BYTES, { device });
      pinned.copyToDevice(staging, { stream, byteLength: chunk.byteLength });
      native.convert(
        staging.ptr,
        src.type,
        dst.ptr + BigInt(firstElement * 2),
        dstType,
        chunk.byteLength / src.bytes,
        stream.handle,
      );
    });
    options.onTensor?.(name, info.byteLength);
  };

  try {
    const H = config.hiddenSize;
    const D = config.headDim;
    const I = config.intermediateSize;
    const qRows = config.numHeadsQ * D;
    const kvRows = config.numHeadsKv * D;
    const embed = alloc(config.vocabSize * H);
    upload('model.embed_tokens.weight', embed);
    const layers: CudaLayerWeights[] = [];
    for (let layer = 0; layer < config.numLayers; layer++) {
      const p = layerPrefix(layer);
      const inputNorm = alloc(H);
      upload(`${p}input_layernorm.weight`, inputNorm);
      const qkv = alloc((qRows + 2 * kvRows) * H);
      upload(`${p}self_attn.q_proj.weight`, qkv, 0);
      upload(`${p}self_attn.k_proj.weight`, qkv, qRows * H);
      upload(`${p}self_attn.v_proj.weight`, qkv, (qRows + kvRows) * H);
      let qkvBias: DeviceBuffer | null = null;
      if (config.qkvBias) {
        qkvBias = alloc(qRows + 2 * kvRows);
        upload(`${p}self_attn.q_proj.bias`, qkvBias, 0);
        upload(`${p}self_attn.k_proj.bias`, qkvBias, qRows);
        upload(`${p}self_attn.v_proj.bias`, qkvBias, qRows + kvRows);
      }
      let qNorm: DeviceBuffer | null = null;
      let kNorm: DeviceBuffer | null = null;
      if (config.qkNorm) {
        qNorm = alloc(D);
        kNorm = alloc(D);
        upload(`${p}self_attn.q_norm.weight`, qNorm);
        upload(`${p}self_attn.k_norm.weight`, kNorm);
      }
      const o = alloc(H * qRows);
      upload(`${p}self_attn.o_proj.weight`, o);
      let oBias: DeviceBuffer | null = null;
      if (config.oProjBias) {
        oBias = alloc(H);
        upload(`${p}self_attn.o_proj.bias`, oBias);
      }
      const postNorm = alloc(H);
      upload(`${p}post_attention_layernorm.weight`, postNorm);
      const gateUp = alloc(2 * I * H);
      upload(`${p}mlp.gate_proj.weight`, gateUp, 0);
      upload(`${p}mlp.up_proj.weight`, gateUp, I * H);
      const down = alloc(H * I);
      upload(`${p}mlp.down_proj.weight`, down);
      layers.push({ inputNorm, qkv, qkvBias, qNorm, kNorm, o, oBias, postNorm, gateUp, down });
    }
    const norm = alloc(H);
    upload('model.norm.weight', norm);
    let lmHead = embed;
    if (!config.tieWordEmbeddings) {
      lmHead = alloc(config.vocabSize * H);
      upload('lm_head.weight', lmHead);
    }
    const scale = ropePositionScale(config);
    const inv = ropeInverseFrequencies(config);
    const invFreq = alloc(inv.length, 4);
    invFreq.write(Float32Array.from(inv, (f) => f * scale));
    stream.synchronize();
    let disposed = false;
    return {
      dtype,
      embed,
      layers,
      norm,
      lmHead,
      invFreq,
      byteLength,
      dispose() {
        if (disposed) return;
        disposed = true;
        for (const b of owned.splice(0)) b.dispose();
      },
    };
  } catch (err) {
    try {
      stream.synchronize();
    } catch {
      // the error being thrown says more
    }
    for (const b of owned.splice(0)) b.dispose();
    throw err;
  } finally {
    (staging as DeviceBuffer | null)?.dispose();
    pinned.dispose();
    stream.dispose();
  }
}
