// Decode benchmark of the CUDA backend (device only; bundled by tooling/gpu/models-prepare.mjs and
// run by tooling/gpu/models-bench.py): an 8B-shaped random-weight Llama (32 layers, hidden 4096,
// ffn 14336, 32/8 heads of 128, vocab 128256) in bf16. The weights are generated, not read: a
// synthetic checkpoint hands the real streaming loader one random 16 MiB chunk over and over, so
// the pinned-staging path is what gets timed, with no 16 GB file. Per (context, batch, mode):
// the median decode step after prefill, as tokens/s; batch 1's time per token against the floor
// (weight + KV bytes read per step / a device-to-device copy's bandwidth measured here); prefill
// tokens/s of one 4k prompt; device memory of weights, KV cache and graphs. One JSON line per
// measurement, a table last. `--skinny-gemm off,on` times batches of at most 8 with the skinny GEMM
// kernel off and on in the same process (larger batches have no GEMM of 8 rows or fewer: timed
// once, with the first setting); `default` is the environment's FLASHGRAPH_MODELS_SKINNY_GEMM.
//   node bench.mjs [--contexts 1024,4096] [--batches 1,8,64,256] [--modes full,none] [--steps 32]
//     [--skinny-gemm default|off|on[,...]]
import { DeviceBuffer, memGetInfo, Stream } from '@flashgraph/cuda';
import { createEngine, type EngineOptions, type Model } from '@flashgraph/engine';
import type { Checkpoint, TensorInfo } from '../src/checkpoint/index.js';
import { parseLlamaConfig } from '../src/llama/config.js';
import { loadLlamaCuda } from '../src/llama/cuda/forward.js';
import { loadCudaWeights } from '../src/llama/cuda/weights.js';
import { llamaTensorSpecs } from '../src/llama/tensors.js';
import { loadModelsNative } from '../src/native.js';

type GraphMode = NonNullable<NonNullable<EngineOptions['graph']>['mode']>;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const contexts = arg('--contexts', '1024,4096').split(',').map(Number);
const batches = arg('--batches', '1,8,64,256').split(',').map(Number);
const modes = arg('--modes', 'full,none').split(',') as GraphMode[];
const steps = Number(arg('--steps', '32'));
const skinnyDefault = loadModelsNative().addon?.skinnyGemmDefault ?? false;
const skinnySettings = arg('--skinny-gemm', 'default')
  .split(',')
  .map((v) => {
    if (v !== 'default' && v !== 'on' && v !== 'off') throw new Error(`--skinny-gemm: ${v} is not default, on or off`);
    return v === 'default' ? skinnyDefault : v === 'on';
  });
/** The largest GEMM row count the skinny kernel takes (native/models/kernels/skinny_gemm.h). */
const SKINNY_MAX_ROWS = 8;

const config = parseLlamaConfig({
  architectures: ['LlamaForCausalLM'],
  vocab_size: 128256,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 128,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
});

/** A checkpoint of random bf16 weights (std ~0.02; norms too, harmless for timing). */
function syntheticCheckpoint(): Checkpoint {
  const chunk = new Uint16Array(8 << 20);
  let s = 12345;
  for (let i = 0; i < chunk.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    // bf16 with exponent 2^-6..2^-5 and a random sign/mantissa: |w| in [0.016, 0.031)
    chunk[i] = ((s >>> 31) << 15) | (121 << 7) | ((s >>> 8) & 0x7f);
  }
  const bytes = new Uint8Array(chunk.buffer);
  const tensors = new Map<string, TensorInfo>();
  for (const spec of llamaTensorSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    tensors.set(spec.name, { name: spec.name, dtype: 'BF16', shape: spec.shape, byteLength: n * 2, file: 'synthetic' });
  }
  const fail = () => {
    throw new Error('synthetic checkpoint: streaming only');
  };
  return {
    dir: 'synthetic',
    tensors,
    readChunksSync(name, chunkBytes, onChunk) {
      const info = tensors.get(name);
      if (!info) throw new Error(`no tensor ${name}`);
      for (let off = 0; off < info.byteLength; off += chunkBytes) {
        const n = Math.min(chunkBytes, info.byteLength - off, bytes.byteLength);
        onChunk(bytes.subarray(0, n), off);
      }
    },
    readChunks: async () => fail(),
    readFloat32: async () => fail(),
    readFloat32Sync: () => fail(),
    close: async () => {},
  };
}

