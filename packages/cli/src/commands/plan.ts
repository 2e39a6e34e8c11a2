// `flashgraph plan`: flags and config file -> resolveGraphConfig -> the capture plan.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  cudagraphSupportLevels,
  type GraphConfigContext,
  type GraphConfigInput,
  graphModes,
} from '@flashgraph/config';
import { formatValue, InvalidArgumentError } from '@flashgraph/errors';
import { type CliCommand, type CliIo, EXIT_OK, EXIT_USAGE, parseArgsUsageError, UsageError } from '../command.js';
import { buildCapturePlan, capturePlanJson, formatCapturePlan } from '../plan.js';

/** `plan --json`'s format version: bumped when a field changes meaning or goes away. */
export const PLAN_SCHEMA_VERSION = 1;

const DEFAULTS = { maxNumSeqs: 256, maxNumBatchedTokens: 8192, numHeadsQ: 32, headDim: 128 } as const;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  mode: { type: 'string' },
  'capture-sizes': { type: 'string' },
  'max-capture-size': { type: 'string' },
  'max-num-splits': { type: 'string' },
  'num-warmups': { type: 'string' },
  'full-cuda-graph': { type: 'boolean' },
  'max-num-seqs': { type: 'string' },
  'max-num-batched-tokens': { type: 'string' },
  'uniform-decode-query-len': { type: 'string' },
  'cudagraph-support': { type: 'string' },
  'no-aot-scheduling': { type: 'boolean' },
  'max-aot-batch': { type: 'string' },
  'no-piecewise': { type: 'boolean' },
  'num-heads-q': { type: 'string' },
  'head-dim': { type: 'string' },
  'max-num-tokens': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const PLAN_HELP = `Usage: flashgraph plan [options]

Resolves a CUDA graph configuration with @flashgraph/config and prints the capture plan: the mode
after resolution, each warning, the capture sizes, the padding waste of uniformly distributed batch
sizes, and the split-KV workspace for a model shape. Exit code 2 on invalid input.

Graph configuration (flags override the config file):
  -c, --config <file.json>         JSON config file (schema: graphConfigJsonSchema)
      --mode <mode>                ${graphModes.join(' | ')} (default full_and_piecewise)
      --capture-sizes <1,2,4,...>  token counts to capture (default: vLLM's ladder)
      --max-capture-size <n>       largest capture size
      --max-num-splits <n>         KV split bound, 1..256 (default 32)
      --num-warmups <n>            eager runs per size before capture (default 1)
      --full-cuda-graph            deprecated: same as --mode full

Runtime and backend (the context):
      --max-num-seqs <n>           most requests per step (default ${DEFAULTS.maxNumSeqs})
      --max-num-batched-tokens <n> most tokens per step (default ${DEFAULTS.maxNumBatchedTokens})
      --uniform-decode-query-len <n>  1 + speculative tokens (default 1)
      --cudagraph-support <level>  ${cudagraphSupportLevels.join(' | ')} (default always)
      --no-aot-scheduling          the backend has no AoT scheduling
      --max-aot-batch <n>          the backend's AoT batch limit (strict mode)
      --no-piecewise               the runtime cannot capture piecewise graphs

Model shape (split-KV workspace):
      --num-heads-q <n>            query heads (default ${DEFAULTS.numHeadsQ})
      --head-dim <n>               head dimension (default ${DEFAULTS.headDim})
      --max-num-tokens <n>         tokens the workspace holds (default: max-num-batched-tokens)

Output:
      --json                       print the resolved config (plus a "plan" key) as JSON
  -h, --help                       show this help`;

