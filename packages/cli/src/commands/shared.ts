// Helpers shared by `flashgraph doctor`, `bench` and `simulate`: flag parsing, the backend a
// command will run on, the model it benchmarks, and a one-line description of the machine.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { cudaStatus } from '@flashgraph/cuda';
import {
  type BackendKind,
  type BackendRequest,
  cudaUnavailableReason,
  type Model,
  type SyntheticDecoderOptions,
  syntheticDecoder,
} from '@flashgraph/engine';
import { FlashgraphError, InvalidArgumentError, intRangeText } from '@flashgraph/errors';
import { type CliIo, parseArgsUsageError, UsageError } from '../command.js';

export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * Parses a command's flags strictly (an unknown flag is a UsageError, exit code 2); prints `help`
 * and returns undefined when --help is given.
 */
export function parseCommandFlags(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  help: string,
  io: CliIo,
): FlagValues | undefined {
  let values: FlagValues;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }) as {
      values: FlagValues;
    });
  } catch (err) {
    throw parseArgsUsageError(err as Error);
  }
  if (values.help) {
    io.stdout(help);
    return undefined;
  }
  return values;
}

/**
 * An output file flag (`--chart out.svg`): resolved against `cwd` and checked before any work,
 * so a bad path fails at once instead of after a long benchmark. Undefined when not given.
 */
export function outputFileFlag(name: string, value: string | undefined, cwd: string): string | undefined {
  if (value === undefined) return undefined;
  const flag = `--${name}`;
  if (value.trim() === '') throw new UsageError({ flag, problem: 'needs a file path', value });
  const path = resolve(cwd, value);
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new UsageError({ flag, problem: 'is a directory, not a file', value });
  const folder = dirname(path);
  const parent = statSync(folder, { throwIfNoEntry: false });
  if (!parent?.isDirectory()) {
    throw new UsageError({ flag, problem: `folder ${folder} does not exist`, value, fix: 'Create it first.' });
  }
  try {
    accessSync(existing ? path : folder, constants.W_OK);
  } catch {
    throw new UsageError({ flag, problem: `${existing ? path : folder} is not writable`, value });
  }
  return path;
}

/** The backend a model command will run on, and its synthetic model, from the common flags. */
export function backendAndModel(values: FlagValues): {
  request: BackendRequest;
  planned: ReturnType<typeof plannedBackend>;
  gpu: boolean;
  modelOptions: SyntheticDecoderOptions;
  model: Model;
} {
  const s = (k: string) => values[k] as string | undefined;
  const request = parseBackend(s('backend'));
  const planned = plannedBackend(request);
  // Say so before printing a header or starting anything (the engine would throw the same later).
  if (request === 'cuda' && planned.why !== null) {
    throw new FlashgraphError({
      code: 'backend_unavailable',
      problem: `backend 'cuda' is not available: ${planned.why}`,
      fix: 'Use --backend auto or cpu.',
    });
  }
  const gpu = planned.kind === 'cuda';
  const modelOptions = modelOptionsFor(planned.kind, {
    layers: s('layers'),
    headsQ: s('heads-q'),
    headsKv: s('heads-kv'),
    headDim: s('head-dim'),
  });
  let model: Model;
  try {
    model = syntheticDecoder(modelOptions);
  } catch (err) {
    // modelOptionsFor checks what the flags can get wrong; this is a net for a rule it misses.
    throw new UsageError({ flag: '--layers/--heads-q/--heads-kv/--head-dim', problem: (err as Error).message });
  }
  return { request, planned, gpu, modelOptions, model };
}

export function parseIntFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max = 2 ** 31 - 1,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError({
      flag: `--${name}`,
      problem: 'must be an integer',
      value,
      allowed: intRangeText({ min, max }),
    });
  }
  return n;
}

export function parseIntList(
  name: string,
  value: string | undefined,
  fallback: readonly number[],
  min: number,
  max: number,
): number[] {
  if (value === undefined) return [...fallback];
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) {
    throw new UsageError({ flag: `--${name}`, problem: 'needs a comma-separated list, e.g. 1,8,32', value });
  }
  const out = parts.map((p) => parseIntFlag(name, p, 0, min, max));
  return [...new Set(out)].sort((a, b) => a - b);
}

export function parseChoiceList<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: readonly T[],
): T[] {
  if (value === undefined) return [...fallback];
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const allowedText = allowed.join(', ');
  for (const p of parts) {
    if (!(allowed as readonly string[]).includes(p))
      throw new UsageError({ flag: `--${name}`, problem: 'unknown choice', value: p, allowed: allowedText });
  }
  if (parts.length === 0) {
    throw new UsageError({ flag: `--${name}`, problem: 'needs at least one choice', value, allowed: allowedText });
  }
  return [...new Set(parts)] as T[];
}

export function parseBackend(value: string | undefined): BackendRequest {
  const v = value ?? 'auto';
  if (v !== 'auto' && v !== 'cuda' && v !== 'cpu')
    throw new UsageError({ flag: '--backend', problem: 'unknown backend', value: v, allowed: 'auto, cuda, cpu' });
  return v;
}

