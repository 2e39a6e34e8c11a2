// The CPU forward of a Llama-family model in fp32: per layer RMSNorm, q/k/v projections (+bias),
// q/k norm (Qwen3), RoPE, attention (the engine's, yielded), o projection + residual, RMSNorm,
// SiLU-gated MLP + residual; then the final norm and the LM head on the sample rows only, and
// the engine's sampler. Every kernel is a closure launched on ctx.stream that reads the step
// buffers when it runs, so the same forward replays inside CPU graphs.
import type {
  AttentionCall,
  CpuForwardContext,
  ForwardContext,
  LoadedModel,
  ModelLoadContext,
} from '@flashgraph/engine';
import { InvalidArgumentError } from '@flashgraph/errors';
import { ModelsError } from '../../errors.js';
import type { LlamaConfig } from '../config.js';
import { ropeInverseFrequencies, ropePositionScale } from '../rope.js';
import { addInto, applyRope, linear, linearRow, rmsNorm, ropeTables, siluMul } from './kernels.js';
import type { CpuWeights } from './weights.js';

export function loadLlamaCpu(config: LlamaConfig, weights: CpuWeights, context: ModelLoadContext): LoadedModel {
  const T = context.maxNumTokens;
  const R = context.maxNumReqs;
  const H = config.hiddenSize;
  const D = config.headDim;
  const V = config.vocabSize;
  const I = config.intermediateSize;
  const Hq = config.numHeadsQ;
  const Hkv = config.numHeadsKv;
  const qSize = Hq * D;
  const kvSize = Hkv * D;
  checkCpuStepSizes(T, R, Math.max(H, qSize, I), V);
  const eps = config.rmsNormEps;
  const inverseFrequencies = ropeInverseFrequencies(config);
  const positionScale = ropePositionScale(config);

  const x = new Float32Array(T * H); // the residual stream
  const h = new Float32Array(T * H); // normed input of a sub-layer
  const tmp = new Float32Array(T * H); // a sub-layer's output before the residual add
  const q = new Float32Array(T * qSize);
  const k = new Float32Array(T * kvSize);
  const v = new Float32Array(T * kvSize);
  const out = new Float32Array(T * qSize);
  const gate = new Float32Array(T * I);
  const up = new Float32Array(T * I);
  const cos = new Float32Array((T * D) / 2);
  const sin = new Float32Array((T * D) / 2);
  const normedRow = new Float32Array(H);
  const logits = new Float32Array(R * V);

  return {
    *forward(ctx: ForwardContext): Generator<AttentionCall, void, void> {
      if (ctx.backend !== 'cpu') {
        throw new ModelsError('wrong_backend', 'forward(ctx).backend', 'this model was loaded for the cpu backend', {
          value: ctx.backend,
          allowed: "'cpu'",
          fix: 'Load the model for the backend that runs it (the engine does this).',
        });
      }
      const c = ctx as CpuForwardContext;
      const n = c.numTokens;
      const numReqs = c.numReqs;
      const { tokenIds, positions, sampleRows } = c.buffers;
      c.stream.launch(() => {
        for (let t = 0; t < n; t++) {
          const token = tokenIds[t] as number;
          if (token >= 0 && token < V) x.set(weights.embed.subarray(token * H, (token + 1) * H), t * H);
          else x.fill(0, t * H, (t + 1) * H);
        }
        ropeTables(positions, n, inverseFrequencies, positionScale, cos, sin);
      });
      for (let layer = 0; layer < config.numLayers; layer++) {
        const w = weights.layers[layer] as CpuWeights['layers'][number];
        c.stream.launch(() => {
          rmsNorm(x, h, w.inputNorm, n, H, eps);
          linear(h, w.q, w.qBias, q, n, qSize, H);
          linear(h, w.k, w.kBias, k, n, kvSize, H);
          linear(h, w.v, w.vBias, v, n, kvSize, H);
          if (w.qNorm && w.kNorm) {
            rmsNorm(q, q, w.qNorm, n * Hq, D, eps);
            rmsNorm(k, k, w.kNorm, n * Hkv, D, eps);
          }
          applyRope(q, n, Hq, D, cos, sin);
          applyRope(k, n, Hkv, D, cos, sin);
        });
        yield c.attention(layer, { q, k, v, out });
        c.stream.launch(() => {
          linear(out, w.o, w.oBias, tmp, n, H, qSize);
          addInto(x, tmp, n * H);
          rmsNorm(x, h, w.postNorm, n, H, eps);
          linear(h, w.gate, null, gate, n, I, H);
          linear(h, w.up, null, up, n, I, H);
          siluMul(gate, up, n * I);
          linear(gate, w.down, null, tmp, n, H, I);
          addInto(x, tmp, n * H);
        });
      }
      // Final norm and LM head on the sample rows only: a decode step's cost is one row per request.
      c.stream.launch(() => {
        for (let r = 0; r < numReqs; r++) {
          const row = sampleRows[r] as number;
          if (row < 0 || row >= n) continue;
          rmsNorm(x.subarray(row * H, (row + 1) * H), normedRow, weights.norm, 1, H, eps);
          linearRow(normedRow, 0, weights.lmHead, null, logits, r * V, V, H);
        }
      });
      c.sample(logits.subarray(0, numReqs * V));
    },
    dispose() {},
  };
}

// The engine bounds a step's activations by the model's hidden and attention widths; a Llama MLP
// (intermediate_size) and the logits (vocab_size per request) can be wider. Each step buffer stays
// within the engine's CPU bound of 2^28 float32 elements (1 GiB), checked before any is allocated.
const MAX_CPU_STEP_ELEMENTS = 2 ** 28;

function checkCpuStepSizes(maxNumTokens: number, maxNumReqs: number, widest: number, vocabSize: number): void {
  if (maxNumTokens * widest > MAX_CPU_STEP_ELEMENTS) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: 'options.limits.maxNumBatchedTokens',
      value: maxNumTokens,
      allowed: `at most ${Math.floor(MAX_CPU_STEP_ELEMENTS / widest)} on the CPU backend for this model (its widest activation row, ${widest} elements, times the tokens of a step stays within 2^28 float32 elements)`,
    });
  }
  if (maxNumReqs * vocabSize > MAX_CPU_STEP_ELEMENTS) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: 'options.limits.maxNumSeqs',
      value: maxNumReqs,
      allowed: `at most ${Math.floor(MAX_CPU_STEP_ELEMENTS / vocabSize)} on the CPU backend for this model (a step's logits, vocab_size ${vocabSize} per request, stay within 2^28 float32 elements)`,
    });
  }
}