/** Which flag sets which config path, for the error report (read with Object.hasOwn only). */
const FLAG_FOR_PATH: Readonly<Record<string, string>> = {
  mode: '--mode',
  captureSizes: '--capture-sizes',
  maxCaptureSize: '--max-capture-size',
  maxNumSplits: '--max-num-splits',
  numWarmups: '--num-warmups',
  fullCudaGraph: '--full-cuda-graph',
  'context.maxNumSeqs': '--max-num-seqs',
  'context.maxNumBatchedTokens': '--max-num-batched-tokens',
  'context.uniformDecodeQueryLen': '--uniform-decode-query-len',
  'context.backend.cudagraphSupport': '--cudagraph-support',
  'context.backend.aotScheduling': '--no-aot-scheduling',
  'context.backend.maxAotBatch': '--max-aot-batch',
  'context.supportsPiecewise': '--no-piecewise',
};

/** A number when the text is one; otherwise the text, so the config report shows what was typed. */
function numberOrText(text: string): number | string {
  // Plain decimals only: Number() would also read '0x10', '1e3' and '' as numbers.
  return /^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text;
}

/**
 * The largest max capture size `plan` resolves. @flashgraph/config builds the default capture
 * sizes up to it (one per 16 tokens): 2^31 exhausts the heap and kills the process, 2^24 takes a
 * quarter of a second. A guard for the CLI until the library bounds it itself.
 */
const MAX_PLANNED_CAPTURE_SIZE = 2 ** 24;

function checkPlannableSize(input: GraphConfigInput, fromFile: boolean): void {
  const value = (input as { maxCaptureSize?: unknown }).maxCaptureSize;
  if (typeof value === 'number' && value > MAX_PLANNED_CAPTURE_SIZE) {
    throw new UsageError({
      flag: fromFile ? '--max-capture-size (or maxCaptureSize in --config)' : '--max-capture-size',
      problem: 'too large to plan',
      value,
      allowed: `<= ${MAX_PLANNED_CAPTURE_SIZE}`,
    });
  }
}

function positiveIntegerFlag(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = numberOrText(text);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError({ flag: `--${flag}`, problem: 'must be a positive integer', value: text });
  }
  return value;
}

function readConfigFile(path: string, cwd: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError({ flag: '--config', problem: `cannot read ${path}: ${reason}` });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError({ flag: '--config', problem: `${path} is not valid JSON: ${(error as Error).message}` });
  }
}

type Values = ReturnType<typeof parse>['values'];

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
  } catch (error) {
    throw parseArgsUsageError(error as Error);
  }
}

