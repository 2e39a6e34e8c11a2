// parseLlamaConfig on real-world config layouts (transformers 4.x and 5.x), and the RoPE maths.

import { throwingProxy, trap } from '@flashgraph/tooling/hostile';
import { describe, expect, it } from 'vitest';
import { parseLlamaConfig, ropeInverseFrequencies, ropePositionScale } from '../src/index.js';

// The fields of published config.json files that matter here (values as on the Hub).
const llama31_8b = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 8.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 128256,
};

const mistral7b = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 32000,
};

const qwen25_05b = {
  architectures: ['Qwen2ForCausalLM'],
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_sliding_window: false,
  vocab_size: 151936,
};

// transformers 5.x writes rope_parameters and dtype.
const qwen3_06b_v5 = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  bos_token_id: 151643,
  dtype: 'bfloat16',
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  model_type: 'qwen3',
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_parameters: { rope_theta: 1000000, rope_type: 'default' },
  sliding_window: null,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

describe('parseLlamaConfig', () => {
  it('Llama 3.1 8B (4.x, llama3 rope, eos list + generation_config)', () => {
    const c = parseLlamaConfig(llama31_8b, { bos_token_id: 128000, eos_token_id: [128001, 128009], do_sample: true });
    expect(c).toMatchObject({
      architecture: 'LlamaForCausalLM',
      headDim: 128,
      numHeadsQ: 32,
      numHeadsKv: 8,
      ropeTheta: 500000,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 8192,
      },
      qkvBias: false,
      oProjBias: false,
      qkNorm: false,
      tieWordEmbeddings: false,
      slidingWindow: null,
      bosTokenId: 128000,
      torchDtype: 'bfloat16',
    });
    expect(c.eosTokenIds).toEqual([128001, 128009, 128008]);
  });

  it('Mistral 7B (sliding window)', () => {
    expect(parseLlamaConfig(mistral7b)).toMatchObject({
      headDim: 128,
      slidingWindow: 4096,
      eosTokenIds: [2],
      ropeScaling: { type: 'none' },
    });
  });

  it('Qwen2.5 0.5B (q/k/v bias, tied, use_sliding_window false ignores sliding_window)', () => {
    expect(parseLlamaConfig(qwen25_05b)).toMatchObject({
      headDim: 64,
      qkvBias: true,
      oProjBias: false,
      tieWordEmbeddings: true,
      slidingWindow: null,
    });
  });

  it('Qwen3 0.6B in the 5.x layout (rope_parameters, dtype, explicit head_dim, q/k norm)', () => {
    expect(parseLlamaConfig(qwen3_06b_v5)).toMatchObject({
      headDim: 128,
      ropeTheta: 1e6,
      ropeScaling: { type: 'none' },
      qkNorm: true,
      torchDtype: 'bfloat16',
    });
  });

  it('the same model in the 4.x and 5.x layouts parses to the same config', () => {
    const { rope_scaling, rope_theta, torch_dtype, ...rest } = llama31_8b;
    const v5 = { ...rest, dtype: torch_dtype, rope_parameters: { ...rope_scaling, rope_theta } };
    expect(parseLlamaConfig(v5)).toEqual(parseLlamaConfig(llama31_8b));
    const linearOld = parseLlamaConfig({ ...mistral7b, rope_scaling: { type: 'linear', factor: 4 } });
    const linearV5 = parseLlamaConfig({
      ...mistral7b,
      rope_parameters: { rope_type: 'linear', factor: 4, rope_theta: 10000 },
    });
    expect(linearV5).toEqual(linearOld);
    expect(linearOld.ropeScaling).toEqual({ type: 'linear', factor: 4 });
  });

  it('Llama with attention_bias has q/k/v and o biases; Mistral never', () => {
    expect(parseLlamaConfig({ ...llama31_8b, attention_bias: true })).toMatchObject({ qkvBias: true, oProjBias: true });
    expect(parseLlamaConfig({ ...mistral7b, attention_bias: true })).toMatchObject({
      qkvBias: false,
      oProjBias: false,
    });
  });
});

