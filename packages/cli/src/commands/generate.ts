// `flashgraph generate`: text from a Hugging Face model folder through the engine. Every flag is
// checked before any work (a bad one exits 2 with one line naming it); then the model loads (a
// progress bar on a terminal), all prompts run as one batch, and a single prompt's text streams
// to stdout as it is generated. --json prints one object per prompt per line instead.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type GraphMode, graphModes } from '@flashgraph/config';
import {
  type BackendRequest,
  checkSamplingOptions,
  createEngine,
  cudaUnavailableReason,
  type Engine,
  type RequestOutput,
} from '@flashgraph/engine';
import { InvalidArgumentError } from '@flashgraph/errors';
import { type CliCommand, type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from '../command.js';
import { engineProgress, type ProgressLine, progressLine, weightProgress } from '../report/progress-line.js';
import { parseBackend, parseIntFlag } from './shared.js';

const OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string', multiple: true },
  'prompt-ids': { type: 'string', multiple: true },
  chat: { type: 'string', multiple: true },
  'max-new-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  'graph-mode': { type: 'string' },
  json: { type: 'boolean' },
  logprobs: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const GENERATE_HELP = `Usage: flashgraph generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3 | --chat TEXT) [options]

Generates text with a Hugging Face model folder (Llama, Mistral, Qwen2, Qwen3; make a tiny one
with flashgraph make-tiny-model DIR). --prompt, --prompt-ids and --chat may repeat: all prompts
run as one batch. A single prompt's text streams to stdout as it is generated. Greedy by default.

  --model <dir>            the model folder (config.json, *.safetensors, tokenizer.json)
  --prompt <text>          a text prompt (tokenized; BOS as the tokenizer adds it)
  --prompt-ids <ids>       token ids, used exactly as given: 1,2,3
  --chat <text>            a user message, through the model's chat template
  --max-new-tokens <n>     most tokens to generate per prompt (default 32)
  --temperature <t>        >= 0; 0 = greedy (default 0)
  --top-k <k>              keep the k most likely tokens; 0 = off (default 0)
  --top-p <p>              keep the most likely tokens reaching probability p, in (0, 1] (default 1)
  --seed <n>               sampling seed in [0, 4294967295] (default random; the same seed gives the same text)
  --backend <auto|cuda|cpu>  default auto
  --graph-mode <mode>      ${graphModes.join(', ')} (default full_and_piecewise on CUDA, none on CPU)
  --json                   one JSON object per prompt per line:
                           { model, backend, promptTokenIds, tokenIds, text, logprobs?, finishReason, error?, seed, timings }
  --logprobs               also print each token's log-probability (natural log, before temperature)
  -h, --help               show this help`;

type PromptSpec =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'ids'; readonly ids: readonly number[] }
  | { readonly kind: 'chat'; readonly text: string };

export interface GenerateArgs {
  readonly model: string;
  readonly prompts: readonly PromptSpec[];
  readonly maxNewTokens: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  /** undefined: each request draws a random seed. */
  readonly seed: number | undefined;
  readonly backend: BackendRequest;
  readonly graphMode: GraphMode | undefined;
  readonly json: boolean;
  readonly logprobs: boolean;
}

/** `generate --json`'s format version (one object per prompt per line). */
export const GENERATE_SCHEMA_VERSION = 1;

/** One line per prompt with --json. */
export interface GenerateJsonLine {
  /** Bumped when a field changes meaning or goes away (new fields keep the version). */
  readonly schemaVersion: typeof GENERATE_SCHEMA_VERSION;
  readonly model: string;
  readonly backend: string;
  readonly promptTokenIds: readonly number[];
  readonly tokenIds: readonly number[];
  /** null when the model folder has no tokenizer. */
  readonly text: string | null;
  readonly logprobs?: readonly number[];
  readonly finishReason: RequestOutput['finishReason'];
  /** With finishReason 'error': why the prompt stopped (e.g. non-finite logits), as one line. */
  readonly error?: string;
  readonly seed: number;
  readonly timings: {
    /** loadHfModel + createEngine: weights, allocation, graph capture. */
    readonly loadMs: number;
    readonly captureMs: number;
    /** From the first step to this prompt's first token, and to its last. */
    readonly firstTokenMs: number;
    readonly generateMs: number;
    readonly outputTokensPerSecond: number;
  };
}

const FLAG_OF: Readonly<Record<string, string>> = {
  temperature: '--temperature',
  topK: '--top-k',
  topP: '--top-p',
  seed: '--seed',
};

function parseNumberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !/^[-+0-9.eE]+$/.test(value.trim()) || Number.isNaN(n)) {
    throw new UsageError(`--${name} must be a number, got '${value}'`);
  }
  return n;
}

function parsePromptIds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const ids = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : Number.NaN));
  if (parts.length === 0 || ids.some((id) => !Number.isSafeInteger(id))) {
    throw new UsageError(`--prompt-ids must be a comma-separated list of token ids (integers >= 0), got '${value}'`);
  }
  return ids;
}

/** Every flag checked, nothing loaded: a UsageError (exit 2) names the first bad flag. */
export function parseGenerateArgs(argv: readonly string[]): GenerateArgs | 'help' {
  let parsed: { values: Record<string, unknown>; tokens: { kind: string; name?: string; value?: string }[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
      tokens: true,
    }) as never;
  } catch (err) {
    // node's messages may span lines (e.g. a negative value read as a flag): keep it to one.
    throw new UsageError((err as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const s = (k: string) => v[k] as string | undefined;
  const model = s('model');
  if (model === undefined || model === '')
    throw new UsageError('--model is required: a model folder (make one with flashgraph make-tiny-model DIR)');
  // The prompts in command-line order, whatever their flag.
  const prompts: PromptSpec[] = [];
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (token.name === 'prompt' || token.name === 'chat') {
      if (token.value === '') throw new UsageError(`--${token.name} is empty`);
      prompts.push({ kind: token.name === 'prompt' ? 'text' : 'chat', text: token.value });
    } else if (token.name === 'prompt-ids') {
      prompts.push({ kind: 'ids', ids: parsePromptIds(token.value) });
    }
  }
  if (prompts.length === 0)
    throw new UsageError('a prompt is required: --prompt TEXT, --prompt-ids 1,2,3 or --chat TEXT');
  const maxNewTokens = parseIntFlag('max-new-tokens', s('max-new-tokens'), 32, 1, 1 << 24);
  const topK = parseIntFlag('top-k', s('top-k'), 0, 0);
  const seed = s('seed') === undefined ? undefined : parseIntFlag('seed', s('seed'), 0, 0, 2 ** 32 - 1);
  const raw = { temperature: s('temperature'), topP: s('top-p') };
  const temperature = parseNumberFlag('temperature', raw.temperature);
  const topP = parseNumberFlag('top-p', raw.topP);
  // The engine's own checks, so the CLI accepts exactly what addRequest does.
  let sampling: ReturnType<typeof checkSamplingOptions>;
  try {
    sampling = checkSamplingOptions({ temperature, topK, topP, seed }, 'flags');
  } catch (err) {
    const e = err as { path?: string; allowed?: string; value?: unknown };
    const key = (e.path ?? '').replace(/^flags\./, '');
    const flag = FLAG_OF[key] ?? key;
    const given = key === 'temperature' ? raw.temperature : key === 'topP' ? raw.topP : String(e.value);
    throw new UsageError(`${flag} must be a ${e.allowed ?? 'valid value'}, got '${given}'`);
  }
  const backend = parseBackend(s('backend'));
  const mode = s('graph-mode');
  if (mode !== undefined && !(graphModes as readonly string[]).includes(mode)) {
    throw new UsageError(`--graph-mode must be one of ${graphModes.join(', ')}, got '${mode}'`);
  }
  return {
    model,
    prompts,
    maxNewTokens,
    temperature: sampling.temperature,
    topK: sampling.topK,
    topP: sampling.topP,
    seed,
    backend,
    graphMode: mode as GraphMode | undefined,
    json: v.json === true,
    logprobs: v.logprobs === true,
  };
}

const BLOCK_SIZE = 16;

export const generateCommand: CliCommand = {
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const args = parseGenerateArgs(argv);
    if (args === 'help') {
      io.stdout(GENERATE_HELP);
      return EXIT_OK;
    }
    const { resolve } = await import('node:path');
    const { statSync } = await import('node:fs');
    const dir = resolve(io.cwd, args.model);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new UsageError(`--model must be a model folder, and '${args.model}' is not a folder`);
    }
    const { loadHfModel } = await import('@flashgraph/models');
    const loadStart = performance.now();
    // With --json stderr stays quiet too (the summary is in the JSON).
    const line = progressLine(args.json ? { write: () => {} } : (io.progress ?? { write: () => {} }));
    const model = await loadHfModel(dir, { onProgress: weightProgress(line, 'loading weights') });
    try {
      return await generateWith(model, args, io, loadStart, line);
    } finally {
      await model.close();
    }
  },
};

