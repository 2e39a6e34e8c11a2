// The test oracle: the synthetic decoder recomputed directly over each request's whole token
// sequence (no paging, no batching, no chunking, no KV cache), with its own causal attention.
// It shares only the model's elementwise definition (synthetic-math.ts) with the engine.
import type { ModelShape } from '../../src/model.js';
import { embedRow, projectRow, residualRow, sampleRow, syntheticWeights } from '../../src/synthetic-math.js';
import { syntheticDims } from '../../src/synthetic-model.js';

/** `sinks`: one attention-sink logit per query head (every layer), joining the softmax denominator. */
export function referenceGenerate(
  shape: ModelShape,
  prompt: readonly number[],
  maxNewTokens: number,
  sinks?: Float32Array,
): number[] {
  const d = syntheticDims(shape);
  const w = syntheticWeights(d);
  const { hiddenSize: H, qSize, kvSize, headDim: D } = d;
  const G = shape.numHeadsQ / shape.numHeadsKv;
  const scale = 1 / Math.sqrt(D);
  const tokens = [...prompt];
  const out: number[] = [];
  while (out.length < maxNewTokens) {
    const n = tokens.length;
    const x = new Float32Array(n * H);
    for (let t = 0; t < n; t++) embedRow(x, t * H, tokens[t] as number, t, H);
    const q = new Float32Array(n * qSize);
    const k = new Float32Array(n * kvSize);
    const v = new Float32Array(n * kvSize);
    const o = new Float32Array(n * qSize);
    for (let layer = 0; layer < d.numLayers; layer++) {
      for (let t = 0; t < n; t++) projectRow(d, w, layer, x, t * H, q, k, v, t);
      for (let t = 0; t < n; t++) {
        for (let h = 0; h < shape.numHeadsQ; h++) {
          const kvh = Math.floor(h / G);
          const scores = new Float64Array(t + 1);
          const sink = sinks ? (sinks[h] as number) : Number.NEGATIVE_INFINITY;
          let max = sink;
          for (let s = 0; s <= t; s++) {
            let dot = 0;
            for (let e = 0; e < D; e++)
              dot += (q[t * qSize + h * D + e] as number) * (k[s * kvSize + kvh * D + e] as number);
            scores[s] = dot * scale;
            if ((scores[s] as number) > max) max = scores[s] as number;
          }
          let sum = sink === Number.NEGATIVE_INFINITY ? 0 : Math.exp(sink - max);
          for (let s = 0; s <= t; s++) {
            scores[s] = Math.exp((scores[s] as number) - max);
            sum += scores[s] as number;
          }
          for (let e = 0; e < D; e++) {
            let acc = 0;
            for (let s = 0; s <= t; s++) acc += (scores[s] as number) * (v[s * kvSize + kvh * D + e] as number);
            o[t * qSize + h * D + e] = acc / sum;
          }
        }
      }
      for (let t = 0; t < n; t++) residualRow(d, w, layer, x, t * H, o, t * qSize);
    }
    const next = sampleRow(d, w, x, (n - 1) * H);
    tokens.push(next);
    out.push(next);
  }
  return out;
}

/** A seeded PRNG (mulberry32) for reproducible workloads. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
