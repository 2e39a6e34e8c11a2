// loadHfModel: a Hugging Face model folder (config.json, safetensors, tokenizer) as the engine's
// Model. Everything is validated here, before any weight is read; `load(ctx)` then reads the
// weights for the backend the engine chose (llama/cpu here; llama/cuda beside it).

import { basename, join, resolve } from 'node:path';
import type { BackendKind, LoadedModel, Model, ModelLoadContext, ModelShape } from '@flashgraph/engine';
import { checkFunction, checkOptions, checkString, optional } from '@flashgraph/errors';
import type { AsyncDisposable } from '../async-disposable.js';
import { type Checkpoint, checkTensorSpecs, openCheckpoint } from '../checkpoint/index.js';
import { ModelConfigError, ModelsError, TokenizerError } from '../errors.js';
import { checkFolderArgument, readJsonTextFile, statRegularFile } from '../files.js';
import { HfTokenizer } from '../tokenizer.js';
import { type LlamaConfig, parseLlamaConfig } from './config.js';
import { loadLlamaCpu } from './cpu/forward.js';
import { readCpuWeights } from './cpu/weights.js';
import { loadLlamaCuda } from './cuda/forward.js';
import { modelsCudaStatus } from './cuda/status.js';
import { loadCudaWeights } from './cuda/weights.js';
import { llamaTensorSpecs } from './tensors.js';

/** One event per tensor read by `load`. */
export interface WeightLoadProgress {
  readonly tensor: string;
  /** Tensors read so far, this one included. */
  readonly loaded: number;
  readonly total: number;
  readonly bytesLoaded: number;
  readonly totalBytes: number;
}

export interface LoadHfModelOptions {
  /** Default: the folder name and the architecture. */
  readonly name?: string;
  /** Called after each tensor `load(ctx)` reads (a progress bar, say). */
  readonly onProgress?: (event: WeightLoadProgress) => void;
}

export interface HfModel extends Model, AsyncDisposable {
  readonly dir: string;
  readonly config: LlamaConfig;
  /** null when the folder has no tokenizer.json (token-id prompts still work). */
  readonly tokenizer: HfTokenizer | null;
  readonly eosTokenIds: readonly number[];
  readonly checkpoint: Checkpoint;
  /** Closes the checkpoint's files; `load` fails afterwards, loaded models keep working. */
  close(): Promise<void>;
}

async function readConfigJson(dir: string, file: string, required: boolean): Promise<unknown> {
  // A directory, a named pipe or a huge file there is a typed error, even for the optional file.
  const text = await readJsonTextFile(join(dir, file), {
    errorFor: (code, problem, details) => new ModelConfigError(code, file, problem, details),
  });
  if (text === null) {
    if (!required) return undefined;
    throw new ModelConfigError('missing_file', file, `the model folder ${dir} has no ${file}`, {
      fix: 'point at a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)',
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError('not_json', file, 'the file is not well-formed JSON', { cause: err });
  }
}

export async function loadHfModel(dir: string, options: LoadHfModelOptions = {}): Promise<HfModel> {
  checkFolderArgument('dir', dir, 'the model folder path');
  const o = checkOptions('options', options, ['name', 'onProgress']);
  const name = optional(o.name, undefined, (v) => checkString('options.name', v, { nonEmpty: true }));
  const onProgress = optional(o.onProgress, undefined, (v) =>
    checkFunction<(event: WeightLoadProgress) => void>('options.onProgress', v),
  );
  const folder = resolve(dir);
  const config = parseLlamaConfig(
    await readConfigJson(folder, 'config.json', true),
    await readConfigJson(folder, 'generation_config.json', false),
  );
  const checkpoint = await openCheckpoint(folder);
  let tokenizer: HfTokenizer | null;
  try {
    const specs = llamaTensorSpecs(config);
    checkTensorSpecs(checkpoint, specs);
    // A stat, not an open, decides whether there is a tokenizer (a named pipe's open would block).
    const tokenizerFile = await statRegularFile(
      join(folder, 'tokenizer.json'),
      (code, problem, details) => new TokenizerError(code, 'tokenizer.json', problem, details),
    );
    tokenizer = tokenizerFile ? await HfTokenizer.load(folder) : null;
    if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
      throw new ModelConfigError('vocab_mismatch', 'config.json', 'the tokenizer has more tokens than the model', {
        field: 'vocab_size',
        value: config.vocabSize,
        allowed: `>= ${tokenizer.vocabSize} (tokenizer.json)`,
        fix: 'the tokenizer belongs to another model',
      });
    }
  } catch (err) {
    await checkpoint.close();
    throw err;
  }
  const specs = llamaTensorSpecs(config);
  const totalBytes = specs.reduce((n, s) => n + (checkpoint.tensors.get(s.name)?.byteLength ?? 0), 0);
  const shape: ModelShape & { readonly slidingWindow: number | null } = Object.freeze({
    numLayers: config.numLayers,
    numHeadsQ: config.numHeadsQ,
    numHeadsKv: config.numHeadsKv,
    headDim: config.headDim,
    hiddenSize: config.hiddenSize,
    vocabSize: config.vocabSize,
    dtype: config.torchDtype === 'float16' ? 'fp16' : 'bf16',
    slidingWindow: config.slidingWindow,
    maxPositions: config.maxPositionEmbeddings,
  });
  const progress = () => {
    let loaded = 0;
    let bytesLoaded = 0;
    return (name: string, byteLength: number): void => {
      loaded += 1;
      bytesLoaded += byteLength;
      onProgress?.({ tensor: name, loaded, total: specs.length, bytesLoaded, totalBytes });
    };
  };
  const readTensor = () => {
    const onTensor = progress();
    return (name: string): Float32Array => {
      const values = checkpoint.readFloat32Sync(name);
      onTensor(name, checkpoint.tensors.get(name)?.byteLength ?? 0);
      return values;
    };
  };
  const cuda = modelsCudaStatus();
  const loadCuda = (context: ModelLoadContext): LoadedModel => {
    if (!cuda.available) {
      throw new ModelsError('unsupported_backend', 'backend', `the CUDA backend is unavailable: ${cuda.reason}`, {
        value: context.backend,
        allowed: 'cpu',
        fix: "create the engine with backend 'cpu', or install what the reason names",
      });
    }
    const weights = loadCudaWeights(config, checkpoint, {
      device: context.device,
      dtype: shape.dtype,
      onTensor: progress(),
    });
    try {
      const loaded = loadLlamaCuda(config, weights, context);
      return {
        forward: (ctx) => loaded.forward(ctx),
        dispose() {
          loaded.dispose();
          weights.dispose();
        },
      };
    } catch (err) {
      weights.dispose();
      throw err;
    }
  };
  const close = () => checkpoint.close();
  return Object.freeze({
    name: name ?? `${basename(folder)} (${config.architecture})`,
    shape,
    backends: Object.freeze((cuda.available ? ['cpu', 'cuda'] : ['cpu']) as BackendKind[]),
    eosTokenIds: config.eosTokenIds,
    dir: folder,
    config,
    tokenizer,
    checkpoint,
    load(context: ModelLoadContext): LoadedModel {
      if (context.backend === 'cpu') return loadLlamaCpu(config, readCpuWeights(config, readTensor()), context);
      if (context.backend === 'cuda') return loadCuda(context);
      throw new ModelsError(
        'unsupported_backend',
        'backend',
        `${config.architecture} has no kernels for this backend`,
        {
          value: context.backend,
          allowed: 'cpu, cuda',
        },
      );
    },
    close,
    [Symbol.asyncDispose]: close,
  });
}
