// A small CPU language model for engine tests that samples through `ctx.sample`: random weights,
// per layer q/k/v projections, the engine's attention, an output projection with a residual, then
// an LM head over the sample rows only. Real attention makes a request's logits depend on its
// whole sequence, so batching bugs change tokens.
import type {
  AttentionCall,
  CpuForwardContext,
  ForwardContext,
  LoadedModel,
  Model,
  ModelLoadContext,
  ModelShape,
} from '../../src/model.js';
import { rng } from './reference-model.js';

export interface LogitsModelOptions {
  vocabSize?: number;
  numLayers?: number;
  eosTokenIds?: readonly number[];
  slidingWindow?: number | null;
  /** Scales the LM head: larger values make sharper distributions. */
  logitScale?: number;
  /**
   * 'bigram': the logits of a sample row are `bigramLogits(token of that row)`, ignoring the
   * layers, so a test knows the exact distribution. Default 'attention'.
   */
  head?: 'attention' | 'bigram';
}

/** The logits the bigram head gives after `token` (vocabulary V): a fixed pseudo-random table. */
export function bigramLogits(token: number, V: number): Float32Array {
  const r = rng(777 + token);
  return Float32Array.from({ length: V }, () => (r() * 2 - 1) * 3);
}

export function logitsModel(options: LogitsModelOptions = {}): Model {
  const V = options.vocabSize ?? 64;
  const shape: ModelShape = Object.freeze({
    numLayers: options.numLayers ?? 2,
    numHeadsQ: 2,
    numHeadsKv: 1,
    headDim: 64,
    hiddenSize: 32,
    vocabSize: V,
    dtype: 'bf16',
    slidingWindow: options.slidingWindow ?? null,
  });
  return Object.freeze({
    name: 'logits-model',
    shape,
    backends: Object.freeze(['cpu'] as const),
    ...(options.eosTokenIds ? { eosTokenIds: options.eosTokenIds } : {}),
    load: (context: ModelLoadContext) => load(shape, context, options.logitScale ?? 1, options.head ?? 'attention'),
  });
}

function load(
  shape: ModelShape,
  context: ModelLoadContext,
  logitScale: number,
  headKind: 'attention' | 'bigram',
): LoadedModel {
  const { hiddenSize: H, vocabSize: V, numLayers: L, headDim: D } = shape;
  const Q = shape.numHeadsQ * D;
  const KV = shape.numHeadsKv * D;
  const r = rng(1234);
  const mat = (n: number, scale: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
  const embed = mat(V * H, 1);
  const wq = Array.from({ length: L }, () => mat(H * Q, 0.5));
  const wk = Array.from({ length: L }, () => mat(H * KV, 0.5));
  const wv = Array.from({ length: L }, () => mat(H * KV, 0.5));
  const wo = Array.from({ length: L }, () => mat(Q * H, 0.2));
  const head = mat(H * V, logitScale);
  const T = context.maxNumTokens;
  const x = new Float32Array(T * H);
  const q = new Float32Array(T * Q);
  const k = new Float32Array(T * KV);
  const v = new Float32Array(T * KV);
  const out = new Float32Array(T * Q);
  const logits = new Float32Array(context.maxNumReqs * V);
  const bigram = Array.from({ length: V }, (_, t) => bigramLogits(t, V));
  const project = (w: Float32Array, dst: Float32Array, cols: number, n: number) => {
    for (let t = 0; t < n; t++)
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let h = 0; h < H; h++) s += (x[t * H + h] as number) * (w[h * cols + c] as number);
        dst[t * cols + c] = s;
      }
  };
  return {
    *forward(ctx: ForwardContext): Generator<AttentionCall, void, void> {
      if (ctx.backend !== 'cpu') throw new TypeError('logits-model is CPU only');
      const c = ctx as CpuForwardContext;
      const n = c.numTokens;
      const { tokenIds, positions, sampleRows } = c.buffers;
      c.stream.launch(() => {
        for (let t = 0; t < n; t++) {
          const tok = tokenIds[t] as number;
          const pos = positions[t] as number;
          for (let h = 0; h < H; h++) x[t * H + h] = (embed[tok * H + h] as number) + 0.1 * Math.sin(pos * (h + 1));
        }
      });
      for (let layer = 0; layer < L; layer++) {
        c.stream.launch(() => {
          project(wq[layer] as Float32Array, q, Q, n);
          project(wk[layer] as Float32Array, k, KV, n);
          project(wv[layer] as Float32Array, v, KV, n);
        });
        yield c.attention(layer, { q, k, v, out });
        c.stream.launch(() => {
          const w = wo[layer] as Float32Array;
          for (let t = 0; t < n; t++)
            for (let h = 0; h < H; h++) {
              let s = 0;
              for (let e = 0; e < Q; e++) s += (out[t * Q + e] as number) * (w[e * H + h] as number);
              x[t * H + h] = (x[t * H + h] as number) + s;
            }
        });
      }
      const numReqs = c.numReqs;
      c.stream.launch(() => {
        for (let i = 0; i < numReqs; i++) {
          const row = sampleRows[i] as number;
          // Rows without a sample may hold anything: fill them with NaN to prove it.
          if (row < 0) {
            logits.fill(Number.NaN, i * V, (i + 1) * V);
            continue;
          }
          if (headKind === 'bigram') {
            logits.set(bigram[tokenIds[row] as number] as Float32Array, i * V);
            continue;
          }
          for (let o = 0; o < V; o++) {
            let s = 0;
            for (let h = 0; h < H; h++) s += (x[row * H + h] as number) * (head[h * V + o] as number);
            logits[i * V + o] = s;
          }
        }
      });
      c.sample(logits);
    },
    dispose() {},
  };
}