/** The backend a command will get, decided before choosing sizes (CPU runs get a small model). */
export function plannedBackend(request: BackendRequest): { kind: BackendKind; why: string | null } {
  if (request === 'cpu') return { kind: 'cpu', why: '--backend cpu was given' };
  const why = cudaUnavailableReason(syntheticDecoder(), 0);
  if (request === 'cuda' || why === null) return { kind: 'cuda', why };
  return { kind: 'cpu', why };
}

/** The synthetic model: Llama-8B-like attention on CUDA, a small one on the CPU backend. */
export function modelOptionsFor(
  kind: BackendKind,
  flags: { layers?: string; headsQ?: string; headsKv?: string; headDim?: string },
): SyntheticDecoderOptions {
  const gpu = kind === 'cuda';
  const headDim = parseIntFlag('head-dim', flags.headDim, gpu ? 128 : 64, 64, 256);
  if (![64, 128, 256].includes(headDim)) {
    throw new UsageError({
      flag: '--head-dim',
      problem: 'unsupported head dimension',
      value: headDim,
      allowed: '64, 128, 256',
    });
  }
  const numHeadsQ = parseIntFlag('heads-q', flags.headsQ, gpu ? 32 : 4, 1, 1024);
  const numHeadsKv = parseIntFlag('heads-kv', flags.headsKv, gpu ? 8 : 2, 1, 1024);
  // Grouped-query attention: every KV head serves the same number of query heads.
  if (numHeadsKv > numHeadsQ || numHeadsQ % numHeadsKv !== 0) {
    throw new UsageError({
      flag: '--heads-kv',
      problem: `must divide the ${numHeadsQ} query heads (--heads-q)`,
      value: numHeadsKv,
      allowed: `a divisor of ${numHeadsQ}`,
    });
  }
  return {
    numLayers: parseIntFlag('layers', flags.layers, gpu ? 32 : 2, 1, 1024),
    numHeadsQ,
    numHeadsKv,
    headDim,
    vocabSize: gpu ? 32000 : 1024,
  };
}

/** The precision the kernels of `backend` compute in: the CPU backend's reference kernels are fp32. */
export function computeDtype(o: SyntheticDecoderOptions, backend: BackendKind): string {
  return backend === 'cpu' ? 'fp32 CPU kernels' : (o.dtype ?? 'bf16');
}

export function describeModel(o: SyntheticDecoderOptions, backend: BackendKind): string {
  return `synthetic decoder, ${o.numLayers} layers, ${o.numHeadsQ}/${o.numHeadsKv} heads x ${o.headDim}, ${computeDtype(o, backend)}`;
}

function cudaVersion(v: number | undefined): string {
  if (!v) return '?';
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/** "NVIDIA H100 80GB HBM3 (cc 9.0), driver CUDA 13.0, runtime 13.0" or the CPU. */
export function describeMachine(kind: BackendKind): string {
  if (kind === 'cpu') return `CPU backend (fp32 reference kernels), node ${process.version}`;
  const s = cudaStatus();
  const d = s.devices[0];
  return `${d ? `${d.name} (cc ${d.computeCapability})` : 'CUDA device'}, driver CUDA ${cudaVersion(s.driverVersion)}, runtime ${cudaVersion(s.runtimeVersion)}`;
}

/** The first sentence of a (possibly long) reason, parentheses balanced. */
export function shortReason(reason: string): string {
  const cut = reason.indexOf('. ');
  let s = cut < 0 ? reason : reason.slice(0, cut);
  const open = (s.match(/\(/g) ?? []).length - (s.match(/\)/g) ?? []).length;
  if (open > 0) s += ')'.repeat(open);
  return s;
}

export function cpuNotice(why: string | null): string {
  return (
    `NOTE: running on the CPU backend${why ? ` (${shortReason(why)})` : ''}, with a small model. CPU timings ` +
    'show the engine working end to end; they say nothing about what CUDA graphs buy on a GPU. ' +
    "Run on an NVIDIA Hopper GPU for real numbers ('flashgraph doctor' says what is missing)."
  );
}

/**
 * An option check's error: the kit's InvalidArgumentError, or any typed error naming an option path
 * (ConfigError, MetadataError and the like, raised while the engine validates its sizes).
 */
function isOptionError(err: unknown): err is Error {
  if (err instanceof InvalidArgumentError) return true;
  const e = err as { code?: unknown; path?: unknown } | null;
  return err instanceof Error && typeof e?.code === 'string' && typeof e.path === 'string';
}

/**
 * Runs `start` (creating engines from flag values) and reports an option the engine rejects (an
 * InvalidArgumentError, thrown before it allocates anything) as a usage error naming `flags`:
 * the limits the engine checks (cache slots within int32, lengths within the cache) depend on
 * several flags at once, and the engine is the one place that knows them.
 */
export async function engineOptionsFromFlags<T>(flags: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (isOptionError(err)) {
      throw new UsageError({
        flag: flags,
        problem: `the engine rejects these sizes: ${err.message.replace(/\s*\n\s*/g, ' ')}`,
        cause: err,
      });
    }
    throw err;
  }
}
