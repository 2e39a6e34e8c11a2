// parseLlamaConfig: config.json (+ generation_config.json) of a Llama, Mistral, Qwen2 or Qwen3
// checkpoint, in transformers 4.x layout (rope_theta / rope_scaling, with `type` in older files)
// or 5.x layout (rope_parameters). Anything this package cannot run is a ModelConfigError that
// says what is supported.

import { INT32_MAX, isFlashgraphError } from '@flashgraph/errors';
import { ModelConfigError } from '../errors.js';
import { ropeInverseFrequencies, ropePositionScale } from './rope.js';

export type LlamaArchitecture = 'LlamaForCausalLM' | 'MistralForCausalLM' | 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM';

export type RopeScaling =
  | { readonly type: 'none' }
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

export interface LlamaConfig {
  readonly architecture: LlamaArchitecture;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeadsQ: number;
  readonly numHeadsKv: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections have a bias (Qwen2 always; Llama and Qwen3 with attention_bias). */
  readonly qkvBias: boolean;
  /** o_proj has a bias too (Llama and Qwen3 with attention_bias; never Qwen2 or Mistral). */
  readonly oProjBias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3). */
  readonly qkNorm: boolean;
  /** Keys a query at position p sees: p-W+1..p (transformers' convention); null = all. */
  readonly slidingWindow: number | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  readonly torchDtype: 'bfloat16' | 'float16' | 'float32';
}

export const LLAMA_ARCHITECTURES: readonly LlamaArchitecture[] = Object.freeze([
  'LlamaForCausalLM',
  'MistralForCausalLM',
  'Qwen2ForCausalLM',
  'Qwen3ForCausalLM',
]);

/** The attention kernels' head dims. */
export const SUPPORTED_HEAD_DIMS: readonly number[] = Object.freeze([64, 128, 256]);

export const SUPPORTED_ROPE_TYPES: readonly string[] = Object.freeze(['default', 'linear', 'llama3']);

const MODEL_TYPES: Readonly<Record<string, LlamaArchitecture>> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
};

/** transformers' defaults for fields a config.json may omit. */
const DEFAULT_MAX_POSITIONS: Readonly<Record<LlamaArchitecture, number>> = {
  LlamaForCausalLM: 2048,
  MistralForCausalLM: 4096 * 32,
  Qwen2ForCausalLM: 32768,
  Qwen3ForCausalLM: 32768,
};

