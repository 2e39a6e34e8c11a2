// Bad checkpoints, configs and tokenizers: each is a typed error with a code that names the file
// (and the tensor or field), thrown before any weight is read, and nothing is left broken.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '@flashgraph/engine';
import { FlashgraphError, InvalidArgumentError } from '@flashgraph/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  HfTokenizer,
  loadHfModel,
  ModelConfigError,
  openCheckpoint,
  parseLlamaConfig,
  TokenizerError,
  writeTinyModel,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-malformed-'));
const good = join(root, 'good');
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await writeTinyModel(good, { architecture: 'LlamaForCausalLM', seed: 3 });
});

let folders = 0;
function folder(): string {
  const dir = join(root, `case-${folders++}`);
  mkdirSync(dir);
  return dir;
}

/** A safetensors file from a header (object or raw text) and data bytes; the length may be forced. */
function rawSafetensors(header: unknown, data: Uint8Array, headerLength?: bigint): Buffer {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const bytes = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(bytes.byteLength));
  return Buffer.concat([prefix, bytes, data]);
}

function checkpointWith(file: Buffer, name = 'model.safetensors'): string {
  const dir = folder();
  writeFileSync(join(dir, name), file);
  return dir;
}

const f32 = (n: number) => new Uint8Array(4 * n);
const entry = (dtype: string, shape: number[], begin: number, end: number) => ({
  dtype,
  shape,
  data_offsets: [begin, end],
});

async function expectCheckpointError(dir: string, code: string, file: string, tensor: string | null = null) {
  const error = await openCheckpoint(dir).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, code).toBeInstanceOf(CheckpointError);
  expect(error).toBeInstanceOf(FlashgraphError);
  const e = error as CheckpointError;
  expect(e.code).toBe(code);
  expect(e.file).toBe(file);
  expect(e.tensor).toBe(tensor);
  expect(e.message).toContain(file);
  if (tensor) expect(e.message).toContain(tensor);
}

describe('malformed safetensors files', () => {
  const F = 'model.safetensors';
  it.each<[string, () => Buffer, string, string | null]>([
    ['a file shorter than the length prefix', () => Buffer.from([1, 2, 3, 4, 5]), 'truncated_file', null],
    [
      'a header length past the end of the file',
      () => rawSafetensors('{}', new Uint8Array(0), 4096n),
      'header_past_eof',
      null,
    ],
    ['a huge header length', () => rawSafetensors('{}', new Uint8Array(0), 1n << 40n), 'header_too_large', null],
    ['a header that is not JSON', () => rawSafetensors('{"a": [1, 2', new Uint8Array(0)), 'header_not_json', null],
    [
      'a header that is not UTF-8',
      () => Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0xff, 0xfe])]),
      'header_not_json',
      null,
    ],
    ['a header that is a JSON array', () => rawSafetensors('[1, 2]', new Uint8Array(0)), 'header_not_object', null],
    [
      'an unknown dtype',
      () => rawSafetensors({ w: entry('F8_E4M3', [4], 0, 4) }, new Uint8Array(4)),
      'unknown_dtype',
      'w',
    ],
    [
      'a shape that disagrees with the byte range',
      () => rawSafetensors({ w: entry('F32', [3], 0, 16) }, f32(4)),
      'size_mismatch',
      'w',
    ],
    ['a negative dimension', () => rawSafetensors({ w: entry('F32', [-4], 0, 16) }, f32(4)), 'bad_shape', 'w'],
    ['reversed data_offsets', () => rawSafetensors({ w: entry('F32', [0], 8, 4) }, f32(2)), 'bad_offsets', 'w'],
    [
      'overlapping ranges',
      () => rawSafetensors({ a: entry('F32', [4], 0, 16), b: entry('F32', [4], 8, 24) }, f32(6)),
      'overlapping_ranges',
      'b',
    ],
    [
      'a gap between tensors',
      () => rawSafetensors({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 12, 20) }, f32(5)),
      'data_gap',
      'b',
    ],
    [
      'trailing bytes after the last tensor',
      () => rawSafetensors({ a: entry('F32', [2], 0, 8) }, f32(3)),
      'data_not_covered',
      null,
    ],
    [
      'a range past the data section (truncated data)',
      () => rawSafetensors({ a: entry('F32', [4], 0, 16) }, f32(2)),
      'range_outside_data',
      'a',
    ],
    [
      'a non-string __metadata__ value',
      () => rawSafetensors({ __metadata__: { n: 1 }, a: entry('F32', [1], 0, 4) }, f32(1)),
      'bad_metadata',
      null,
    ],
    [
      'a tensor entry that is not an object',
      () => rawSafetensors({ a: 7 }, new Uint8Array(0)),
      'bad_tensor_entry',
      'a',
    ],
  ])('%s', async (_, make, code, tensor) => {
    await expectCheckpointError(checkpointWith(make()), code, F, tensor);
  });

  it('a folder without any checkpoint', async () => {
    const dir = folder();
    await expectCheckpointError(dir, 'no_checkpoint', dir);
  });

  it('a real checkpoint cut short: the last tensor runs past the data', async () => {
    const bytes = readFileSync(join(good, F));
    await expectCheckpointError(
      checkpointWith(bytes.subarray(0, bytes.byteLength - 100)),
      'range_outside_data',
      F,
      'lm_head.weight',
    );
  });
});

