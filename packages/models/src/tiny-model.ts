// writeTinyModel: a random-weight model folder of any supported architecture (config.json in
// transformers' 4.x or 5.x layout, generation_config.json, safetensors in one file or shards, a
// small working byte-level BPE tokenizer with a chat template), so tests and examples never
// download anything. Weights come from an integer hash of (seed, tensor, element), so a folder
// is the same on every machine and whatever the shard layout. The folder is written in a staging
// folder first and moved into place at the end, so a failure leaves it as it was.
import type { Stats } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkBoolean, checkInt, checkOneOf, checkOptions, InvalidArgumentError, optional } from '@flashgraph/errors';
import type { CheckpointDtype } from './checkpoint/dtypes.js';
import { INDEX_FILE } from './checkpoint/shard-names.js';
import { type SafetensorsTensor, writeSafetensors } from './checkpoint/write.js';
import { checkFolderArgument } from './files.js';
import { LLAMA_ARCHITECTURES, type LlamaArchitecture, parseLlamaConfig, type RopeScaling } from './llama/config.js';
import { llamaTensorSpecs } from './llama/tensors.js';
import { tinyTokenizerFiles } from './tiny-tokenizer.js';

export interface TinyModelOptions {
  readonly architecture: LlamaArchitecture;
  /** Weight seed (uint32). Default 0. */
  readonly seed?: number;
  /** Which transformers layout config.json uses. Default: 4.x for Llama/Mistral, 5.x for Qwen2/Qwen3. */
  readonly configLayout?: '4.x' | '5.x';
  /** Default 'BF16'. */
  readonly dtype?: CheckpointDtype;
  /** Number of safetensors files (1 = model.safetensors, more = an index and shards). Default 1. */
  readonly shards?: number;
  readonly numLayers?: number;
  readonly hiddenSize?: number;
  readonly numHeadsQ?: number;
  readonly numHeadsKv?: number;
  /** Written as head_dim when given (else derived from hiddenSize / numHeadsQ). */
  readonly headDim?: number;
  readonly intermediateSize?: number;
  /** Default per architecture: llama3 for Llama, linear for Mistral, none for Qwen. */
  readonly ropeScaling?: RopeScaling;
  readonly tieWordEmbeddings?: boolean;
  /** Mistral only. Default null. */
  readonly slidingWindow?: number | null;
  /** Llama/Qwen3: q/k/v/o biases. Default false. */
  readonly attentionBias?: boolean;
  /**
   * Replace the model of a folder that already holds one: its model files (config, tokenizer and
   * generation config JSON, the shard index, every *.safetensors) are removed or replaced; other
   * files stay. Default false: such a folder is refused.
   */
  readonly overwrite?: boolean;
}

export interface TinyModel {
  readonly dir: string;
  /** config.json as written. */
  readonly config: Record<string, unknown>;
  readonly files: readonly string[];
}

const TINY_MODEL_OPTIONS = [
  'architecture',
  'seed',
  'configLayout',
  'dtype',
  'shards',
  'numLayers',
  'hiddenSize',
  'numHeadsQ',
  'numHeadsKv',
  'headDim',
  'intermediateSize',
  'ropeScaling',
  'tieWordEmbeddings',
  'slidingWindow',
  'attentionBias',
  'overwrite',
];

/** What a model folder's loader reads; any of them left from an earlier model would mix two models. */
const MODEL_FILES = new Set([
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  INDEX_FILE,
]);
const isModelFile = (name: string) => MODEL_FILES.has(name) || name.endsWith('.safetensors');

const DIR_ALLOWED = 'a new folder, an empty one, or one without model files (overwrite: true replaces a model)';

function dirError(dir: string, problem: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError({
    code: 'invalid_value',
    path: 'dir',
    value: dir,
    problem,
    allowed: DIR_ALLOWED,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Checks the target before anything is written: nothing there, or a folder that holds no model
 * files, or (with overwrite) one whose model files are all files. Returns those model files.
 */
async function modelFilesToReplace(dir: string, overwrite: boolean): Promise<string[]> {
  let s: Stats;
  try {
    s = await stat(dir);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw dirError(dir, 'has a file where a parent folder should be', err);
    throw dirError(dir, `cannot be read (${String(code ?? err)})`, err);
  }
  if (!s.isDirectory()) throw dirError(dir, 'exists and is not a folder');
  let found: { name: string; directory: boolean }[];
  try {
    found = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => isModelFile(e.name))
      .map((e) => ({ name: e.name, directory: e.isDirectory() }));
  } catch (err) {
    throw dirError(dir, `cannot be read (${String((err as { code?: unknown }).code ?? err)})`, err);
  }
  const names = found.map((f) => f.name).sort();
  const list = names.length > 4 ? `${names.slice(0, 4).join(', ')}, ...` : names.join(', ');
  if (found.length > 0 && !overwrite) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'dir',
      value: dir,
      problem: `already holds a model (${list})`,
      allowed: DIR_ALLOWED,
      fix: 'Pass overwrite: true (flashgraph make-tiny-model --overwrite) to replace it, or choose a new folder.',
    });
  }
  // Only files are replaced: a folder under a model file's name is the user's to remove.
  const folder = found.find((f) => f.directory);
  if (folder) throw dirError(dir, `holds a folder named ${folder.name}, where a model file would go`);
  return names;
}