const CONFIG = 'config.json';
const GENERATION = 'generation_config.json';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Upper bounds of the size fields: far above every published Llama-family model (vocab 256k,
// hidden 16k, ffn 53k, 126 layers, 128 heads), low enough that every tensor's element count is a
// safe integer and nothing sized per layer or per head can exhaust memory. Anything else is int32.
const FIELD_MAX: Readonly<Record<string, number>> = {
  vocab_size: 1 << 24,
  hidden_size: 1 << 17,
  intermediate_size: 1 << 20,
  num_hidden_layers: 1 << 12,
  num_attention_heads: 1 << 12,
  num_key_value_heads: 1 << 12,
  head_dim: 1 << 10,
};

function int(c: Json, key: string, fallback?: number): number {
  const max = FIELD_MAX[key] ?? INT32_MAX;
  const value = c[key] ?? fallback;
  if (value === undefined) {
    throw new ModelConfigError('missing_field', CONFIG, 'a required field is missing', {
      field: key,
      allowed: 'a positive integer',
      fix: `add "${key}" (use the config.json saved with the checkpoint)`,
    });
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ModelConfigError('bad_field', CONFIG, 'must be a positive integer', {
      field: key,
      value,
      allowed: `integer in [1, ${max}]`,
    });
  }
  return value;
}

function positive(file: string, c: Json, key: string, fallback?: number, path = key): number {
  const value = c[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ModelConfigError(value === undefined ? 'missing_field' : 'bad_field', file, 'must be a positive number', {
      field: path,
      value,
      allowed: 'a finite number > 0',
    });
  }
  return value;
}

function bool(c: Json, key: string, fallback: boolean): boolean {
  const value = c[key] ?? fallback;
  if (typeof value !== 'boolean') {
    throw new ModelConfigError('bad_field', CONFIG, 'must be true or false', { field: key, value });
  }
  return value;
}

function architectureOf(c: Json): LlamaArchitecture {
  const listed = Array.isArray(c.architectures) ? c.architectures[0] : undefined;
  const name = listed ?? (typeof c.model_type === 'string' ? MODEL_TYPES[c.model_type] : undefined);
  if (typeof name !== 'string' || !(LLAMA_ARCHITECTURES as readonly string[]).includes(name)) {
    throw new ModelConfigError('unsupported_architecture', CONFIG, 'this architecture is not supported', {
      field: listed === undefined ? 'model_type' : 'architectures[0]',
      value: listed ?? c.model_type,
      allowed: LLAMA_ARCHITECTURES.join(', '),
      fix: 'use a Llama, Mistral, Qwen2 or Qwen3 checkpoint',
    });
  }
  return name as LlamaArchitecture;
}

/** The rope fields, wherever the layout keeps them: [theta, scaling object or null, path prefix]. */
function ropeFields(c: Json): [unknown, unknown, string] {
  if (c.rope_parameters !== undefined && c.rope_parameters !== null) {
    if (!isObject(c.rope_parameters)) {
      throw new ModelConfigError('bad_field', CONFIG, 'must be an object', {
        field: 'rope_parameters',
        value: c.rope_parameters,
      });
    }
    return [c.rope_parameters.rope_theta ?? c.rope_theta, c.rope_parameters, 'rope_parameters'];
  }
  if (c.rope_scaling !== undefined && c.rope_scaling !== null && !isObject(c.rope_scaling)) {
    throw new ModelConfigError('bad_field', CONFIG, 'must be null or an object', {
      field: 'rope_scaling',
      value: c.rope_scaling,
    });
  }
  return [c.rope_theta, c.rope_scaling ?? null, 'rope_scaling'];
}

function ropeScalingOf(scaling: unknown, prefix: string): RopeScaling {
  if (!isObject(scaling)) return { type: 'none' };
  const type = scaling.rope_type ?? scaling.type ?? 'default';
  const typePath = `${prefix}.${scaling.rope_type !== undefined ? 'rope_type' : 'type'}`;
  if (typeof type !== 'string' || !SUPPORTED_ROPE_TYPES.includes(type)) {
    throw new ModelConfigError('unsupported_rope_type', CONFIG, 'this RoPE scaling type is not supported', {
      field: typePath,
      value: type,
      allowed: SUPPORTED_ROPE_TYPES.join(', '),
      fix: 'yarn, dynamic and longrope scaling are not implemented; use a checkpoint without them',
    });
  }
  if (type === 'default') return { type: 'none' };
  const factor = positive(CONFIG, scaling, 'factor', undefined, `${prefix}.factor`);
  if (type === 'linear') return { type: 'linear', factor };
  const lowFreqFactor = positive(CONFIG, scaling, 'low_freq_factor', undefined, `${prefix}.low_freq_factor`);
  const highFreqFactor = positive(CONFIG, scaling, 'high_freq_factor', undefined, `${prefix}.high_freq_factor`);
  if (highFreqFactor <= lowFreqFactor) {
    throw new ModelConfigError('bad_field', CONFIG, 'high_freq_factor must be above low_freq_factor', {
      field: `${prefix}.high_freq_factor`,
      value: highFreqFactor,
      allowed: `> ${lowFreqFactor}`,
    });
  }
  const original = scaling.original_max_position_embeddings;
  if (typeof original !== 'number' || !Number.isSafeInteger(original) || original < 1) {
    throw new ModelConfigError('bad_field', CONFIG, 'must be a positive integer', {
      field: `${prefix}.original_max_position_embeddings`,
      value: original,
    });
  }
  return { type: 'llama3', factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: original };
}

function tokenIds(file: string, value: unknown, key: string): number[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new ModelConfigError('bad_field', file, 'must be a token id or a list of token ids', { field: key, value });
    }
  }
  return list as number[];
}

