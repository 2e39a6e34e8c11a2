// `flashgraph make-tiny-model DIR`: writes a random-weight model folder of a supported
// architecture (config, safetensors, a small working tokenizer) with @flashgraph/models'
// writeTinyModel, so `flashgraph generate` can be tried without a download.
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@flashgraph/errors';
import { type CliCommand, type CliIo, EXIT_OK, UsageError } from '../command.js';
import { parseIntFlag } from './shared.js';

const ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM'] as const;
const DTYPES = ['BF16', 'F16', 'F32'] as const;

export const MAKE_TINY_MODEL_HELP = `Usage: flashgraph make-tiny-model DIR [options]

Writes a tiny random-weight Hugging Face model folder to DIR (config.json, generation_config.json,
safetensors, tokenizer.json with a chat template). Its text is random, but it runs everywhere
with no download: try it with flashgraph generate --model DIR. DIR must be new, empty, or hold no
model files; --overwrite replaces the model of a folder that holds one.

  --architecture <name>   ${ARCHITECTURES.join(', ')} (default LlamaForCausalLM)
  --seed <n>              weight seed (default 0)
  --dtype <BF16|F16|F32>  weight dtype (default BF16)
  --shards <n>            safetensors files (default 1; more writes an index and shards)
  --overwrite             replace the model files of DIR (config, tokenizer, index, *.safetensors);
                          other files stay
  -h, --help              show this help`;

export const makeTinyModelCommand: CliCommand = {
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
    try {
      parsed = parseArgs({
        args: [...argv],
        options: {
          architecture: { type: 'string' },
          seed: { type: 'string' },
          dtype: { type: 'string' },
          shards: { type: 'string' },
          overwrite: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: true,
      }) as typeof parsed;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.stdout(MAKE_TINY_MODEL_HELP);
      return EXIT_OK;
    }
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? 'DIR is required: the folder to write'
          : `one DIR expected, got ${positionals.length}`,
      );
    }
    const target = positionals[0] as string;
    // resolve('') is the current folder: an empty DIR must not quietly write there.
    if (target.trim() === '') throw new UsageError({ flag: 'DIR', problem: 'is empty', value: target });
    const architecture = (values.architecture as string | undefined) ?? 'LlamaForCausalLM';
    if (!(ARCHITECTURES as readonly string[]).includes(architecture)) {
      throw new UsageError(`--architecture must be one of ${ARCHITECTURES.join(', ')}, got '${architecture}'`);
    }
    const dtype = (values.dtype as string | undefined) ?? 'BF16';
    if (!(DTYPES as readonly string[]).includes(dtype)) {
      throw new UsageError(`--dtype must be one of ${DTYPES.join(', ')}, got '${dtype}'`);
    }
    const seed = parseIntFlag('seed', values.seed as string | undefined, 0, 0, 2 ** 32 - 1);
    const shards = parseIntFlag('shards', values.shards as string | undefined, 1, 1, 64);
    const { resolve } = await import('node:path');
    const dir = resolve(io.cwd, target);
    const { writeTinyModel } = await import('@flashgraph/models');
    let written: Awaited<ReturnType<typeof writeTinyModel>>;
    try {
      written = await writeTinyModel(dir, {
        architecture: architecture as (typeof ARCHITECTURES)[number],
        seed,
        dtype: dtype as (typeof DTYPES)[number],
        shards,
        overwrite: values.overwrite === true,
      });
    } catch (err) {
      // writeTinyModel checks the folder before writing anything (a file there, a folder holding
      // a model): that is the user's DIR at fault, a usage error.
      if (err instanceof InvalidArgumentError && err.path === 'dir') {
        const cut = err.message.indexOf(' (got ');
        const problem = err.message.startsWith('dir: ') && cut > 0 ? err.message.slice(5, cut) : err.message;
        throw new UsageError({
          flag: 'DIR',
          problem,
          value: target,
          // Only a folder holding a model has a fix; say it in the CLI's terms.
          ...(err.fix ? { fix: 'Pass --overwrite to replace it, or choose a new folder.' } : {}),
          cause: err,
        });
      }
      throw err;
    }
    io.stdout(`wrote a tiny random-weight ${architecture} model to ${dir}: ${written.files.join(', ')}`);
    return EXIT_OK;
  },
};