describe('malformed sharded checkpoints', () => {
  const INDEX = 'model.safetensors.index.json';
  async function sharded(weightMap: Record<string, string>, shards: Record<string, Buffer> = {}) {
    const dir = folder();
    writeFileSync(join(dir, INDEX), JSON.stringify({ weight_map: weightMap }));
    for (const [name, bytes] of Object.entries(shards)) writeFileSync(join(dir, name), bytes);
    return dir;
  }
  const shard = rawSafetensors({ a: entry('F32', [1], 0, 4) }, f32(1));

  it.each([['../outside.safetensors'], ['/etc/passwd'], ['sub/dir.safetensors'], ['..'], ['']])(
    'a shard name escaping the folder: %j',
    async (name) => {
      await expectCheckpointError(await sharded({ a: name }), 'unsafe_shard_name', INDEX, 'a');
    },
  );

  it('a shard that is a symbolic link leading outside the folder', async () => {
    const outside = join(root, 'outside.safetensors');
    writeFileSync(outside, shard);
    const dir = await sharded({ a: 'model-1.safetensors' });
    symlinkSync(outside, join(dir, 'model-1.safetensors'));
    await expectCheckpointError(dir, 'file_outside_folder', 'model-1.safetensors');
  });

  it('a missing shard', async () => {
    await expectCheckpointError(await sharded({ a: 'model-1.safetensors' }), 'missing_file', 'model-1.safetensors');
  });

  it('an index that is not JSON, or has no weight_map', async () => {
    const dir = folder();
    writeFileSync(join(dir, INDEX), '{ weight_map: ');
    await expectCheckpointError(dir, 'index_not_json', INDEX);
    await expectCheckpointError(await sharded(null as never), 'index_no_weight_map', INDEX);
  });

  it('the index lists a tensor its shard lacks, or a shard holds one the index maps elsewhere', async () => {
    const s = { 'model-1.safetensors': shard };
    await expectCheckpointError(
      await sharded({ a: 'model-1.safetensors', b: 'model-1.safetensors' }, s),
      'missing_in_shard',
      'model-1.safetensors',
      'b',
    );
    const two = {
      'model-1.safetensors': shard,
      'model-2.safetensors': rawSafetensors({ b: entry('F32', [1], 0, 4) }, f32(1)),
    };
    await expectCheckpointError(
      await sharded({ a: 'model-2.safetensors', b: 'model-1.safetensors' }, two),
      'tensor_not_in_index',
      'model-1.safetensors',
      'a',
    );
  });
});

describe('checkpoints that do not fit config.json', () => {
  function variant(edit: (config: Record<string, unknown>) => void): string {
    const dir = folder();
    for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
      copyFileSync(join(good, f), join(dir, f));
    const config = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8'));
    edit(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }

  it('a missing tensor (config asks for a third layer)', async () => {
    const error = await loadHfModel(variant((c) => (c.num_hidden_layers = 3))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error).toMatchObject({ code: 'missing_tensor', tensor: 'model.layers.2.input_layernorm.weight' });
  });

  it('a tensor of the wrong shape', async () => {
    const error = await loadHfModel(variant((c) => (c.intermediate_size = 384))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error).toMatchObject({
      code: 'wrong_shape',
      file: 'model.safetensors',
      tensor: 'model.layers.0.mlp.gate_proj.weight',
    });
    expect((error as Error).message).toContain('[384,128]');
  });

  it('a checkpoint whose tied embeddings lack lm_head', async () => {
    const dir = folder();
    await writeTinyModel(dir, { architecture: 'Qwen2ForCausalLM', tieWordEmbeddings: true });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, tie_word_embeddings: false }));
    await expect(loadHfModel(dir)).rejects.toMatchObject({ code: 'missing_tensor', tensor: 'lm_head.weight' });
  });

  it('config.json that is missing or not JSON', async () => {
    const dir = folder();
    await expect(loadHfModel(dir)).rejects.toMatchObject({ code: 'missing_file', file: 'config.json' });
    writeFileSync(join(dir, 'config.json'), '{"architectures": ');
    await expect(loadHfModel(dir)).rejects.toMatchObject({ code: 'not_json', file: 'config.json' });
  });
});

