// Writes tiny model folders and what @flashgraph/models computes on them (logits of a prompt,
// greedy tokens through the CPU engine, tokenizer ids, rendered chat templates) into
// tooling/hf-parity/out/, for check.py to compare against transformers on the device machine.
// Usage (repository root): node tooling/scripts/run-ts.mjs tooling/hf-parity/generate.ts [outDir]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CpuForwardContext, createEngine, type Model } from '@flashgraph/engine';
import { loadHfModel, type TinyModelOptions, writeTinyModel } from '@flashgraph/models';

// (run-ts bundles this file elsewhere, so the folder is relative to the working directory)
const out = resolve(process.argv[2] ?? 'tooling/hf-parity/out');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const CASES: Record<string, TinyModelOptions> = {
  llama: { architecture: 'LlamaForCausalLM', seed: 1 },
  'llama-5x-f32': { architecture: 'LlamaForCausalLM', seed: 2, configLayout: '5.x', dtype: 'F32' },
  'llama-bias-f16': { architecture: 'LlamaForCausalLM', seed: 3, attentionBias: true, dtype: 'F16' },
  mistral: { architecture: 'MistralForCausalLM', seed: 4 },
  'mistral-window5': { architecture: 'MistralForCausalLM', seed: 5, slidingWindow: 5, ropeScaling: { type: 'none' } },
  qwen2: { architecture: 'Qwen2ForCausalLM', seed: 6 },
  qwen3: { architecture: 'Qwen3ForCausalLM', seed: 7, shards: 2 },
  'qwen3-4x-bias': {
    architecture: 'Qwen3ForCausalLM',
    seed: 8,
    configLayout: '4.x',
    attentionBias: true,
    tieWordEmbeddings: false,
  },
};
const PROMPT = [5, 17, 300, 42, 99, 7, 256, 3, 120, 64, 11, 250, 33, 1, 0, 77];
const TEXTS = [
  'hello world',
  'the quick brown fox jumps over the lazy dog.',
  'naïve café ✓ 😀 日本語',
  '  spaces\tand\nnewlines  ',
];
const CHAT = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'hello world' },
];

/** Logits of every row of one forward pass over the prompt, with plain causal attention. */
function forwardLogits(model: Model, tokens: readonly number[], window: number | null): number[][] {
  const n = tokens.length;
  const loaded = model.load({ backend: 'cpu', device: 0, maxNumTokens: n, maxNumReqs: n });
  const { numHeadsQ: hq, numHeadsKv: hkv, headDim: d, vocabSize: V } = model.shape;
  const rows: number[][] = [];
  const ctx = {
    backend: 'cpu',
    stream: { launch: (k: () => void) => k() },
    numTokens: n,
    numReqs: n,
    buffers: {
      tokenIds: Int32Array.from(tokens),
      positions: Int32Array.from(tokens, (_, i) => i),
      sampleRows: Int32Array.from(tokens, (_, i) => i),
      sampled: new Int32Array(n),
      logprobs: new Float32Array(n),
    },
    attention: (layer: number, io: { q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array }) => {
      for (let t = 0; t < n; t++) {
        for (let h = 0; h < hq; h++) {
          const kh = Math.floor(h / (hq / hkv));
          const first = window === null ? 0 : Math.max(0, t - window + 1);
          const scores: number[] = [];
          for (let s = first; s <= t; s++) {
            let dot = 0;
            for (let i = 0; i < d; i++) dot += io.q[(t * hq + h) * d + i]! * io.k[(s * hkv + kh) * d + i]!;
            scores.push(dot / Math.sqrt(d));
          }
          const max = Math.max(...scores);
          const e = scores.map((x) => Math.exp(x - max));
          const sum = e.reduce((a, b) => a + b, 0);
          for (let i = 0; i < d; i++) {
            let acc = 0;
            for (let s = first; s <= t; s++) acc += (e[s - first]! / sum) * io.v[(s * hkv + kh) * d + i]!;
            io.out[(t * hq + h) * d + i] = acc;
          }
        }
      }
      return { layer, io };
    },
    sample: (logits: Float32Array) => {
      for (let r = 0; r < n; r++) rows.push(Array.from(logits.subarray(r * V, (r + 1) * V)));
    },
  };
  for (const call of loaded.forward(ctx as unknown as CpuForwardContext)) void call;
  loaded.dispose();
  return rows;
}

const summary: Record<string, unknown> = {};
for (const [name, options] of Object.entries(CASES)) {
  const dir = join(out, name);
  // Runs rewrite out/ from the last one.
  await writeTinyModel(dir, { ...options, overwrite: true });
  const model = await loadHfModel(dir);
  const engine = await createEngine({
    model,
    backend: 'cpu',
    cache: { blockSize: 4, numBlocks: 64 },
    limits: { maxNumSeqs: 2, maxNumBatchedTokens: 16 },
  });
  engine.addRequest({ promptTokens: PROMPT, maxNewTokens: 16, ignoreEos: true });
  const [generated] = (await engine.run()).outputs;
  engine.dispose();
  const tokenizer = model.tokenizer!;
  summary[name] = {
    prompt: PROMPT,
    logits: forwardLogits(model, PROMPT, model.config.slidingWindow),
    greedy: [...generated!.outputTokens],
    logprobs: [...generated!.logprobs],
    encode: TEXTS.map((text) => ({ text, ids: tokenizer.encode(text) })),
    chat: { text: tokenizer.applyChatTemplate(CHAT), ids: tokenizer.encodeChat(CHAT) },
  };
  await model.close();
  console.log(`${name}: written`);
}
writeFileSync(join(out, 'flashgraph.json'), JSON.stringify({ texts: TEXTS, chat: CHAT, cases: summary }));
