// The CPU sampler: contract B, exactly. For each request r with sampleRows[r] >= 0, row r of the
// logits `[numReqs, vocabSize]` gives the next token:
//   temperature 0: argmax (lowest index on ties);
//   otherwise top-k on the raw logits (ties at the cut kept), weights exp((l - lmax) / T), top-p
//   on the kept probabilities (keep prob >= the probability closing the shortest prefix that
//   reaches p), then one uniform draw from the (seed, position) hash, walked over kept tokens in
//   ascending token index.
// The logprob is always that of the raw logits (before temperature and filtering). Maths in
// float64; the device sampler computes the same function in its own precision.
import type { SamplingParams, SamplingParamsView } from './params.js';
import { samplingUniform } from './random.js';

export interface SampledToken {
  readonly token: number;
  readonly logprob: number;
}

/** log(sum(exp(l))) over one row, shifted by its maximum. */
export function logSumExp(logits: Float32Array, offset: number, vocabSize: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocabSize; i++) {
    const l = logits[offset + i] as number;
    if (l > max) max = l;
  }
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (let i = 0; i < vocabSize; i++) sum += Math.exp((logits[offset + i] as number) - max);
  return max + Math.log(sum);
}

/** Reusable scratch of one vocabulary size, so a step allocates nothing. */
export class CpuSampler {
  private readonly sorted: Float32Array;
  private readonly weights: Float64Array;
  private readonly keptWeights: Float64Array;
  private readonly keep: Uint8Array;

  constructor(readonly vocabSize: number) {
    this.sorted = new Float32Array(vocabSize);
    this.weights = new Float64Array(vocabSize);
    this.keptWeights = new Float64Array(vocabSize);
    this.keep = new Uint8Array(vocabSize);
  }

  /** Samples one row: `logits[offset .. offset + vocabSize)`, for the token at `position`. */
  sampleRow(logits: Float32Array, offset: number, params: SamplingParams, position: number): SampledToken {
    const V = this.vocabSize;
    const token = params.temperature === 0 ? argmax(logits, offset, V) : this.draw(logits, offset, params, position);
    return { token, logprob: (logits[offset + token] as number) - logSumExp(logits, offset, V) };
  }

  /**
   * The sampling kernel of one step: writes sampled[r] and logprobs[r] for r < numReqs (-1 and 0
   * where sampleRows[r] is -1), reading the parameters of slot r.
   */
  sampleBatch(
    logits: Float32Array,
    sampleRows: Int32Array,
    params: SamplingParamsView,
    sampled: Int32Array,
    logprobs: Float32Array,
    numReqs: number,
  ): void {
    const V = this.vocabSize;
    for (let r = 0; r < numReqs; r++) {
      if ((sampleRows[r] as number) < 0) {
        sampled[r] = -1;
        logprobs[r] = 0;
        continue;
      }
      const p: SamplingParams = {
        temperature: params.temperature[r] as number,
        topK: params.topK[r] as number,
        topP: params.topP[r] as number,
        seed: params.seed[r] as number,
      };
      const out = this.sampleRow(logits, r * V, p, params.position[r] as number);
      sampled[r] = out.token;
      logprobs[r] = out.logprob;
    }
  }

  private draw(logits: Float32Array, offset: number, params: SamplingParams, position: number): number {
    const V = this.vocabSize;
    const row = logits.subarray(offset, offset + V);
    const keep = this.keep;
    // 1. top-k: the k-th largest logit counting multiplicity; everything at or above it stays.
    let cut = Number.NEGATIVE_INFINITY;
    if (params.topK > 0 && params.topK < V) {
      this.sorted.set(row);
      this.sorted.sort();
      cut = this.sorted[V - params.topK] as number;
    }
    let lmax = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < V; i++) {
      const l = row[i] as number;
      keep[i] = l >= cut ? 1 : 0;
      if (keep[i] && l > lmax) lmax = l;
    }
    // 2. weights over the kept tokens.
    const w = this.weights;
    const T = params.temperature;
    let sum = 0;
    let n = 0;
    for (let i = 0; i < V; i++) {
      if (!keep[i]) continue;
      const wi = Math.exp(((row[i] as number) - lmax) / T);
      w[i] = wi;
      sum += wi;
      this.keptWeights[n++] = wi;
    }
    // 3. top-p: sort the kept probabilities descending, find the shortest prefix reaching p, and
    // keep every token at least as probable as its last element (so ties at the cut stay).
    if (params.topP < 1) {
      const kept = this.keptWeights.subarray(0, n).sort();
      let pcut = (kept[0] as number) / sum;
      let reached = 0;
      for (let j = n - 1; j >= 0; j--) {
        const prob = (kept[j] as number) / sum;
        reached += prob;
        if (reached >= params.topP) {
          pcut = prob;
          break;
        }
      }
      const total = sum;
      sum = 0;
      for (let i = 0; i < V; i++) {
        if (!keep[i]) continue;
        if ((w[i] as number) / total >= pcut) sum += w[i] as number;
        else keep[i] = 0;
      }
    }
    // 4. one draw, walked over the kept tokens in ascending token index.
    const target = samplingUniform(params.seed, position) * sum;
    let running = 0;
    let last = 0;
    for (let i = 0; i < V; i++) {
      if (!keep[i]) continue;
      running += w[i] as number;
      last = i;
      if (running > target) return i;
    }
    return last;
  }
}

/** The first index of the largest logit. */
export function argmax(logits: Float32Array, offset: number, vocabSize: number): number {
  let best = 0;
  let bestValue = logits[offset] as number;
  for (let i = 1; i < vocabSize; i++) {
    const l = logits[offset + i] as number;
    if (l > bestValue) {
      best = i;
      bestValue = l;
    }
  }
  return best;
}