describe('RoPE', () => {
  it('plain inverse frequencies theta^(-2i/D)', () => {
    const inv = ropeInverseFrequencies(parseLlamaConfig(mistral7b));
    expect(inv).toHaveLength(64);
    expect(inv[0]).toBe(1);
    expect(inv[1]).toBeCloseTo(10000 ** (-2 / 128), 15);
    expect(inv[63]).toBeCloseTo(10000 ** (-126 / 128), 15);
    expect(ropePositionScale(parseLlamaConfig(mistral7b))).toBe(1);
  });

  it('llama3 scaling: high frequencies kept, low ones divided by factor, a blend between', () => {
    const c = parseLlamaConfig(llama31_8b);
    const inv = ropeInverseFrequencies(c);
    const plain = (i: number) => 500000 ** ((-2 * i) / 128);
    const wavelength = (i: number) => (2 * Math.PI) / plain(i);
    let kept = 0;
    let divided = 0;
    let blended = 0;
    for (let i = 0; i < 64; i++) {
      if (wavelength(i) < 8192 / 4) {
        expect(inv[i]).toBeCloseTo(plain(i), 15);
        kept++;
      } else if (wavelength(i) > 8192 / 1) {
        expect(inv[i]).toBeCloseTo(plain(i) / 8, 18);
        divided++;
      } else {
        expect(inv[i]).toBeLessThan(plain(i));
        expect(inv[i]).toBeGreaterThan(plain(i) / 8);
        blended++;
      }
    }
    expect([kept > 0, divided > 0, blended > 0]).toEqual([true, true, true]);
  });

  it('linear scaling divides positions by factor', () => {
    expect(ropePositionScale(parseLlamaConfig({ ...mistral7b, rope_scaling: { type: 'linear', factor: 4 } }))).toBe(
      0.25,
    );
  });
});

describe('config values that pass alone but break the model together', () => {
  it('RoPE settings whose frequencies or angles are not finite are rejected', () => {
    for (const patch of [
      { rope_theta: 1e-320 },
      { rope_scaling: { rope_type: 'linear', factor: 1e-320 } },
      { rope_scaling: { ...llama31_8b.rope_scaling, factor: 1e-320 } },
    ]) {
      expect(() => parseLlamaConfig({ ...llama31_8b, ...patch })).toThrow(
        expect.objectContaining({ code: 'bad_field', message: expect.stringContaining('non-finite') }),
      );
    }
    // Small but sane values still parse.
    expect(parseLlamaConfig({ ...llama31_8b, rope_theta: 10 }).ropeTheta).toBe(10);
  });

  it("config.json's bos_token_id is checked even when generation_config.json has one", () => {
    for (const bad of ['x', -1, [1, 'a'], 1.5]) {
      expect(() => parseLlamaConfig({ ...llama31_8b, bos_token_id: bad }, { bos_token_id: 1 })).toThrow(
        expect.objectContaining({ code: 'bad_field' }),
      );
    }
    expect(() => parseLlamaConfig({ ...llama31_8b, bos_token_id: llama31_8b.vocab_size }, { bos_token_id: 1 })).toThrow(
      /outside the vocabulary/,
    );
    expect(parseLlamaConfig({ ...llama31_8b, bos_token_id: 2 }, { bos_token_id: 1 }).bosTokenId).toBe(1);
  });
});

describe('parseLlamaConfig on objects that are no JSON data', () => {
  it('a getter or proxy trap that throws: ModelConfigError config_not_object, the trap as cause', () => {
    const proxy = throwingProxy();
    const getter = Object.defineProperty({ ...llama31_8b }, 'hidden_size', { enumerable: true, get: trap });
    for (const config of [proxy, getter]) {
      let caught: unknown;
      try {
        parseLlamaConfig(config);
      } catch (error) {
        caught = error;
      }
      expect((caught as { code?: string }).code).toBe('config_not_object');
      expect(((caught as Error).cause as Error).message).toBe('trap');
    }
  });
});
