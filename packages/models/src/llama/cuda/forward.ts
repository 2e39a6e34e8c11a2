// The CUDA forward of Llama/Mistral/Qwen2/Qwen3 (bf16 or fp16 weights and activations). Per
// layer: [residual add +] RMSNorm, one fused q/k/v GEMM (+ bias in its epilogue), q/k norm + RoPE
// + the q/k/v split, attention (yielded to the engine), o GEMM, residual add + RMSNorm, one fused
// gate/up GEMM, SiLU x up, down GEMM. After the last layer only the sample rows are normed and
// projected to fp32 logits, then `ctx.sample(logits)` runs the engine's device sampler. GEMMs are
// cuBLASLt, or (FLASHGRAPH_MODELS_SKINNY_GEMM=1, `skinnyGemm`) our skinny kernel for calls of at
// most 8 rows: decode at batch 1..8 and the LM head of up to 8 requests; there the gate/up GEMM
// and SiLU x up are one launch.
// Every buffer is allocated here, at load, at a fixed address; forward() only launches (no
// allocation, no synchronization, no host reads), so it can be captured whole or piecewise.
import { DeviceBuffer } from '@flashgraph/cuda';
import type {
  AttentionCall,
  CudaForwardContext,
  ForwardContext,
  LoadedModel,
  ModelLoadContext,
} from '@flashgraph/engine';
import { ModelsError } from '../../errors.js';
import type { NativeGemm } from '../../native.js';
import type { LlamaConfig } from '../config.js';
import { type CudaWeights, requireModelsNative } from './weights.js';

/** cuBLASLt's workspace (NVIDIA recommends 32 MiB on Hopper). */
export const GEMM_WORKSPACE_BYTES = 32 * 1024 * 1024;

export interface LlamaCudaModel extends LoadedModel {
  /** Device bytes of the activations, logits and GEMM workspace (weights not included). */
  readonly activationBytes: number;
}

export interface LlamaCudaOptions {
  /**
   * GEMM calls of at most 8 rows (decode at batch 1..8, the LM head of up to 8 requests) take the
   * skinny kernel instead of cuBLASLt. Default: FLASHGRAPH_MODELS_SKINNY_GEMM=1 (the addon reads
   * it once); the benchmark sets it both ways in one process.
   */
  readonly skinnyGemm?: boolean;
}