/** Device-to-device copy bandwidth (bytes read + written per second), 1 GiB, median of 10. */
function copyBandwidth(): number {
  const bytes = 1 << 30;
  using a = DeviceBuffer.alloc(bytes);
  using b = DeviceBuffer.alloc(bytes);
  using s = Stream.create();
  a.fill(1);
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    s.synchronize();
    const t = performance.now();
    b.copyFrom(a, { stream: s });
    s.synchronize();
    if (i >= 2) times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  return (2 * bytes) / ((times[times.length >> 1] as number) / 1000);
}

const free0 = memGetInfo().freeBytes;
const tLoad = performance.now();
const weights = loadCudaWeights(config, syntheticCheckpoint(), { device: 0, dtype: 'bf16' });
const loadSeconds = (performance.now() - tLoad) / 1000;
const modelFor = (skinnyGemm: boolean): Model => ({
  name: 'llama-8b-shaped (random)',
  shape: {
    numLayers: config.numLayers,
    numHeadsQ: config.numHeadsQ,
    numHeadsKv: config.numHeadsKv,
    headDim: config.headDim,
    hiddenSize: config.hiddenSize,
    vocabSize: config.vocabSize,
    dtype: 'bf16',
  },
  backends: ['cuda'],
  eosTokenIds: [],
  load: (context) => loadLlamaCuda(config, weights, context, { skinnyGemm }),
});
const bandwidth = copyBandwidth();
const kvBytesPerToken = config.numLayers * 2 * config.numHeadsKv * config.headDim * 2;
console.log(
  JSON.stringify({
    kind: 'setup',
    weightBytes: weights.byteLength,
    loadSeconds,
    loadGBps: weights.byteLength / loadSeconds / 1e9,
    copyBandwidthGBps: bandwidth / 1e9,
    kvBytesPerToken,
    freeBeforeGB: free0 / 1e9,
  }),
);