type HfModel = Awaited<ReturnType<typeof import('@flashgraph/models')['loadHfModel']>>;

/** The prompts as token ids, checked against the model before the engine is created. */
function promptTokenIds(model: HfModel, prompts: readonly PromptSpec[]): number[][] {
  const vocab = model.shape.vocabSize;
  return prompts.map((p) => {
    if (p.kind === 'ids') {
      const bad = p.ids.find((id) => id >= vocab);
      if (bad !== undefined)
        throw new UsageError(`--prompt-ids: token id ${bad} is outside the model's vocabulary [0, ${vocab - 1}]`);
      return [...p.ids];
    }
    const flag = p.kind === 'chat' ? '--chat' : '--prompt';
    if (!model.tokenizer) throw new UsageError(`${flag} needs a tokenizer.json in the model folder; use --prompt-ids`);
    const ids =
      p.kind === 'chat'
        ? model.tokenizer.encodeChat([{ role: 'user', content: p.text }])
        : model.tokenizer.encode(p.text);
    if (ids.length === 0) throw new UsageError(`${flag} '${p.text}' encodes to no tokens`);
    return ids;
  });
}

// A prompt that stopped with an error (finishReason 'error': non-finite logits) fails the command:
// its text is cut short, and a script must not take it for a finished generation.
function exitCodeOf(outputs: Iterable<RequestOutput>): number {
  for (const out of outputs) if (out.finishReason === 'error') return EXIT_FAILURE;
  return EXIT_OK;
}

// A request uses prompt + maxNewTokens - 1 positions (the last token is never fed back): more
// than the model's max_position_embeddings is a usage error naming the flag, before any work.
function checkPositions(model: HfModel, prompts: readonly (readonly number[])[], maxNewTokens: number): void {
  const maxPositions = model.shape.maxPositions;
  if (maxPositions === undefined || maxPositions === null) return;
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + maxNewTokens - 1 <= maxPositions) return;
  if (longest > maxPositions) {
    throw new UsageError(
      `the prompt has ${longest} tokens, more than the model's max_position_embeddings (${maxPositions})`,
    );
  }
  throw new UsageError(
    `--max-new-tokens ${maxNewTokens} with a ${longest}-token prompt needs ${longest + maxNewTokens - 1} positions; ` +
      `the model has ${maxPositions} (max_position_embeddings): use --max-new-tokens <= ${maxPositions - longest + 1}`,
  );
}

// The KV cache generate sizes for the prompts and --max-new-tokens past what the backend holds:
// the engine's error names its own option; the user set --max-new-tokens.
function cacheTooSmall(error: unknown, maxNewTokens: number): UsageError | undefined {
  if (!(error instanceof InvalidArgumentError)) return undefined;
  if (error.path !== 'options.cache.numBlocks' && error.path !== 'options.limits.maxModelLen') return undefined;
  return new UsageError(
    `--max-new-tokens ${maxNewTokens} with these prompts needs more KV cache than this backend holds (${error.message})`,
  );
}

