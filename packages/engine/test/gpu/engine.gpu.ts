// GPU tests of @flashgraph/engine (node:test; bundled and run on the device by tooling/gpu).
// Skipped without a usable CUDA device.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GraphMode } from '@flashgraph/config';
import { cudaStatus, DeviceBuffer, fromBf16, memGetInfo, Stream, toBf16 } from '@flashgraph/cuda';
import { createEngine, syntheticDecoder } from '@flashgraph/engine';
import type { AttentionCall, CudaForwardContext, ForwardContext, Model } from '../../src/model.js';
import { loadNative, nativeSampler } from '../../src/native.js';
import { CpuSampler } from '../../src/sampling/cpu-sampler.js';
import { embedRow, projectRow, residualRow, sampleRow, syntheticWeights } from '../../src/synthetic-math.js';
import { syntheticDims } from '../../src/synthetic-model.js';
import { routingEngineOptions, routingWorkload, type WorkloadRequest } from '../helpers/routing-workload.js';

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

const shape = { numLayers: 4, numHeadsQ: 32, numHeadsKv: 8, headDim: 128, vocabSize: 32000 } as const;
const model = syntheticDecoder(shape);

async function generate(
  mode: GraphMode,
  maxNumSplits: number,
  requests: WorkloadRequest[],
  kvCache: { dtype?: 'fp8_e4m3'; kDescale?: number[]; vDescale?: number[] } = {},
) {
  const engine = await createEngine({
    model,
    graph: { mode, maxNumSplits },
    ...routingEngineOptions,
    cache: { ...routingEngineOptions.cache, ...kvCache },
    backend: 'cuda',
  });
  try {
    for (const r of requests) engine.addRequest(r);
    const { outputs, stats } = await engine.run();
    return { tokens: outputs.map((o) => [...o.outputTokens]), stats };
  } finally {
    engine.dispose();
  }
}

test('full-graph, piecewise and eager outputs are identical for the same workload (one split)', { skip }, async () => {
  // With maxNumSplits 1 every step uses the same split bound, so every mode runs bit-identical
  // arithmetic and the sampled tokens must match exactly. The workload reaches every route of
  // every mode (the CPU suite's routing test checks that for the same seed): big mixed steps run
  // eagerly, small mixed steps replay piecewise graphs (full graphs in 'full'), decodes full graphs.
  const requests = routingWorkload(3, shape.vocabSize);
  const eager = await generate('none', 1, requests);
  assert.equal(eager.stats.byMode.eager.steps, eager.stats.steps, "mode 'none' ran a graph");
  for (const mode of ['full', 'piecewise', 'full_and_piecewise'] as const) {
    const run = await generate(mode, 1, requests);
    assert.deepEqual(run.tokens, eager.tokens, `${mode} outputs differ from eager`);
    if (mode !== 'piecewise') assert.ok(run.stats.byMode.full.steps > 0, `${mode}: no full-graph step ran`);
    if (mode !== 'full') assert.ok(run.stats.byMode.piecewise.steps > 0, `${mode}: no piecewise step ran`);
    assert.ok(run.stats.byMode.eager.steps > 0, `${mode}: no step above the max capture size ran eagerly`);
  }
  for (const t of eager.tokens.flat()) assert.ok(t >= 0 && t < shape.vocabSize, `token ${t} out of range`);
});