interface Defaults {
  readonly hiddenSize: number;
  readonly numHeadsQ: number;
  readonly numHeadsKv: number;
  readonly headDim: number | undefined;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly tieWordEmbeddings: boolean;
}

// Each architecture's tiny model differs in the features its tests must exercise.
const DEFAULTS: Readonly<Record<LlamaArchitecture, Defaults>> = {
  LlamaForCausalLM: {
    hiddenSize: 128,
    numHeadsQ: 2,
    numHeadsKv: 1,
    headDim: undefined,
    ropeTheta: 500000,
    ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 },
    tieWordEmbeddings: false,
  },
  MistralForCausalLM: {
    hiddenSize: 128,
    numHeadsQ: 4,
    numHeadsKv: 1,
    headDim: 64,
    ropeTheta: 10000,
    ropeScaling: { type: 'linear', factor: 2 },
    tieWordEmbeddings: false,
  },
  Qwen2ForCausalLM: {
    hiddenSize: 128,
    numHeadsQ: 2,
    numHeadsKv: 2,
    headDim: undefined,
    ropeTheta: 1000000,
    ropeScaling: { type: 'none' },
    tieWordEmbeddings: true,
  },
  Qwen3ForCausalLM: {
    hiddenSize: 128,
    numHeadsQ: 4,
    numHeadsKv: 2,
    headDim: 64,
    ropeTheta: 1000000,
    ropeScaling: { type: 'none' },
    tieWordEmbeddings: true,
  },
};

const MODEL_TYPE: Readonly<Record<LlamaArchitecture, string>> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
};

function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Uniform in [-1, 1) from (stream, index). */
function uniform(stream: number, index: number): number {
  return (hash32((hash32(index >>> 0) ^ stream) >>> 0) >>> 8) * 2 ** -23 - 1;
}

/** How each tensor is initialised: scale * U(-1, 1) + offset. */
function initOf(name: string, shape: readonly number[]): { scale: number; offset: number } {
  if (name.endsWith('norm.weight')) return { scale: 0.1, offset: 1 };
  if (name.endsWith('.bias')) return { scale: 0.1, offset: 0 };
  if (name === 'model.embed_tokens.weight') return { scale: 1, offset: 0 };
  // Linear layers: unit-variance outputs for unit-variance inputs; the LM head a little sharper.
  const fanIn = shape[shape.length - 1] as number;
  return { scale: Math.sqrt(3 / fanIn) * (name === 'lm_head.weight' ? 3 : 1), offset: 0 };
}

function ropeJson(scaling: RopeScaling, layout: '4.x' | '5.x', theta: number): Record<string, unknown> {
  const typeKey = layout === '5.x' ? 'rope_type' : 'type';
  const base: Record<string, unknown> = layout === '5.x' ? { rope_theta: theta } : {};
  if (scaling.type === 'none') return layout === '5.x' ? { ...base, rope_type: 'default' } : {};
  if (scaling.type === 'linear') return { ...base, [typeKey]: 'linear', factor: scaling.factor };
  return {
    ...base,
    // transformers 4.x itself writes rope_type for llama3; older files had `type`.
    rope_type: 'llama3',
    factor: scaling.factor,
    low_freq_factor: scaling.lowFreqFactor,
    high_freq_factor: scaling.highFreqFactor,
    original_max_position_embeddings: scaling.originalMaxPositionEmbeddings,
  };
}

