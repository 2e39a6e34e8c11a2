// Helpers shared by `flashgraph doctor`, `bench` and `simulate`: flag parsing, the backend a
// command will run on, the model it benchmarks, and a one-line description of the machine.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { cudaStatus } from '@flashgraph/cuda';
import {
  type BackendKind,
  type BackendRequest,
  cudaUnavailableReason,
  type SyntheticDecoderOptions,
  syntheticDecoder,
} from '@flashgraph/engine';
import { type CliIo, UsageError } from '../command.js';

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
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout(help);
    return undefined;
  }
  return values;
}

/** The backend a model command will run on, and its synthetic model options, from the common flags. */
export function backendAndModel(values: FlagValues): {
  request: BackendRequest;
  planned: ReturnType<typeof plannedBackend>;
  gpu: boolean;
  modelOptions: SyntheticDecoderOptions;
} {
  const s = (k: string) => values[k] as string | undefined;
  const request = parseBackend(s('backend'));
  const planned = plannedBackend(request);
  const gpu = planned.kind === 'cuda';
  const modelOptions = modelOptionsFor(planned.kind, {
    layers: s('layers'),
    headsQ: s('heads-q'),
    headsKv: s('heads-kv'),
    headDim: s('head-dim'),
  });
  return { request, planned, gpu, modelOptions };
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
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${value}'`);
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
  if (parts.length === 0) throw new UsageError(`--${name} needs a comma-separated list, e.g. 1,8,32`);
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
  for (const p of parts) {
    if (!(allowed as readonly string[]).includes(p))
      throw new UsageError(`--${name}: '${p}' is not one of ${allowed.join(', ')}`);
  }
  if (parts.length === 0) throw new UsageError(`--${name} needs at least one of ${allowed.join(', ')}`);
  return [...new Set(parts)] as T[];
}

export function parseBackend(value: string | undefined): BackendRequest {
  const v = value ?? 'auto';
  if (v !== 'auto' && v !== 'cuda' && v !== 'cpu')
    throw new UsageError(`--backend must be auto, cuda or cpu, got '${v}'`);
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
  if (![64, 128, 256].includes(headDim)) throw new UsageError(`--head-dim must be 64, 128 or 256, got ${headDim}`);
  return {
    numLayers: parseIntFlag('layers', flags.layers, gpu ? 32 : 2, 1, 1024),
    numHeadsQ: parseIntFlag('heads-q', flags.headsQ, gpu ? 32 : 4, 1, 1024),
    numHeadsKv: parseIntFlag('heads-kv', flags.headsKv, gpu ? 8 : 2, 1, 1024),
    headDim,
    vocabSize: gpu ? 32000 : 1024,
  };
}

export function describeModel(o: SyntheticDecoderOptions): string {
  return `synthetic decoder, ${o.numLayers} layers, ${o.numHeadsQ}/${o.numHeadsKv} heads x ${o.headDim}, ${o.dtype ?? 'bf16'}`;
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
