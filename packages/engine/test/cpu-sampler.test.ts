import { describe, expect, it } from 'vitest';
import { CpuSampler, logSumExp } from '../src/sampling/cpu-sampler.js';
import { type SamplingParams, SamplingParamsView } from '../src/sampling/params.js';
import { samplingUniform } from '../src/sampling/random.js';

const params = (p: Partial<SamplingParams>): SamplingParams => ({ temperature: 1, topK: 0, topP: 1, seed: 0, ...p });

function sampleOne(logits: number[], p: Partial<SamplingParams>, position = 0) {
  return new CpuSampler(logits.length).sampleRow(Float32Array.from(logits), 0, params(p), position);
}

/** Tokens drawn over many positions (each position is a fresh uniform). */
function histogram(logits: number[], p: Partial<SamplingParams>, draws = 4000): number[] {
  const sampler = new CpuSampler(logits.length);
  const row = Float32Array.from(logits);
  const counts = new Array<number>(logits.length).fill(0);
  for (let pos = 0; pos < draws; pos++) {
    const t = sampler.sampleRow(row, 0, params(p), pos).token;
    counts[t] = (counts[t] as number) + 1;
  }
  return counts;
}

describe('CPU sampler (contract B)', () => {
  it('temperature 0 is argmax with the lowest index on ties', () => {
    expect(sampleOne([0.5, 2, 2, -1], { temperature: 0 }).token).toBe(1);
    expect(sampleOne([3, 1, 3], { temperature: 0, seed: 99 }).token).toBe(0);
  });

  it('logprob is log-softmax of the raw logits, whatever the temperature and filters', () => {
    const logits = [1, 2, 3, 0.5];
    const lse = Math.log(logits.reduce((a, l) => a + Math.exp(l), 0));
    expect(logSumExp(Float32Array.from(logits), 0, 4)).toBeCloseTo(lse, 12);
    for (const p of [{ temperature: 0 }, { temperature: 0.3, topK: 2 }, { temperature: 5, topP: 0.5 }]) {
      const out = sampleOne(logits, p, 3);
      expect(out.logprob).toBeCloseTo((logits[out.token] as number) - lse, 6);
    }
  });

  it('walks the kept weights in token order with u from (seed, position)', () => {
    // Four equal logits: the token is floor(4u).
    for (const [seed, pos] of [
      [0, 0],
      [1, 0],
      [42, 7],
      [12345, 99],
    ] as const) {
      expect(sampleOne([0, 0, 0, 0], { seed }, pos).token).toBe(Math.floor(4 * samplingUniform(seed, pos)));
    }
  });

  it('top-k keeps every token tied at the cut', () => {
    const counts = histogram([1, 3, 3, 0], { topK: 1 });
    expect(counts[0]).toBe(0);
    expect(counts[3]).toBe(0);
    expect(counts[1]).toBeGreaterThan(1800);
    expect(counts[2]).toBeGreaterThan(1800);
    expect(histogram([5, 1, 4, 4.5], { topK: 2, temperature: 100 })).toEqual([
      expect.any(Number),
      0,
      0,
      expect.any(Number),
    ]);
  });

  it('top-p keeps the shortest prefix reaching p (and ties with its last element)', () => {
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    expect(histogram(logits, { topP: 0.4 })).toEqual([4000, 0, 0]);
    const two = histogram(logits, { topP: 0.7 });
    expect(two[2]).toBe(0);
    expect((two[0] as number) / 4000).toBeCloseTo(0.5 / 0.8, 1);
    // Ties at the cut stay: 0.4, 0.3, 0.3 with p = 0.5 keeps all three.
    const tied = histogram([Math.log(0.4), Math.log(0.3), Math.log(0.3)], { topP: 0.5 });
    expect(tied.every((c) => c > 800)).toBe(true);
  });

  it('draws with the temperature-scaled probabilities', () => {
    const logits = [0, Math.log(3)];
    // T = 1: 1/4 vs 3/4; T = 2: 1/(1+sqrt 3).
    expect((histogram(logits, { temperature: 1 })[0] as number) / 4000).toBeCloseTo(0.25, 1);
    expect((histogram(logits, { temperature: 2 })[0] as number) / 4000).toBeCloseTo(1 / (1 + Math.sqrt(3)), 1);
  });

  it('sampleBatch reads each slot and skips rows without a sample', () => {
    const V = 4;
    const R = 3;
    const view = new SamplingParamsView(new ArrayBuffer(SamplingParamsView.byteLength(R)), 0, R);
    view.set(0, params({ temperature: 0 }), 5);
    view.set(2, params({ seed: 42 }), 7);
    const logits = Float32Array.from([0, 9, 1, 2, 7, 7, 7, 7, 0, 0, 0, 0]);
    const sampled = new Int32Array(R).fill(123);
    const logprobs = new Float32Array(R).fill(9);
    new CpuSampler(V).sampleBatch(logits, Int32Array.from([4, -1, 0]), view, sampled, logprobs, R);
    expect([...sampled]).toEqual([1, -1, Math.floor(4 * samplingUniform(42, 7))]);
    expect(logprobs[1]).toBe(0);
    expect(logprobs[2]).toBeCloseTo(Math.log(0.25), 6);
  });

  it('a row holding NaN or +infinity reports a NaN logprob (the engine ends that request) and a token in range', () => {
    const V = 1000;
    const R = 4;
    const logits = Float32Array.from({ length: R * V }, (_, i) => Math.sin(i));
    logits[1 * V + 17] = Number.NaN;
    logits[2 * V + 3] = Number.POSITIVE_INFINITY;
    logits[3 * V + 5] = Number.NaN;
    const view = new SamplingParamsView(new ArrayBuffer(SamplingParamsView.byteLength(R)), 0, R);
    for (let r = 0; r < R; r++)
      view.set(r, r % 2 ? params({ temperature: 0.8, topK: 50, topP: 0.9, seed: r }) : params({ temperature: 0 }), 3);
    const sampled = new Int32Array(R);
    const logprobs = new Float32Array(R);
    new CpuSampler(V).sampleBatch(logits, Int32Array.from([0, 1, 2, 3]), view, sampled, logprobs, R);
    expect(Number.isFinite(logprobs[0])).toBe(true);
    for (const r of [1, 2, 3]) expect(logprobs[r]).toBeNaN();
    for (const t of sampled) expect(t >= 0 && t < V).toBe(true);
  });

  it('lays the parameters out as contract B says', () => {
    const R = 2;
    const buffer = new ArrayBuffer(SamplingParamsView.byteLength(R));
    const view = new SamplingParamsView(buffer, 0, R);
    view.set(1, { temperature: 0.5, topK: 40, topP: 0.25, seed: 0xfffffffe }, 17);
    expect(new Float32Array(buffer, 0, R)[1]).toBe(0.5);
    expect(new Int32Array(buffer, 4 * R, R)[1]).toBe(40);
    expect(new Float32Array(buffer, 8 * R, R)[1]).toBe(0.25);
    expect(new Uint32Array(buffer, 12 * R, R)[1]).toBe(0xfffffffe);
    expect(new Int32Array(buffer, 16 * R, R)[1]).toBe(17);
  });
});
