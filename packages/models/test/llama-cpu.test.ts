// The four architectures on tiny random checkpoints against the float64 reference: logits of a
// prompt, the greedy chain through the engine, graph modes, batching, shards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CpuForwardContext, createEngine, type Model } from '@flashgraph/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HfModel,
  LLAMA_ARCHITECTURES,
  type LlamaArchitecture,
  loadHfModel,
  writeTinyModel,
} from '../src/index.js';
import { argmax, type ReferenceModel, referenceModel } from './helpers/reference-llama.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-models-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PROMPT = [5, 17, 300, 42, 99, 7, 256, 3, 120, 64, 11];

/** Runs the loaded forward once over `tokens` (positions 0..n-1) and returns the logits of every row. */
function forwardLogits(model: Model, tokens: readonly number[]): Float32Array[] {
  const n = tokens.length;
  const loaded = model.load({ backend: 'cpu', device: 0, maxNumTokens: n, maxNumReqs: n });
  const { numHeadsQ: hq, numHeadsKv: hkv, headDim: d, vocabSize: V } = model.shape;
  const captured: Float32Array[] = [];
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
    },
    // Plain causal attention over the whole prompt (the engine's paged attention is tested in fa3).
    attention: (layer: number, io: { q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array }) => {
      for (let t = 0; t < n; t++) {
        for (let h = 0; h < hq; h++) {
          const kh = Math.floor(h / (hq / hkv));
          const scores = [];
          for (let s = 0; s <= t; s++) {
            let dot = 0;
            for (let i = 0; i < d; i++) dot += io.q[(t * hq + h) * d + i]! * io.k[(s * hkv + kh) * d + i]!;
            scores.push(dot / Math.sqrt(d));
          }
          const max = Math.max(...scores);
          const e = scores.map((x) => Math.exp(x - max));
          const sum = e.reduce((a, b) => a + b, 0);
          for (let i = 0; i < d; i++) {
            let acc = 0;
            for (let s = 0; s <= t; s++) acc += (e[s]! / sum) * io.v[(s * hkv + kh) * d + i]!;
            io.out[(t * hq + h) * d + i] = acc;
          }
        }
      }
      return { layer, io };
    },
    sample: (logits: Float32Array) => {
      for (let r = 0; r < n; r++) captured.push(logits.slice(r * V, (r + 1) * V));
    },
  };
  for (const call of loaded.forward(ctx as unknown as CpuForwardContext)) void call;
  loaded.dispose();
  return captured;
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

/** Checks a generated continuation against the reference's argmax at every position (teacher forcing). */
function expectArgmaxChain(reference: ReferenceModel, prompt: readonly number[], generated: readonly number[]): void {
  const all = [...prompt, ...generated];
  const logits = reference.logits(all.slice(0, -1));
  const chain = generated.map((_, i) => argmax(logits[prompt.length - 1 + i]!));
  expect(generated).toEqual(chain);
}

const engineOptions = {
  cache: { blockSize: 4, numBlocks: 96 },
  limits: { maxNumSeqs: 4, maxNumBatchedTokens: 16 },
  backend: 'cpu' as const,
};