describe('unsupported configurations', () => {
  const base = JSON.parse(
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      vocab_size: 320,
      hidden_size: 256,
      intermediate_size: 512,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
    }),
  );
  it('the base config parses', () => {
    expect(parseLlamaConfig(base)).toMatchObject({ headDim: 64, ropeScaling: { type: 'none' }, qkvBias: false });
  });
  it.each<[string, Record<string, unknown>, string, string]>([
    ['another architecture', { architectures: ['GPT2LMHeadModel'] }, 'unsupported_architecture', 'architectures[0]'],
    [
      'a yarn rope (4.x, rope_type)',
      { rope_scaling: { rope_type: 'yarn', factor: 4 } },
      'unsupported_rope_type',
      'rope_scaling.rope_type',
    ],
    [
      'a dynamic rope (old `type` key)',
      { rope_scaling: { type: 'dynamic', factor: 2 } },
      'unsupported_rope_type',
      'rope_scaling.type',
    ],
    [
      'a longrope rope (5.x rope_parameters)',
      { rope_parameters: { rope_type: 'longrope', rope_theta: 1e4 } },
      'unsupported_rope_type',
      'rope_parameters.rope_type',
    ],
    ['heads not divisible by KV heads', { num_key_value_heads: 3 }, 'heads_not_divisible', 'num_key_value_heads'],
    ['hidden size not divisible by heads', { hidden_size: 250 }, 'heads_not_divisible', 'num_attention_heads'],
    ['a head dim the kernels lack', { head_dim: 96 }, 'unsupported_head_dim', 'head_dim'],
    ['a missing field', { hidden_size: undefined }, 'missing_field', 'hidden_size'],
    ['a field of the wrong type', { num_hidden_layers: '2' }, 'bad_field', 'num_hidden_layers'],
    [
      'a llama3 rope without its factors',
      { rope_scaling: { rope_type: 'llama3', factor: 8 } },
      'missing_field',
      'rope_scaling.low_freq_factor',
    ],
    ['a GELU MLP', { hidden_act: 'gelu' }, 'unsupported_activation', 'hidden_act'],
    ['an MLP bias', { mlp_bias: true }, 'unsupported_mlp_bias', 'mlp_bias'],
    ['an eos id outside the vocabulary', { eos_token_id: [2, 999] }, 'bad_field', 'eos_token_id'],
    ['an fp8 dtype', { torch_dtype: 'float8_e4m3fn' }, 'unsupported_dtype', 'torch_dtype'],
    [
      "Qwen's per-layer sliding window",
      { architectures: ['Qwen2ForCausalLM'], use_sliding_window: true },
      'unsupported_sliding_window',
      'use_sliding_window',
    ],
    [
      'a 5.x per-layer sliding layer',
      { architectures: ['Qwen3ForCausalLM'], layer_types: ['full_attention', 'sliding_attention'] },
      'unsupported_sliding_window',
      'layer_types[1]',
    ],
  ])('%s', (_, patch, code, field) => {
    const config = { ...base, ...patch };
    let error: unknown;
    try {
      parseLlamaConfig(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error).toMatchObject({ code, file: 'config.json', field });
    expect((error as Error).message).toContain(field);
  });

  it('lists what is supported', () => {
    expect(() => parseLlamaConfig({ ...base, architectures: ['FalconForCausalLM'] })).toThrow(
      /LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM/,
    );
    expect(() => parseLlamaConfig({ ...base, head_dim: 80 })).toThrow(/64, 128, 256/);
    expect(() => parseLlamaConfig({ ...base, rope_scaling: { rope_type: 'yarn' } })).toThrow(/default, linear, llama3/);
  });
});