const rows: string[] = [];
const BLOCK = 16;
const MAX_BATCHED_TOKENS = 8192;
for (const ctx of contexts) {
  for (const batch of batches) {
    // Requests admitted in the first prefill steps decode during the later ones (continuous batching), so each
    // asks for enough tokens to still be running when the last prompt is in: then `steps` pure decode steps of
    // the whole batch are timed.
    const prefillSteps = Math.ceil((batch * ctx) / MAX_BATCHED_TOKENS) + 1;
    const maxNewTokens = steps + prefillSteps + 1;
    const tokens = batch * (ctx + maxNewTokens + BLOCK);
    const kvBytes = tokens * kvBytesPerToken;
    if (kvBytes > memGetInfo().freeBytes - 6e9) {
      console.log(
        JSON.stringify({ kind: 'skip', ctx, batch, reason: `KV ${(kvBytes / 1e9).toFixed(0)} GB does not fit` }),
      );
      rows.push(
        `${String(ctx).padStart(5)} ${String(batch).padStart(5)}  (KV cache of ${(kvBytes / 1e9).toFixed(0)} GB does not fit)`,
      );
      continue;
    }
    const settings = batch <= SKINNY_MAX_ROWS ? skinnySettings : skinnySettings.slice(0, 1);
    for (const skinnyGemm of settings) {
      for (const mode of modes) {
        const before = memGetInfo().freeBytes;
        const engine = await createEngine({
          model: modelFor(skinnyGemm),
          graph: { mode },
          cache: { blockSize: BLOCK, numBlocks: Math.ceil((ctx + maxNewTokens + BLOCK) / BLOCK) * batch },
          limits: {
            maxNumSeqs: batch,
            maxNumBatchedTokens: MAX_BATCHED_TOKENS,
            maxModelLen: ctx + maxNewTokens + BLOCK,
          },
          backend: 'cuda',
        });
        try {
          const afterCreate = memGetInfo().freeBytes;
          for (let r = 0; r < batch; r++) {
            const prompt = Array.from({ length: ctx }, (_, i) => (r * 7919 + i * 104729) % config.vocabSize);
            engine.addRequest({ promptTokens: prompt, maxNewTokens, ignoreEos: true });
          }
          const decode: number[] = [];
          let prefillMs = 0;
          for (;;) {
            const st = await engine.step();
            if (st.mode === 'idle') break;
            if (st.numPrefills > 0) prefillMs += st.durationMs;
            else if (st.numReqs === batch) decode.push(st.durationMs);
            if (decode.length >= steps) break;
          }
          decode.sort((a, b) => a - b);
          const median = decode[decode.length >> 1] ?? Number.NaN;
          const floorMs = ((weights.byteLength + batch * ctx * kvBytesPerToken) / bandwidth) * 1000;
          const m = {
            kind: 'decode',
            ctx,
            batch,
            mode,
            skinnyGemm,
            decodeStepMs: median,
            decodeTokensPerSecond: (batch / median) * 1000,
            floorMs,
            ratioToFloor: median / floorMs,
            prefillTokensPerSecond: (batch * ctx) / (prefillMs / 1000),
            engineBytes: before - afterCreate,
          };
          console.log(JSON.stringify(m));
          rows.push(
            `${String(ctx).padStart(5)} ${String(batch).padStart(5)} ${mode.padEnd(5)} ${(skinnyGemm ? 'on' : 'off').padStart(6)} ${m.decodeStepMs.toFixed(2).padStart(9)} ${m.decodeTokensPerSecond.toFixed(0).padStart(9)} ${m.ratioToFloor.toFixed(2).padStart(6)} ${(m.engineBytes / 1e9).toFixed(1).padStart(7)}`,
          );
        } finally {
          engine.dispose();
        }
      }
    }
  }
}
// Prefill of one 4k prompt.
{
  const engine = await createEngine({
    model: modelFor(skinnySettings[0] as boolean),
    graph: { mode: 'full' },
    cache: { blockSize: BLOCK, numBlocks: 4096 / BLOCK + 4 },
    limits: { maxNumSeqs: 1, maxNumBatchedTokens: 4096, maxModelLen: 4096 + BLOCK },
    backend: 'cuda',
  });
  try {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      engine.addRequest({ promptTokens: Array.from({ length: 4095 }, (_, j) => (j * 31) % 128000), maxNewTokens: 1 });
      for (;;) {
        const st = await engine.step();
        if (st.mode === 'idle') break;
        if (st.numPrefills > 0) times.push(st.durationMs);
      }
    }
    const best = Math.min(...times);
    console.log(
      JSON.stringify({ kind: 'prefill', promptTokens: 4095, ms: best, tokensPerSecond: 4095 / (best / 1000) }),
    );
    rows.push(`prefill of a 4095-token prompt: ${best.toFixed(1)} ms, ${(4095 / (best / 1000)).toFixed(0)} tokens/s`);
  } finally {
    engine.dispose();
  }
}
console.log(
  `\n== flashgraph decode, 8B-shaped Llama bf16 (weights ${(weights.byteLength / 1e9).toFixed(2)} GB, copy ${(bandwidth / 1e12).toFixed(2)} TB/s)`,
);
console.log('  ctx batch mode  skinny  step ms  tokens/s  x floor engine GB');
for (const r of rows) console.log(r);
weights.dispose();