describe.each(LLAMA_ARCHITECTURES.map((a) => [a]))(
  '%s on a tiny random checkpoint',
  (architecture: LlamaArchitecture) => {
    const dir = join(root, architecture);
    let model: HfModel;
    let reference: ReferenceModel;
    beforeAll(async () => {
      await writeTinyModel(dir, { architecture, seed: 1 });
      model = await loadHfModel(dir);
      reference = referenceModel(dir);
    });
    afterAll(() => model.close());

    it('logits of a prompt match the float64 reference to 1e-4 relative, at every position', () => {
      const actual = forwardLogits(model, PROMPT);
      const expected = reference.logits(PROMPT);
      expect(actual).toHaveLength(PROMPT.length);
      for (let t = 0; t < PROMPT.length; t++)
        expect(relativeError(actual[t]!, expected[t]!), `row ${t}`).toBeLessThan(1e-4);
    });

    it('greedy generation through the engine equals the reference argmax chain for 32 tokens, in every graph mode', async () => {
      const outputs: number[][][] = [];
      const prompts = [
        PROMPT,
        [1, 2, 3],
        [200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217],
      ];
      for (const mode of ['none', 'piecewise', 'full'] as const) {
        const engine = await createEngine({ ...engineOptions, model, graph: { mode } });
        for (const promptTokens of prompts) engine.addRequest({ promptTokens, maxNewTokens: 32, ignoreEos: true });
        const { outputs: out } = await engine.run();
        engine.dispose();
        outputs.push(out.map((o) => [...o.outputTokens]));
      }
      expect(outputs[1]).toEqual(outputs[0]);
      expect(outputs[2]).toEqual(outputs[0]);
      for (const [i, prompt] of prompts.entries()) {
        expect(outputs[0]![i]).toHaveLength(32);
        expectArgmaxChain(reference, prompt, outputs[0]![i]!);
      }
    });

    it.each([
      ['greedy', { temperature: 0 }],
      ['seeded sampling', { temperature: 0.9, topK: 40, topP: 0.9, seed: 1234 }],
    ])('batching a request with others does not change its tokens (%s)', async (_, sampling) => {
      const run = async (others: boolean) => {
        const engine = await createEngine({ ...engineOptions, model, graph: { mode: 'full_and_piecewise' } });
        if (others) engine.addRequest({ promptTokens: [9, 8, 7, 6, 5], maxNewTokens: 20, temperature: 1, seed: 7 });
        const id = engine.addRequest({ promptTokens: PROMPT, maxNewTokens: 12, ignoreEos: true, ...sampling });
        if (others) engine.addRequest({ promptTokens: [100], maxNewTokens: 3 });
        const { outputs } = await engine.run();
        engine.dispose();
        return outputs.find((o) => o.id === id)!;
      };
      const alone = await run(false);
      const batched = await run(true);
      expect(alone.outputTokens).toHaveLength(12);
      expect([...batched.outputTokens]).toEqual([...alone.outputTokens]);
      expect([...batched.logprobs]).toEqual([...alone.logprobs]);
    });

    it('logprobs of greedy tokens are the log-softmax of the reference logits', async () => {
      const engine = await createEngine({ ...engineOptions, model });
      engine.addRequest({ promptTokens: PROMPT, maxNewTokens: 4, ignoreEos: true });
      const [out] = (await engine.run()).outputs;
      engine.dispose();
      const all = [...PROMPT, ...out!.outputTokens];
      const logits = reference.logits(all.slice(0, -1));
      out!.outputTokens.forEach((token, i) => {
        const row = logits[PROMPT.length - 1 + i]!;
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, l) => a + Math.exp(l - max), 0));
        expect(out!.logprobs[i]).toBeCloseTo(row[token]! - lse, 4);
      });
    });
  },
);

describe('sliding window (Mistral)', () => {
  it('a window shorter than the sequence: the engine follows the reference chain (keys p-W+1..p)', async () => {
    const dir = join(root, 'mistral-window');
    await writeTinyModel(dir, { architecture: 'MistralForCausalLM', seed: 5, slidingWindow: 5 });
    const model = await loadHfModel(dir);
    expect(model.shape.slidingWindow).toBe(5);
    const reference = referenceModel(dir);
    const chains: number[][] = [];
    for (const mode of ['none', 'full'] as const) {
      const engine = await createEngine({ ...engineOptions, model, graph: { mode } });
      engine.addRequest({ promptTokens: PROMPT, maxNewTokens: 16, ignoreEos: true });
      const [out] = (await engine.run()).outputs;
      engine.dispose();
      chains.push([...out!.outputTokens]);
      expectArgmaxChain(reference, PROMPT, chains.at(-1)!);
    }
    expect(chains[1]).toEqual(chains[0]);
    // The window matters: the same weights without it predict a different chain.
    const unwindowed = join(root, 'mistral-no-window');
    await writeTinyModel(unwindowed, { architecture: 'MistralForCausalLM', seed: 5 });
    const logits = referenceModel(unwindowed).logits([...PROMPT, ...chains[0]!].slice(0, -1));
    expect(chains[0]!.map((_, i) => argmax(logits[PROMPT.length - 1 + i]!))).not.toEqual(chains[0]);
    await model.close();
  });
});