/** Writes a random-weight model folder; returns what it wrote. */
export async function writeTinyModel(dir: string, options: TinyModelOptions): Promise<TinyModel> {
  checkFolderArgument('dir', dir, 'the folder to write');
  checkOptions('options', options ?? null, TINY_MODEL_OPTIONS);
  const architecture = checkOneOf('options.architecture', options.architecture, LLAMA_ARCHITECTURES);
  const seed = optional(options.seed, 0, (v) => checkInt('options.seed', v, { min: 0, max: 2 ** 32 - 1 }));
  if (options.dtype !== undefined) checkOneOf('options.dtype', options.dtype, ['BF16', 'F16', 'F32'] as const);
  if (options.configLayout !== undefined)
    checkOneOf('options.configLayout', options.configLayout, ['4.x', '5.x'] as const);
  for (const key of ['numLayers', 'hiddenSize', 'numHeadsQ', 'numHeadsKv', 'headDim', 'intermediateSize'] as const) {
    if (options[key] !== undefined) checkInt(`options.${key}`, options[key], { min: 1, max: 1 << 16 });
  }
  const d = DEFAULTS[architecture];
  const isQwen = architecture === 'Qwen2ForCausalLM' || architecture === 'Qwen3ForCausalLM';
  const layout = options.configLayout ?? (isQwen ? '5.x' : '4.x');
  const dtype = options.dtype ?? 'BF16';
  const shards = options.shards ?? 1;
  checkInt('options.shards', shards, { min: 1, max: 1000 });
  const overwrite = optional(options.overwrite, false, (v) => checkBoolean('options.overwrite', v));
  const tokenizer = tinyTokenizerFiles({ addBos: !isQwen });
  const hiddenSize = options.hiddenSize ?? d.hiddenSize;
  const numHeadsQ = options.numHeadsQ ?? d.numHeadsQ;
  const headDim = options.headDim ?? d.headDim;
  const scaling = options.ropeScaling ?? d.ropeScaling;
  const rope = ropeJson(scaling, layout, d.ropeTheta);
  const dtypeName = dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32';
  const config: Record<string, unknown> = {
    architectures: [architecture],
    model_type: MODEL_TYPE[architecture],
    vocab_size: tokenizer.vocabSize,
    hidden_size: hiddenSize,
    intermediate_size: options.intermediateSize ?? 2 * hiddenSize,
    num_hidden_layers: options.numLayers ?? 2,
    num_attention_heads: numHeadsQ,
    num_key_value_heads: options.numHeadsKv ?? d.numHeadsKv,
    ...(headDim === undefined ? {} : { head_dim: headDim }),
    hidden_act: 'silu',
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    ...(layout === '5.x'
      ? { rope_parameters: rope }
      : { rope_theta: d.ropeTheta, rope_scaling: Object.keys(rope).length === 0 ? null : rope }),
    tie_word_embeddings: options.tieWordEmbeddings ?? d.tieWordEmbeddings,
    ...(architecture === 'LlamaForCausalLM' || architecture === 'Qwen3ForCausalLM'
      ? { attention_bias: options.attentionBias ?? false }
      : {}),
    ...(architecture === 'MistralForCausalLM' ? { sliding_window: options.slidingWindow ?? null } : {}),
    ...(isQwen ? { use_sliding_window: false, sliding_window: null } : {}),
    bos_token_id: tokenizer.bosTokenId,
    eos_token_id: tokenizer.eosTokenIds[0],
    ...(layout === '5.x' ? { dtype: dtypeName } : { torch_dtype: dtypeName }),
    transformers_version: layout === '5.x' ? '5.0.0' : '4.46.0',
  };
  const parsed = parseLlamaConfig(config); // the tiny model must be one this package loads
  const tensors: SafetensorsTensor[] = llamaTensorSpecs(parsed).map((spec, index) => {
    const { scale, offset } = initOf(spec.name, spec.shape);
    const stream = hash32((seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
    return {
      name: spec.name,
      dtype,
      shape: spec.shape,
      data: (start: number, out: Float32Array) => {
        for (let i = 0; i < out.length; i++) out[i] = offset + scale * uniform(stream, start + i);
      },
    };
  });
  const writeFiles = async (out: string): Promise<string[]> => {
    const files: string[] = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];
    await writeFile(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    await writeFile(
      join(out, 'generation_config.json'),
      `${JSON.stringify({ bos_token_id: tokenizer.bosTokenId, eos_token_id: tokenizer.eosTokenIds, do_sample: false }, null, 2)}\n`,
    );
    await writeFile(join(out, 'tokenizer.json'), JSON.stringify(tokenizer.tokenizerJson));
    await writeFile(join(out, 'tokenizer_config.json'), `${JSON.stringify(tokenizer.tokenizerConfigJson, null, 2)}\n`);
    if (shards === 1) {
      await writeSafetensors(join(out, 'model.safetensors'), tensors);
      files.push('model.safetensors');
    } else {
      const weightMap: Record<string, string> = {};
      const perShard = Math.ceil(tensors.length / shards);
      let totalSize = 0;
      for (let s = 0; s < shards; s++) {
        const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
        const part = tensors.slice(s * perShard, (s + 1) * perShard);
        for (const t of part) {
          weightMap[t.name] = name;
          totalSize += t.shape.reduce((p, x) => p * x, 1) * (dtype === 'F32' ? 4 : 2);
        }
        await writeSafetensors(join(out, name), part);
        files.push(name);
      }
      await writeFile(
        join(out, 'model.safetensors.index.json'),
        `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`,
      );
      files.push('model.safetensors.index.json');
    }
    return files;
  };
  const replaced = await modelFilesToReplace(dir, overwrite);
  let created: string | undefined;
  let staging: string;
  try {
    created = await mkdir(dir, { recursive: true });
    // Inside the folder, so the final renames never cross file systems.
    staging = await mkdtemp(join(dir, '.tiny-model-'));
  } catch (err) {
    if (created !== undefined) await rm(created, { recursive: true, force: true });
    throw dirError(dir, `cannot be written (${String((err as { code?: unknown }).code ?? err)})`, err);
  }
  try {
    const files = await writeFiles(staging);
    // Only now is the folder changed: stale model files go first (the loader prefers an old shard
    // index to a new model.safetensors), then each new file is renamed into place.
    for (const name of replaced) if (!files.includes(name)) await rm(join(dir, name), { force: true });
    for (const name of files) await rename(join(staging, name), join(dir, name));
    await rm(staging, { recursive: true, force: true });
    return { dir, config, files };
  } catch (err) {
    await rm(created ?? staging, { recursive: true, force: true });
    throw err;
  }
}