export function loadLlamaCuda(
  config: LlamaConfig,
  weights: CudaWeights,
  context: ModelLoadContext,
  options: LlamaCudaOptions = {},
): LlamaCudaModel {
  const native = requireModelsNative();
  const cublas = native.cublasLt();
  if (!cublas.available) {
    throw new ModelsError('cublaslt_unavailable', 'backend', `the CUDA backend needs cuBLASLt: ${cublas.reason}`, {
      value: 'cuda',
      fix: cublas.install,
    });
  }
  const { device } = context;
  const T = context.maxNumTokens;
  const R = context.maxNumReqs;
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const V = config.vocabSize;
  const qSize = config.numHeadsQ * config.headDim;
  const kvSize = config.numHeadsKv * config.headDim;
  const dtype: 0 | 1 = weights.dtype === 'bf16' ? 0 : 1;
  const owned: { dispose(): void }[] = [];
  let activationBytes = 0;
  const alloc = (bytes: number): DeviceBuffer => {
    const b = DeviceBuffer.alloc(bytes, { device });
    owned.push(b);
    activationBytes += bytes;
    b.fill(0); // rows past numTokens feed padded GEMM rows: keep them finite
    return b;
  };
  try {
    const hidden = alloc(T * H * 2);
    const normed = alloc(T * H * 2);
    const delta = alloc(T * H * 2);
    const qkv = alloc(T * (qSize + 2 * kvSize) * 2);
    const q = alloc(T * qSize * 2);
    const k = alloc(T * kvSize * 2);
    const v = alloc(T * kvSize * 2);
    const attnOut = alloc(T * qSize * 2);
    const gateUp = alloc(T * 2 * I * 2);
    const act = alloc(T * I * 2);
    const sampleHidden = alloc(R * H * 2);
    const logits = alloc(R * V * 4);
    const workspace = alloc(GEMM_WORKSPACE_BYTES);
    const kernels = new native.LlamaKernels({
      hiddenSize: H,
      numHeadsQ: config.numHeadsQ,
      numHeadsKv: config.numHeadsKv,
      headDim: config.headDim,
      intermediateSize: I,
      vocabSize: V,
      rmsNormEps: config.rmsNormEps,
      dtype,
      maxNumTokens: T,
      maxNumReqs: R,
    });
    const gemm = (n: number, kDim: number, maxM: number, outDtype: 0 | 1 | 2, bias: DeviceBuffer | null) => {
      const g = new native.Gemm({
        n,
        k: kDim,
        maxM,
        inDtype: dtype,
        outDtype,
        workspace: workspace.ptr,
        workspaceBytes: GEMM_WORKSPACE_BYTES,
        ...(bias ? { bias: bias.ptr } : {}),
        ...(options.skinnyGemm === undefined ? {} : { skinny: options.skinnyGemm }),
      });
      owned.push(g);
      return g;
    };
    // One plan per layer where a bias is baked into the plan; otherwise shared by every layer.
    const qkvPlain = config.qkvBias ? null : gemm(qSize + 2 * kvSize, H, T, dtype, null);
    const oPlain = config.oProjBias ? null : gemm(H, qSize, T, dtype, null);
    const qkvGemms: NativeGemm[] = weights.layers.map(
      (w) => qkvPlain ?? gemm(qSize + 2 * kvSize, H, T, dtype, w.qkvBias),
    );
    const oGemms: NativeGemm[] = weights.layers.map((w) => oPlain ?? gemm(H, qSize, T, dtype, w.oBias));
    const gateUpGemm = gemm(2 * I, H, T, dtype, null);
    const downGemm = gemm(H, I, T, dtype, null);
    const headGemm = gemm(V, H, R, 2, null);
    const none = 0n;

    return {
      activationBytes,
      *forward(ctx: ForwardContext): Generator<AttentionCall, void, void> {
        if (ctx.backend !== 'cuda') {
          throw new ModelsError('wrong_backend', 'ctx.backend', 'this model was loaded for CUDA', {
            value: ctx.backend,
            allowed: 'cuda',
          });
        }
        const c = ctx as CudaForwardContext;
        const s = c.stream.handle;
        const n = c.numTokens;
        const b = c.buffers;
        // Where the skinny kernel takes the gate/up GEMM, SiLU x up is its epilogue: one launch, the
        // same bits as the GEMM then siluMul.
        const fusedSiluMul = gateUpGemm.kernelFor(n) === 'skinny';
        kernels.embed(weights.embed.ptr, b.tokenIds.ptr, hidden.ptr, n, s);
        for (let layer = 0; layer < weights.layers.length; layer++) {
          const w = weights.layers[layer] as (typeof weights.layers)[number];
          kernels.addRmsNorm(hidden.ptr, layer === 0 ? none : delta.ptr, w.inputNorm.ptr, normed.ptr, n, s);
          (qkvGemms[layer] as NativeGemm).run(normed.ptr, w.qkv.ptr, qkv.ptr, n, s);
          kernels.qkvRope(
            qkv.ptr,
            w.qNorm?.ptr ?? none,
            w.kNorm?.ptr ?? none,
            weights.invFreq.ptr,
            b.positions.ptr,
            q.ptr,
            k.ptr,
            v.ptr,
            n,
            s,
          );
          yield c.attention(layer, { q, k, v, out: attnOut });
          (oGemms[layer] as NativeGemm).run(attnOut.ptr, w.o.ptr, delta.ptr, n, s);
          kernels.addRmsNorm(hidden.ptr, delta.ptr, w.postNorm.ptr, normed.ptr, n, s);
          if (fusedSiluMul) {
            gateUpGemm.runSiluMul(normed.ptr, w.gateUp.ptr, act.ptr, n, s);
          } else {
            gateUpGemm.run(normed.ptr, w.gateUp.ptr, gateUp.ptr, n, s);
            kernels.siluMul(gateUp.ptr, act.ptr, n, s);
          }
          downGemm.run(act.ptr, w.down.ptr, delta.ptr, n, s);
        }
        kernels.gatherFinalNorm(
          hidden.ptr,
          delta.ptr,
          weights.norm.ptr,
          b.sampleRows.ptr,
          sampleHidden.ptr,
          c.numReqs,
          n,
          s,
        );
        headGemm.run(sampleHidden.ptr, weights.lmHead.ptr, logits.ptr, c.numReqs, s);
        c.sample(logits);
      },
      // The weights belong to the caller (one set can serve several engines).
      dispose() {
        for (const o of owned.splice(0)) o.dispose();
      },
    };
  } catch (err) {
    for (const o of owned.splice(0)) o.dispose();
    throw err;
  }
}