function slidingWindowOf(architecture: LlamaArchitecture, c: Json): number | null {
  if (architecture === 'MistralForCausalLM') {
    if (c.sliding_window === undefined || c.sliding_window === null) return null;
    return int(c, 'sliding_window');
  }
  // transformers 5.x may list each layer's attention kind; only all-full attention is supported (Mistral returned above).
  if (Array.isArray(c.layer_types)) {
    const sliding = c.layer_types.findIndex((t) => t !== 'full_attention');
    if (sliding >= 0) {
      throw new ModelConfigError('unsupported_sliding_window', CONFIG, 'per-layer sliding windows are not supported', {
        field: `layer_types[${sliding}]`,
        value: c.layer_types[sliding],
        allowed: 'full_attention',
      });
    }
  }
  if ((architecture === 'Qwen2ForCausalLM' || architecture === 'Qwen3ForCausalLM') && c.use_sliding_window === true) {
    throw new ModelConfigError('unsupported_sliding_window', CONFIG, 'per-layer sliding windows are not supported', {
      field: 'use_sliding_window',
      value: true,
      allowed: 'false',
      fix: 'Qwen checkpoints are trained with use_sliding_window false; set it so, or use another model',
    });
  }
  return null;
}

/** Validates config.json (and generation_config.json when given) into a LlamaConfig. */
export function parseLlamaConfig(config: unknown, generationConfig?: unknown): LlamaConfig {
  try {
    return parseConfig(config, generationConfig);
  } catch (error) {
    if (isFlashgraphError(error)) throw error;
    // Parsed JSON never throws on a read; a getter or proxy trap did.
    throw new ModelConfigError('config_not_object', CONFIG, 'config.json must hold JSON data, and reading it threw', {
      cause: error,
    });
  }
}

