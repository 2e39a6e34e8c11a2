// The device sampler (native/engine/kernels/sampling.cu) against the CPU sampler, which states
// contract B in float64: same tokens for greedy, temperature, top-k, top-p and seeded draws, same
// logprobs to fp32 rounding, -1/0 for rows that do not sample, ties resolved the same way, and the
// same results when the launch is captured into a CUDA graph and replayed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cudaStatus, DeviceBuffer, Stream } from '@flashgraph/cuda';
import { loadNative } from '../../src/native.js';
import { CpuSampler } from '../../src/sampling/cpu-sampler.js';
import { type SamplingParams, SamplingParamsView } from '../../src/sampling/params.js';

const status = cudaStatus();
const skip = status.available ? false : `no CUDA device: ${status.reason}`;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  readonly vocab: number;
  readonly rows: number;
  readonly params: (r: number) => SamplingParams;
  /** Logit generator: spread and quantization (quantized logits make ties). */
  readonly scale: number;
  readonly quantum?: number;
}

function runDevice(
  logits: Float32Array,
  view: SamplingParamsView,
  paramsBytes: Uint8Array,
  sampleRows: Int32Array,
  vocab: number,
  numReqs: number,
  maxNumReqs: number,
  capture: boolean,
): { tokens: Int32Array; logprobs: Float32Array; stats: Float32Array } {
  const native = loadNative().addon;
  if (!native?.sample || !native.samplerWorkspaceBytes) throw new Error('engine addon without a sampler');
  void view;
  using stream = Stream.create();
  using dLogits = DeviceBuffer.alloc(logits.byteLength);
  using dParams = DeviceBuffer.alloc(paramsBytes.byteLength);
  using dRows = DeviceBuffer.alloc(sampleRows.byteLength);
  using dSampled = DeviceBuffer.alloc(maxNumReqs * 4);
  using dLogprobs = DeviceBuffer.alloc(maxNumReqs * 4);
  using ws = DeviceBuffer.alloc(Math.max(4, native.samplerWorkspaceBytes(vocab, maxNumReqs)));
  dLogits.write(logits);
  dParams.write(paramsBytes);
  dRows.write(sampleRows);
  dSampled.fill(0x7f);
  dLogprobs.fill(0x7f);
  const launch = () =>
    native.sample?.(
      dLogits.ptr,
      dParams.ptr,
      dRows.ptr,
      dSampled.ptr,
      dLogprobs.ptr,
      ws.ptr,
      vocab,
      numReqs,
      maxNumReqs,
      stream.handle,
    );
  if (capture) {
    stream.beginCapture();
    launch();
    using graph = stream.endCapture();
    using exec = graph.instantiate();
    exec.launch(stream);
    exec.launch(stream);
  } else {
    launch();
  }
  stream.synchronize();
  return {
    tokens: dSampled.read(new Int32Array(numReqs)),
    logprobs: dLogprobs.read(new Float32Array(numReqs)),
    stats: ws.read(new Float32Array(numReqs * 4)),
  };
}

function check(name: string, c: Case, seed: number, capture = false): void {
  const next = rng(seed);
  const V = c.vocab;
  const R = c.rows;
  const logits = new Float32Array(R * V);
  for (let i = 0; i < logits.length; i++) {
    const x = (next() * 2 - 1) * c.scale + (next() < 0.001 ? 8 : 0);
    logits[i] = c.quantum ? Math.round(x / c.quantum) * c.quantum : x;
  }
  const paramsBytes = new Uint8Array(SamplingParamsView.byteLength(R));
  const view = new SamplingParamsView(paramsBytes.buffer, 0, R);
  const sampleRows = new Int32Array(R);
  for (let r = 0; r < R; r++) {
    view.set(r, c.params(r), Math.floor(next() * 5000));
    sampleRows[r] = r % 7 === 6 ? -1 : r;
  }
  const cpu = new CpuSampler(V);
  const want = new Int32Array(R);
  const wantLp = new Float32Array(R);
  cpu.sampleBatch(logits, sampleRows, view, want, wantLp, R);
  const got = runDevice(logits, view, paramsBytes, sampleRows, V, R, R, capture);
  let mismatches = 0;
  let maxLpDiff = 0;
  for (let r = 0; r < R; r++) {
    if (got.tokens[r] !== want[r]) mismatches++;
    if (got.tokens[r] === want[r])
      maxLpDiff = Math.max(maxLpDiff, Math.abs((got.logprobs[r] as number) - (wantLp[r] as number)));
    if ((sampleRows[r] as number) < 0) {
      assert.equal(got.tokens[r], -1, `${name}: row ${r} does not sample`);
      assert.equal(got.logprobs[r], 0, `${name}: row ${r} logprob`);
    }
  }
  console.log(
    `# sampler ${name}${capture ? ' (graph)' : ''}: V=${V} R=${R} mismatches=${mismatches} max|dlogprob|=${maxLpDiff.toExponential(2)}`,
  );
  assert.equal(mismatches, 0, `${name}: device and CPU samplers disagree on ${mismatches} of ${R} rows`);
  assert.ok(maxLpDiff < 1e-4, `${name}: logprob differs by ${maxLpDiff}`);
}