describe('checkpoint layouts', () => {
  it('a sharded checkpoint gives the same logits as the same weights in one file', async () => {
    const one = join(root, 'one');
    const sharded = join(root, 'sharded');
    await writeTinyModel(one, { architecture: 'Qwen3ForCausalLM', seed: 9 });
    const written = await writeTinyModel(sharded, { architecture: 'Qwen3ForCausalLM', seed: 9, shards: 3 });
    expect(written.files.filter((f) => f.endsWith('.safetensors'))).toHaveLength(3);
    const a = await loadHfModel(one);
    const b = await loadHfModel(sharded);
    expect(new Set([...b.checkpoint.tensors.values()].map((t) => t.file)).size).toBe(3);
    for (const name of a.checkpoint.tensors.keys()) {
      const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      expect(bytes(b.checkpoint.readFloat32Sync(name)).equals(bytes(a.checkpoint.readFloat32Sync(name))), name).toBe(
        true,
      );
    }
    expect(forwardLogits(b, PROMPT)).toEqual(forwardLogits(a, PROMPT));
    await Promise.all([a.close(), b.close()]);
  });

  it.each(['F16', 'F32'] as const)('%s weights match the reference too', async (dtype) => {
    const dir = join(root, `llama-${dtype}`);
    await writeTinyModel(dir, { architecture: 'LlamaForCausalLM', seed: 4, dtype, configLayout: '5.x' });
    const model = await loadHfModel(dir);
    expect(model.shape.dtype).toBe(dtype === 'F16' ? 'fp16' : 'bf16');
    const actual = forwardLogits(model, PROMPT);
    const expected = referenceModel(dir).logits(PROMPT);
    for (let t = 0; t < PROMPT.length; t++) expect(relativeError(actual[t]!, expected[t]!)).toBeLessThan(1e-4);
    await model.close();
  });
});

describe("CPU step buffers past the engine's bound", () => {
  it('an MLP or a vocabulary wider than the engine knows of: a typed error naming the limit, before allocating', async () => {
    const dir = join(root, 'wide-mlp');
    await writeTinyModel(dir, {
      architecture: 'LlamaForCausalLM',
      numLayers: 1,
      hiddenSize: 8,
      numHeadsQ: 1,
      numHeadsKv: 1,
      headDim: 64,
      intermediateSize: 1 << 16,
    });
    const model = await loadHfModel(dir);
    try {
      // 8192 tokens x 2^16 intermediate = 2^29 elements per step buffer (the engine's own check
      // sees only the 64-wide attention rows).
      await expect(
        createEngine({ ...engineOptions, model, limits: { maxNumSeqs: 4, maxNumBatchedTokens: 8192 } }),
      ).rejects.toThrow(expect.objectContaining({ code: 'out_of_range', path: 'options.limits.maxNumBatchedTokens' }));
    } finally {
      await model.close();
    }
    const narrow = join(root, 'narrow');
    await writeTinyModel(narrow, { architecture: 'LlamaForCausalLM', numLayers: 1 });
    const small = await loadHfModel(narrow);
    try {
      // 2^20 requests x the tiny vocabulary's logits.
      await expect(
        createEngine({
          ...engineOptions,
          model: small,
          cache: { blockSize: 4, numBlocks: 1 << 20 },
          limits: { maxNumSeqs: 1 << 20, maxNumBatchedTokens: 1 << 20 },
        }),
      ).rejects.toThrow(expect.objectContaining({ code: 'out_of_range', path: 'options.limits.maxNumSeqs' }));
    } finally {
      await small.close();
    }
  });
});