function parseConfig(config: unknown, generationConfig?: unknown): LlamaConfig {
  if (!isObject(config)) {
    throw new ModelConfigError('config_not_object', CONFIG, 'config.json must hold a JSON object', { value: config });
  }
  if (generationConfig !== undefined && generationConfig !== null && !isObject(generationConfig)) {
    throw new ModelConfigError('config_not_object', GENERATION, 'generation_config.json must hold a JSON object', {
      value: generationConfig,
    });
  }
  const c = config;
  const g: Json = isObject(generationConfig) ? generationConfig : {};
  const architecture = architectureOf(c);
  const activation = c.hidden_act ?? 'silu';
  if (activation !== 'silu') {
    throw new ModelConfigError('unsupported_activation', CONFIG, 'only SiLU MLPs are supported', {
      field: 'hidden_act',
      value: activation,
      allowed: 'silu',
    });
  }
  if (c.mlp_bias === true) {
    throw new ModelConfigError('unsupported_mlp_bias', CONFIG, 'MLP biases are not supported', {
      field: 'mlp_bias',
      value: true,
      allowed: 'false',
    });
  }
  const vocabSize = int(c, 'vocab_size');
  const hiddenSize = int(c, 'hidden_size');
  const intermediateSize = int(c, 'intermediate_size');
  const numLayers = int(c, 'num_hidden_layers');
  const numHeadsQ = int(c, 'num_attention_heads');
  const numHeadsKv = int(c, 'num_key_value_heads', numHeadsQ);
  if (numHeadsQ % numHeadsKv !== 0) {
    throw new ModelConfigError(
      'heads_not_divisible',
      CONFIG,
      `num_attention_heads (${numHeadsQ}) is not a multiple of num_key_value_heads`,
      {
        field: 'num_key_value_heads',
        value: numHeadsKv,
        allowed: `a divisor of ${numHeadsQ}`,
      },
    );
  }
  let headDim: number;
  if (c.head_dim !== undefined && c.head_dim !== null) {
    headDim = int(c, 'head_dim');
  } else if (hiddenSize % numHeadsQ !== 0) {
    throw new ModelConfigError(
      'heads_not_divisible',
      CONFIG,
      `hidden_size (${hiddenSize}) is not a multiple of num_attention_heads and head_dim is not given`,
      {
        field: 'num_attention_heads',
        value: numHeadsQ,
        fix: 'add head_dim',
      },
    );
  } else {
    headDim = hiddenSize / numHeadsQ;
  }
  if (!SUPPORTED_HEAD_DIMS.includes(headDim)) {
    throw new ModelConfigError('unsupported_head_dim', CONFIG, 'the attention kernels have no such head dim', {
      field: c.head_dim === undefined || c.head_dim === null ? 'hidden_size / num_attention_heads' : 'head_dim',
      value: headDim,
      allowed: SUPPORTED_HEAD_DIMS.join(', '),
    });
  }
  const [theta, scaling, ropePath] = ropeFields(c);
  const ropeTheta = positive(
    CONFIG,
    { rope_theta: theta },
    'rope_theta',
    10000,
    ropePath === 'rope_parameters' ? 'rope_parameters.rope_theta' : 'rope_theta',
  );
  const ropeScaling = ropeScalingOf(scaling, ropePath);
  const maxPositionEmbeddings = int(c, 'max_position_embeddings', DEFAULT_MAX_POSITIONS[architecture]);
  const attentionBias = bool(c, 'attention_bias', false);
  const qkvBias = architecture === 'Qwen2ForCausalLM' || (attentionBias && architecture !== 'MistralForCausalLM');
  const oProjBias = attentionBias && (architecture === 'LlamaForCausalLM' || architecture === 'Qwen3ForCausalLM');
  const dtype = c.dtype ?? c.torch_dtype ?? 'float32';
  if (dtype !== 'bfloat16' && dtype !== 'float16' && dtype !== 'float32') {
    throw new ModelConfigError('unsupported_dtype', CONFIG, 'unsupported dtype', {
      field: c.dtype !== undefined ? 'dtype' : 'torch_dtype',
      value: dtype,
      allowed: 'bfloat16, float16, float32',
    });
  }
  // Both files' bos ids are checked (generation_config.json's wins), so a bad one is never hidden.
  const generationBos = tokenIds(GENERATION, g.bos_token_id, 'bos_token_id');
  const configBos = tokenIds(CONFIG, c.bos_token_id, 'bos_token_id');
  for (const [file, ids] of [
    [GENERATION, generationBos],
    [CONFIG, configBos],
  ] as const) {
    const bad = ids.find((id) => id >= vocabSize);
    if (bad !== undefined) {
      throw new ModelConfigError('bad_field', file, 'the token id is outside the vocabulary', {
        field: 'bos_token_id',
        value: bad,
        allowed: `[0, ${vocabSize - 1}]`,
      });
    }
  }
  const bos = generationBos[0] ?? configBos[0];
  // Stop on any eos id either file names (generation_config.json's first, as transformers reads it).
  const eos = [
    ...new Set([
      ...tokenIds(GENERATION, g.eos_token_id, 'eos_token_id'),
      ...tokenIds(CONFIG, c.eos_token_id, 'eos_token_id'),
    ]),
  ];
  const badEos = eos.find((id) => id >= vocabSize);
  if (badEos !== undefined) {
    throw new ModelConfigError('bad_field', CONFIG, 'the token id is outside the vocabulary', {
      field: 'eos_token_id',
      value: badEos,
      allowed: `[0, ${vocabSize - 1}]`,
    });
  }
  const parsed: LlamaConfig = Object.freeze({
    architecture,
    vocabSize,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeadsQ,
    numHeadsKv,
    headDim,
    rmsNormEps: positive(CONFIG, c, 'rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling: Object.freeze(ropeScaling),
    maxPositionEmbeddings,
    tieWordEmbeddings: bool(c, 'tie_word_embeddings', false),
    qkvBias,
    oProjBias,
    qkNorm: architecture === 'Qwen3ForCausalLM',
    slidingWindow: slidingWindowOf(architecture, c),
    bosTokenId: bos ?? null,
    eosTokenIds: Object.freeze(eos),
    torchDtype: dtype,
  });
  checkRopeFinite(parsed, ropePath);
  return parsed;
}

// Each field can be a positive finite number while the rotation they make is not: rope_theta
// 1e-320 gives infinite inverse frequencies, a linear factor 1e-320 an infinite position scale.
// The largest angle the model can reach (last position x scale x largest frequency) must be finite.
function checkRopeFinite(config: LlamaConfig, ropePath: string): void {
  const inverse = ropeInverseFrequencies(config);
  const scale = ropePositionScale(config);
  let largest = 0;
  for (const f of inverse) largest = Math.max(largest, f);
  const angle = config.maxPositionEmbeddings * scale * largest;
  if (!Number.isFinite(angle) || !inverse.every((f) => Number.isFinite(f) && f > 0)) {
    throw new ModelConfigError('bad_field', CONFIG, 'these RoPE settings give non-finite rotation angles', {
      field: ropePath === 'rope_parameters' ? 'rope_parameters' : 'rope_theta / rope_scaling',
      value: { rope_theta: config.ropeTheta, rope_scaling: config.ropeScaling },
      allowed: 'rope_theta and a scaling factor whose frequencies and angles stay finite',
    });
  }
}