/** The graph config input: the config file, then flags on top. Values are passed through unvalidated. */
function inputFrom(values: Values, cwd: string): GraphConfigInput {
  const input: Record<string, unknown> = Object.create(null);
  if (values.config !== undefined) {
    const file = readConfigFile(values.config, cwd);
    // A non-object file is reported by resolveGraphConfig ("(config) must be an object").
    if (file === null || typeof file !== 'object' || Array.isArray(file)) return file as GraphConfigInput;
    // Own keys only, onto an object without a prototype: JSON.parse makes "__proto__" an own key,
    // and Object.assign onto a plain object would turn it into the prototype, so the library
    // would read its keys as options ({"__proto__": {"mode": "none"}} ran in mode none).
    for (const key of Object.keys(file)) {
      Object.defineProperty(input, key, {
        value: (file as Record<string, unknown>)[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  if (values.mode !== undefined) input.mode = values.mode;
  if (values['capture-sizes'] !== undefined) {
    const text = values['capture-sizes'].trim();
    input.captureSizes = text === '' ? [] : text.split(',').map((part) => numberOrText(part.trim()));
  }
  if (values['max-capture-size'] !== undefined) input.maxCaptureSize = numberOrText(values['max-capture-size']);
  if (values['max-num-splits'] !== undefined) input.maxNumSplits = numberOrText(values['max-num-splits']);
  if (values['num-warmups'] !== undefined) input.numWarmups = numberOrText(values['num-warmups']);
  if (values['full-cuda-graph']) input.fullCudaGraph = true;
  return input as GraphConfigInput;
}

function contextFrom(values: Values): GraphConfigContext {
  const context: Record<string, unknown> = {
    maxNumSeqs: values['max-num-seqs'] === undefined ? DEFAULTS.maxNumSeqs : numberOrText(values['max-num-seqs']),
    maxNumBatchedTokens:
      values['max-num-batched-tokens'] === undefined
        ? DEFAULTS.maxNumBatchedTokens
        : numberOrText(values['max-num-batched-tokens']),
  };
  if (values['uniform-decode-query-len'] !== undefined) {
    context.uniformDecodeQueryLen = numberOrText(values['uniform-decode-query-len']);
  }
  const backend: Record<string, unknown> = {
    cudagraphSupport: values['cudagraph-support'] ?? 'always',
    aotScheduling: !values['no-aot-scheduling'],
  };
  if (values['max-aot-batch'] !== undefined) backend.maxAotBatch = numberOrText(values['max-aot-batch']);
  context.backend = backend;
  if (values['no-piecewise']) context.supportsPiecewise = false;
  return context as unknown as GraphConfigContext;
}

/** `captureSizes[2] = 0: must be ... (fix: ...)`, one issue of a ConfigError on one line. */
function issueText(issue: ConfigError['issues'][number]): string {
  const path = issue.path === '' ? '(config)' : issue.path;
  const flag = Object.hasOwn(FLAG_FOR_PATH, issue.path.replace(/\[\d+\]$/, ''))
    ? ` (${FLAG_FOR_PATH[issue.path.replace(/\[\d+\]$/, '')]})`
    : '';
  return `${path}${flag} = ${formatValue(issue.value)}: ${issue.rule}; fix: ${issue.fix}`;
}

/** Every problem of the configuration, on one line (flags name the option they set). */
function reportConfigError(error: ConfigError, json: boolean, io: CliIo): number {
  const count = error.issues.length;
  io.stderr(
    `flashgraph plan: invalid configuration (${count} problem${count === 1 ? '' : 's'}): ${error.issues.map(issueText).join(' | ')}`,
  );
  if (json) {
    io.stdout(
      JSON.stringify(
        { schemaVersion: PLAN_SCHEMA_VERSION, error: { code: error.code, issues: error.issues } },
        null,
        2,
      ),
    );
  }
  return EXIT_USAGE;
}

export const planCommand: CliCommand = {
  run(argv, io) {
    const { values } = parse(argv);
    if (values.help) {
      io.stdout(PLAN_HELP);
      return EXIT_OK;
    }
    const shape = {
      numHeadsQ: positiveIntegerFlag('num-heads-q', values['num-heads-q'], DEFAULTS.numHeadsQ),
      headDim: positiveIntegerFlag('head-dim', values['head-dim'], DEFAULTS.headDim),
      ...(values['max-num-tokens'] === undefined
        ? {}
        : { maxNumTokens: positiveIntegerFlag('max-num-tokens', values['max-num-tokens'], 0) }),
    };
    const input = inputFrom(values, io.cwd);
    if (input !== null && typeof input === 'object') checkPlannableSize(input, values.config !== undefined);
    const context = contextFrom(values);
    let plan: ReturnType<typeof buildCapturePlan>;
    try {
      plan = buildCapturePlan(input, context, shape);
    } catch (error) {
      if (error instanceof ConfigError) return reportConfigError(error, values.json === true, io);
      // The config is valid at this point; what is left is the model shape (e.g. an overflowing workspace).
      if (error instanceof InvalidArgumentError || error instanceof RangeError || error instanceof TypeError) {
        throw new UsageError({ flag: '--num-heads-q/--head-dim/--max-num-tokens', problem: error.message });
      }
      throw error;
    }
    io.stdout(
      values.json
        ? JSON.stringify({ schemaVersion: PLAN_SCHEMA_VERSION, ...capturePlanJson(plan) }, null, 2)
        : formatCapturePlan(plan),
    );
    return EXIT_OK;
  },
};