test('an fp8 e4m3 KV cache: the same tokens in every graph mode, descales reach fa3', { skip }, async () => {
  // One split: every mode runs the same arithmetic on the same quantized cache. Descales of 2^-4
  // change which codes the cache holds (and so, at some step, a token) but never the mode parity.
  const requests = routingWorkload(3, shape.vocabSize);
  const fp8 = { dtype: 'fp8_e4m3' as const };
  const eager = await generate('none', 1, requests, fp8);
  for (const mode of ['full', 'piecewise', 'full_and_piecewise'] as const) {
    const run = await generate(mode, 1, requests, fp8);
    assert.deepEqual(run.tokens, eager.tokens, `fp8 cache: ${mode} outputs differ from eager`);
  }
  for (const t of eager.tokens.flat()) assert.ok(t >= 0 && t < shape.vocabSize, `token ${t} out of range`);
  const n = shape.numLayers * shape.numHeadsKv;
  const scaled = { ...fp8, kDescale: new Array(n).fill(1 / 16), vDescale: new Array(n).fill(1 / 16) };
  const a = await generate('full_and_piecewise', 1, requests, scaled);
  const b = await generate('none', 1, requests, scaled);
  assert.deepEqual(a.tokens, b.tokens, 'fp8 cache with descales: graphs == eager');
});

test('full graphs with the default split bound are deterministic and match replay-to-replay', { skip }, async () => {
  const requests = routingWorkload(5, shape.vocabSize);
  const a = await generate('full_and_piecewise', 32, requests);
  const b = await generate('full_and_piecewise', 32, requests);
  assert.deepEqual(a.tokens, b.tokens);
  assert.ok(a.stats.byMode.full.steps > 0);
});