async function generateWith(
  model: HfModel,
  args: GenerateArgs,
  io: CliIo,
  loadStart: number,
  line: ProgressLine,
): Promise<number> {
  const prompts = promptTokenIds(model, args.prompts);
  const onCuda = args.backend === 'cuda' || (args.backend === 'auto' && cudaUnavailableReason(model, 0) === null);
  // CPU "graphs" replay the same closures: capturing them costs forward passes and saves nothing.
  const mode: GraphMode = args.graphMode ?? (onCuda ? 'full_and_piecewise' : 'none');
  const lengths = prompts.map((p) => p.length + args.maxNewTokens);
  checkPositions(model, prompts, args.maxNewTokens);
  const numBlocks = lengths.reduce((n, len) => n + Math.ceil(len / BLOCK_SIZE), 0);
  const maxNumSeqs = prompts.length;
  const engine: Engine = await createEngine({
    model,
    backend: args.backend,
    graph: { mode },
    cache: { blockSize: BLOCK_SIZE, numBlocks },
    limits: {
      maxNumSeqs,
      maxNumBatchedTokens: Math.max(
        maxNumSeqs,
        Math.min(
          512,
          prompts.reduce((n, p) => n + p.length, 0),
        ),
      ),
      maxModelLen: Math.max(...lengths) - 1,
    },
    onProgress: engineProgress(line, 'generate'),
  }).catch((error: unknown) => {
    throw cacheTooSmall(error, args.maxNewTokens) ?? error;
  });
  try {
    const loadMs = performance.now() - loadStart;
    const ids = prompts.map((promptTokens) =>
      engine.addRequest({
        promptTokens,
        maxNewTokens: args.maxNewTokens,
        temperature: args.temperature,
        topK: args.topK,
        topP: args.topP,
        ...(args.seed === undefined ? {} : { seed: args.seed }),
      }),
    );
    const tokenizer = model.tokenizer;
    const decodable = (id: number) => tokenizer !== null && id < tokenizer.vocabSize;
    const textOf = (tokens: readonly number[]) =>
      tokenizer ? tokenizer.decode(tokens.filter(decodable), { skipSpecialTokens: true }) : null;
    // A single prompt streams: each step's token goes through an incremental detokenizer, which
    // holds back half of a multi-byte character until the rest arrives.
    const stream = !args.json && prompts.length === 1 && tokenizer !== null;
    const detokenizer = stream ? tokenizer.createDetokenizer({ skipSpecialTokens: true }) : null;
    let streamed = '';
    const emit = (text: string) => {
      if (text === '') return;
      if (io.write) io.write(text);
      else streamed += text;
    };

    const start = performance.now();
    const firstTokenMs = new Map<number, number>();
    const doneMs = new Map<number, number>();
    const outputs = new Map<number, RequestOutput>();
    while (engine.numWaiting + engine.numRunning > 0) {
      const step = await engine.step();
      const now = performance.now() - start;
      for (const s of step.sampled) {
        if (!firstTokenMs.has(s.id)) firstTokenMs.set(s.id, now);
        if (detokenizer && decodable(s.token)) emit(detokenizer.push(s.token));
      }
      for (const f of step.finished) {
        outputs.set(f.id, f);
        doneMs.set(f.id, now);
      }
      if (step.mode === 'idle') break;
    }
    if (detokenizer) emit(detokenizer.flush());

    if (args.json) {
      for (const [i, id] of ids.entries()) {
        const out = outputs.get(id) as RequestOutput;
        const generateMs = doneMs.get(id) ?? 0;
        const line: GenerateJsonLine = {
          schemaVersion: GENERATE_SCHEMA_VERSION,
          model: model.name,
          backend: engine.backend,
          promptTokenIds: prompts[i] as number[],
          tokenIds: [...out.outputTokens],
          text: textOf(out.outputTokens),
          ...(args.logprobs ? { logprobs: [...out.logprobs] } : {}),
          finishReason: out.finishReason,
          ...(out.error === undefined ? {} : { error: out.error.message }),
          seed: out.seed,
          timings: {
            loadMs,
            captureMs: engine.capture.ms,
            firstTokenMs: firstTokenMs.get(id) ?? 0,
            generateMs,
            outputTokensPerSecond: generateMs > 0 ? (1000 * out.outputTokens.length) / generateMs : 0,
          },
        };
        io.stdout(JSON.stringify(line));
      }
      return exitCodeOf(outputs.values());
    }

    const elapsed = performance.now() - start;
    let tokens = 0;
    for (const [i, id] of ids.entries()) {
      const out = outputs.get(id) as RequestOutput;
      tokens += out.outputTokens.length;
      if (stream) {
        if (!io.write) io.stdout(streamed);
        else io.write('\n');
      } else {
        io.stdout(`[${i}] ${textOf(out.outputTokens) ?? `token ids: ${out.outputTokens.join(',')}`}`);
      }
      if (args.logprobs) io.stdout(`[${i}] logprobs: ${out.logprobs.map((l) => l.toFixed(4)).join(' ')}`);
      io.stderr(`[${i}] ${out.outputTokens.length} tokens, finish: ${out.finishReason}, seed ${out.seed}`);
      if (out.error) io.stderr(`[${i}] failed: ${out.error.message}`);
    }
    io.stderr(
      `${model.name} on ${engine.backend} (graph mode ${mode}): ${tokens} tokens in ${(elapsed / 1000).toFixed(2)} s ` +
        `(${elapsed > 0 ? ((1000 * tokens) / elapsed).toFixed(1) : '0'} tok/s), load ${(loadMs / 1000).toFixed(2)} s`,
    );
    return exitCodeOf(outputs.values());
  } finally {
    engine.dispose();
  }
}