describe('malformed tokenizers', () => {
  const tokenizerJson = () => JSON.parse(readFileSync(join(good, 'tokenizer.json'), 'utf8'));
  it('an unknown tokenizer model', () => {
    const json = tokenizerJson();
    json.model.type = 'SentencePieceMagic';
    expect(() => HfTokenizer.fromJson(json)).toThrow(TokenizerError);
    expect(() => HfTokenizer.fromJson(json)).toThrow(
      expect.objectContaining({ code: 'unknown_tokenizer_model', field: 'model.type' }),
    );
  });

  it('tokenizer.json that is not JSON, and a bad chat template', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    await expect(HfTokenizer.load(dir)).rejects.toMatchObject({ code: 'not_json', file: 'tokenizer.json' });
    writeFileSync(join(dir, 'tokenizer.json'), readFileSync(join(good, 'tokenizer.json')));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{% for m in messages %}' }));
    await expect(HfTokenizer.load(dir)).rejects.toMatchObject({ code: 'bad_chat_template', field: 'chat_template' });
  });

  it('token ids outside the vocabulary', async () => {
    const t = await HfTokenizer.load(good);
    expect(() => t.decode([1, 9999])).toThrow(expect.objectContaining({ code: 'bad_token_id', field: 'ids[1]' }));
    expect(() => t.createDetokenizer().push(-1)).toThrow(TokenizerError);
  });
});

describe('bad generation parameters reach the engine as typed errors', () => {
  it.each([[{ topP: 0 }], [{ temperature: -1 }], [{ topK: 1.5 }], [{ seed: -3 }]])('%j', async (params) => {
    const model = await loadHfModel(good);
    const engine = await createEngine({
      model,
      backend: 'cpu',
      cache: { blockSize: 4, numBlocks: 16 },
      limits: { maxNumSeqs: 2, maxNumBatchedTokens: 8 },
    });
    expect(() => engine.addRequest({ promptTokens: [1, 2], maxNewTokens: 2, ...params })).toThrow(InvalidArgumentError);
    engine.dispose();
    await model.close();
  });
});

describe('bad arguments', () => {
  it('are InvalidArgumentErrors naming the option, before any file is touched', async () => {
    await expect(loadHfModel('')).rejects.toMatchObject({ code: 'invalid_type', path: 'dir' });
    await expect(loadHfModel(good, { nmae: 'x' } as never)).rejects.toMatchObject({
      code: 'unknown_option',
      path: 'options.nmae',
    });
    await expect(loadHfModel(good, { onProgress: 3 } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    const dir = join(root, 'never-written');
    await expect(writeTinyModel(dir, { architecture: 'GPT2' } as never)).rejects.toMatchObject({
      code: 'invalid_value',
      path: 'options.architecture',
    });
    await expect(writeTinyModel(dir, { architecture: 'LlamaForCausalLM', shards: 0 })).rejects.toMatchObject({
      code: 'out_of_range',
    });
    await expect(writeTinyModel(dir, { architecture: 'LlamaForCausalLM', seed: -1 })).rejects.toMatchObject({
      code: 'out_of_range',
    });
    await expect(writeTinyModel(dir, { architecture: 'LlamaForCausalLM', headDim: 80 })).rejects.toMatchObject({
      code: 'unsupported_head_dim',
    });
    expect(() => readFileSync(join(dir, 'config.json'))).toThrow(/ENOENT/);
  });
});

describe('after all of that', () => {
  it('a good model still loads and generates, and bad inputs left nothing open', async () => {
    const model = await loadHfModel(good);
    const engine = await createEngine({
      model,
      backend: 'cpu',
      cache: { blockSize: 4, numBlocks: 16 },
      limits: { maxNumSeqs: 2, maxNumBatchedTokens: 8 },
    });
    engine.addRequest({ promptTokens: [1, 2, 3], maxNewTokens: 4, ignoreEos: true });
    const { outputs } = await engine.run();
    expect(outputs[0]!.outputTokens).toHaveLength(4);
    engine.dispose();
    await model.close();
    // A closed checkpoint refuses reads with a typed error.
    expect(() => model.checkpoint.readFloat32Sync('model.norm.weight')).toThrow(
      expect.objectContaining({ code: 'disposed' }),
    );
  });
});