test('synthetic kernels match the CPU mirror (bf16 storage); sampling matches exactly', { skip }, () => {
  const native = loadNative();
  assert.ok(native.addon, native.addon ? '' : native.reason);
  const d = syntheticDims(model.shape);
  const w = syntheticWeights(d);
  const T = 37;
  const R = 5;
  const kernels = new native.addon.SyntheticKernels({ ...d, dtype: 0, maxNumTokens: T, maxNumReqs: R });
  const stream = Stream.create();
  const r = rng(9);
  const tokens = Int32Array.from({ length: T }, () => Math.floor(r() * d.vocabSize));
  const positions = Int32Array.from({ length: T }, () => Math.floor(r() * 40000));
  const bufs = {
    tok: DeviceBuffer.alloc(T * 4),
    pos: DeviceBuffer.alloc(T * 4),
    x: DeviceBuffer.alloc(T * d.hiddenSize * 2),
    q: DeviceBuffer.alloc(T * d.qSize * 2),
    k: DeviceBuffer.alloc(T * d.kvSize * 2),
    v: DeviceBuffer.alloc(T * d.kvSize * 2),
    o: DeviceBuffer.alloc(T * d.qSize * 2),
    rows: DeviceBuffer.alloc(R * 4),
    sampled: DeviceBuffer.alloc(R * 4),
  };
  try {
    bufs.tok.write(tokens);
    bufs.pos.write(positions);
    const readBf16 = (b: DeviceBuffer, n: number) => fromBf16(b.read(new Uint16Array(n)));
    const close = (got: Float32Array, want: Float32Array, what: string) => {
      for (let i = 0; i < want.length; i++) {
        const tol = 1e-2 * Math.abs(want[i] as number) + 1e-2;
        assert.ok(Math.abs((got[i] as number) - (want[i] as number)) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
      }
    };
    // Embedding.
    kernels.embed(bufs.tok.ptr, bufs.pos.ptr, bufs.x.ptr, T, stream.handle);
    stream.synchronize();
    const x = readBf16(bufs.x, T * d.hiddenSize);
    const xWant = new Float32Array(T * d.hiddenSize);
    for (let t = 0; t < T; t++)
      embedRow(xWant, t * d.hiddenSize, tokens[t] as number, positions[t] as number, d.hiddenSize);
    close(x, xWant, 'embed');
    // Projection from the GPU's own bf16 hidden state (so only this kernel's error counts).
    kernels.project(2, bufs.x.ptr, bufs.q.ptr, bufs.k.ptr, bufs.v.ptr, T, stream.handle);
    stream.synchronize();
    const qW = new Float32Array(T * d.qSize);
    const kW = new Float32Array(T * d.kvSize);
    const vW = new Float32Array(T * d.kvSize);
    for (let t = 0; t < T; t++) projectRow(d, w, 2, x, t * d.hiddenSize, qW, kW, vW, t);
    close(readBf16(bufs.q, T * d.qSize), qW, 'q');
    close(readBf16(bufs.k, T * d.kvSize), kW, 'k');
    close(readBf16(bufs.v, T * d.kvSize), vW, 'v');
    // Residual with a random attention output.
    const o = Float32Array.from({ length: T * d.qSize }, () => r() * 2 - 1);
    const oBf = toBf16(o);
    bufs.o.write(oBf);
    kernels.residual(1, bufs.x.ptr, bufs.o.ptr, T, stream.handle);
    stream.synchronize();
    const xAfter = x.slice();
    const oRounded = fromBf16(oBf);
    for (let t = 0; t < T; t++) residualRow(d, w, 1, xAfter, t * d.hiddenSize, oRounded, t * d.qSize);
    const xGpu = readBf16(bufs.x, T * d.hiddenSize);
    close(xGpu, xAfter, 'residual');
    // Sampling: the same bf16 rows on both sides, explicit fp32 rounding: identical tokens.
    const rows = Int32Array.from([0, 36, -1, 17, 99]);
    bufs.rows.write(rows);
    bufs.sampled.fill(0xff);
    kernels.sample(bufs.x.ptr, bufs.rows.ptr, bufs.sampled.ptr, R, T, stream.handle);
    stream.synchronize();
    const got = bufs.sampled.read(new Int32Array(R));
    const want = Array.from(rows, (row) => (row < 0 || row >= T ? -1 : sampleRow(d, w, xGpu, row * d.hiddenSize)));
    assert.deepEqual([...got], want);
  } finally {
    for (const b of Object.values(bufs)) b.dispose();
    stream.dispose();
  }
});

test('engine dispose returns device memory', { skip }, async () => {
  const before = memGetInfo().freeBytes;
  for (let i = 0; i < 3; i++) {
    const e = await createEngine({
      model,
      graph: { mode: 'full_and_piecewise' },
      cache: { blockSize: 16, numBlocks: 1024 },
      limits: { maxNumSeqs: 32, maxNumBatchedTokens: 512 },
      backend: 'cuda',
    });
    e.addRequest({ promptTokens: [1, 2, 3], maxNewTokens: 4 });
    await e.run();
    e.dispose();
  }
  const after = memGetInfo().freeBytes;
  assert.ok(before - after < 64 * 2 ** 20, `free memory dropped by ${((before - after) / 2 ** 20).toFixed(1)} MiB`);
});

// A one-layer CUDA model whose logits are a fixed table (the same row for every request): what it
// samples on the device must be what the CPU sampler computes from that row.
function fixedLogitsModel(logitsRow: Float32Array): Model {
  const V = logitsRow.length;
  return {
    name: 'fixed-logits',
    shape: { numLayers: 1, numHeadsQ: 2, numHeadsKv: 1, headDim: 64, hiddenSize: 128, vocabSize: V, dtype: 'bf16' },
    backends: ['cuda'],
    load(ctx) {
      const T = ctx.maxNumTokens;
      const own: DeviceBuffer[] = [];
      const alloc = (bytes: number) => {
        const b = DeviceBuffer.alloc(bytes, { device: ctx.device });
        b.fill(0);
        own.push(b);
        return b;
      };
      const q = alloc(T * 2 * 64 * 2);
      const k = alloc(T * 64 * 2);
      const v = alloc(T * 64 * 2);
      const out = alloc(T * 2 * 64 * 2);
      const logits = alloc(ctx.maxNumReqs * V * 4);
      const table = new Float32Array(ctx.maxNumReqs * V);
      for (let r = 0; r < ctx.maxNumReqs; r++) table.set(logitsRow, r * V);
      logits.write(table);
      return {
        *forward(fctx: ForwardContext): Generator<AttentionCall, void, void> {
          const c = fctx as CudaForwardContext;
          yield c.attention(0, { q, k, v, out });
          c.sample(logits);
        },
        dispose: () => {
          for (const b of own.splice(0)) b.dispose();
        },
      };
    },
  };
}

test('ctx.sample on CUDA: the device sampler equals the CPU sampler, or a typed error without it', {
  skip,
}, async () => {
  const V = 300;
  const r = rng(5);
  const row = Float32Array.from({ length: V }, () => (r() * 2 - 1) * 4);
  const options = {
    model: fixedLogitsModel(row),
    graph: { mode: 'full_and_piecewise' as const },
    cache: { blockSize: 16, numBlocks: 64 },
    limits: { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
    backend: 'cuda' as const,
  };
  if (!nativeSampler()) {
    // The forward runs at capture, so createEngine reports it.
    await assert.rejects(createEngine(options), (err: Error & { code?: string }) => err.code === 'sampler_unavailable');
    console.log('engine addon has no sample(): sampler_unavailable checked');
    return;
  }
  const cpu = new CpuSampler(V);
  const lse = Math.log(row.reduce((a, l) => a + Math.exp(l), 0));
  const requests = [
    { promptTokens: [1, 2, 3], maxNewTokens: 6 },
    { promptTokens: [4], maxNewTokens: 6, temperature: 1, seed: 11 },
    { promptTokens: [5, 6], maxNewTokens: 6, temperature: 0.7, topK: 20, topP: 0.9, seed: 12 },
    { promptTokens: Array.from({ length: 40 }, (_, i) => i), maxNewTokens: 6, temperature: 2, topP: 0.5, seed: 13 },
  ];
  for (const mode of ['none', 'piecewise', 'full', 'full_and_piecewise'] as const) {
    const engine = await createEngine({ ...options, graph: { mode } });
    try {
      for (const req of requests) engine.addRequest(req);
      const { outputs } = await engine.run();
      for (const [i, o] of outputs.entries()) {
        const req = requests[i] as (typeof requests)[number] & {
          temperature?: number;
          topK?: number;
          topP?: number;
          seed?: number;
        };
        const expected = o.outputTokens.map(
          (_, j) =>
            cpu.sampleRow(
              row,
              0,
              { temperature: req.temperature ?? 0, topK: req.topK ?? 0, topP: req.topP ?? 1, seed: req.seed ?? 0 },
              req.promptTokens.length + j,
            ).token,
        );
        assert.deepEqual([...o.outputTokens], expected, `${mode}: request ${i}`);
        for (const [j, t] of o.outputTokens.entries()) {
          assert.ok(
            Math.abs((o.logprobs[j] as number) - ((row[t] as number) - lse)) < 1e-4,
            `${mode}: logprob ${i}.${j}`,
          );
        }
      }
    } finally {
      engine.dispose();
    }
  }
});

test('a sliding window reaches FA3: the same tokens in every mode, different from full attention', {
  skip,
}, async () => {
  const windowed = (slidingWindow: number | null): Model => ({ ...model, shape: { ...model.shape, slidingWindow } });
  const requests = routingWorkload(5, shape.vocabSize).slice(0, 12);
  const run = async (m: Model, mode: GraphMode) => {
    const engine = await createEngine({
      model: m,
      graph: { mode, maxNumSplits: 1 },
      ...routingEngineOptions,
      backend: 'cuda',
    });
    try {
      for (const r of requests) engine.addRequest(r);
      return (await engine.run()).outputs.map((o) => [...o.outputTokens]);
    } finally {
      engine.dispose();
    }
  };
  const longest = Math.max(...requests.map((r) => r.promptTokens.length + r.maxNewTokens));
  const full = await run(model, 'none');
  // A window wider than every sequence changes nothing.
  assert.deepEqual(await run(windowed(longest + 1), 'none'), full);
  const narrow = await run(windowed(4), 'none');
  assert.notDeepEqual(narrow, full, 'a 4-token window did not change any token');
  for (const mode of ['full', 'piecewise', 'full_and_piecewise'] as const) {
    assert.deepEqual(await run(windowed(4), mode), narrow, `${mode} differs from eager with the window`);
  }
});