const greedy = (): SamplingParams => ({ temperature: 0, topK: 0, topP: 1, seed: 0 });

test('greedy: argmax, lowest index on ties, logprob of the raw logits', { skip }, () => {
  check('greedy', { vocab: 32000, rows: 64, params: greedy, scale: 4 }, 1);
  check('greedy ties', { vocab: 5000, rows: 32, params: greedy, scale: 2, quantum: 0.5 }, 2);
  check('greedy 128k', { vocab: 128256, rows: 8, params: greedy, scale: 6 }, 3);
});

test('temperature, top-k (ties at the cut kept), top-p and seeds match the CPU sampler', { skip }, () => {
  const mixed = (r: number): SamplingParams => ({
    temperature: [0.3, 0.7, 1, 1.5][r % 4] as number,
    topK: [0, 1, 5, 50, 0, 1000][r % 6] as number,
    topP: [1, 0.9, 0.5, 0.95, 0.01][r % 5] as number,
    seed: (r * 2654435761) >>> 0,
  });
  check('mixed', { vocab: 32000, rows: 128, params: mixed, scale: 3 }, 4);
  check('mixed ties', { vocab: 4000, rows: 128, params: mixed, scale: 2, quantum: 0.25 }, 5);
  check('mixed 128k', { vocab: 128256, rows: 16, params: mixed, scale: 5 }, 6);
  check(
    'temperature only',
    { vocab: 1000, rows: 256, params: (r) => ({ temperature: 1, topK: 0, topP: 1, seed: r }), scale: 1 },
    7,
  );
});

test('captured into a graph and replayed, the sampler gives the same tokens', { skip }, () => {
  const p = (r: number): SamplingParams => ({ temperature: 0.8, topK: r % 3 === 0 ? 40 : 0, topP: 0.9, seed: 17 + r });
  check('graph', { vocab: 32000, rows: 32, params: p, scale: 3 }, 8, true);
});

test('a row holding NaN or +infinity: NaN logprob as on the CPU (the engine ends that request), token in range, other rows unaffected', {
  skip,
}, () => {
  const V = 1000;
  const R = 8;
  const next = rng(11);
  const logits = Float32Array.from({ length: R * V }, () => next() * 4 - 2);
  const bad = new Map([
    [1, Number.NaN],
    [2, Number.POSITIVE_INFINITY],
    [5, Number.NaN],
    [6, Number.POSITIVE_INFINITY],
  ]);
  for (const [r, value] of bad) logits[r * V + ((r * 37) % V)] = value;
  const paramsBytes = new Uint8Array(SamplingParamsView.byteLength(R));
  const view = new SamplingParamsView(paramsBytes.buffer, 0, R);
  for (let r = 0; r < R; r++) view.set(r, r % 2 ? { temperature: 0.8, topK: 50, topP: 0.9, seed: r } : greedy(), 3);
  const sampleRows = Int32Array.from({ length: R }, (_, r) => r);
  const cpu = new CpuSampler(V);
  const want = new Int32Array(R);
  const wantLp = new Float32Array(R);
  cpu.sampleBatch(logits, sampleRows, view, want, wantLp, R);
  const got = runDevice(logits, view, paramsBytes, sampleRows, V, R, R, false);
  console.log(`# sampler non-finite rows: tokens ${[...got.tokens]} logprobs ${[...got.logprobs]}`);
  for (let r = 0; r < R; r++) {
    const t = got.tokens[r] as number;
    assert.ok(t >= 0 && t < V, `row ${r}: token ${t} in [0, ${V})`);
    if (bad.has(r)) {
      assert.ok(Number.isNaN(wantLp[r]), `row ${r}: the CPU sampler reports NaN`);
      assert.ok(Number.isNaN(got.logprobs[r]), `row ${r}: logprob ${got.logprobs[r]} should be NaN`);
    } else {
      assert.equal(t, want[r], `row ${r}: a finite row samples as on the CPU`);
      assert.ok(Math.abs((got.logprobs[r] as number) - (wantLp[r] as number)) < 1e-4, `row ${r}: logprob`);
    }
  }
});

test('a seeded draw depends on seed and position, not on the batch slot', { skip }, () => {
  const V = 2000;
  const next = rng(9);
  const row = Float32Array.from({ length: V }, () => next() * 4);
  const R = 16;
  const logits = new Float32Array(R * V);
  for (let r = 0; r < R; r++) logits.set(row, r * V);
  const paramsBytes = new Uint8Array(SamplingParamsView.byteLength(R));
  const view = new SamplingParamsView(paramsBytes.buffer, 0, R);
  for (let r = 0; r < R; r++) view.set(r, { temperature: 1, topK: 0, topP: 1, seed: 1234 }, 77);
  const got = runDevice(
    logits,
    view,
    paramsBytes,
    Int32Array.from({ length: R }, (_, r) => r),
    V,
    R,
    R,
    false,
  );
  assert.ok(
    got.tokens.every((t) => t === got.tokens[0]),
    `same seed and position in every slot: ${got.tokens}`,
  );
});
