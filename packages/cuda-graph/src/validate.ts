// Argument checks done before any GPU work; each error names the argument and its allowed range.
import type { ResolvedGraphConfig } from '@flashgraph/config';
import type { CaptureBackend } from './capture-backend.js';
import type { RunBatch } from './types.js';

const MODES = new Set(['none', 'piecewise', 'full', 'full_decode_only', 'full_and_piecewise']);
const FULL_GRAPHS_FOR = new Set(['all', 'uniform_decode', 'none']);
const FIX = 'pass the object returned by resolveGraphConfig() from @flashgraph/config';

function isPositiveInt(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1;
}

/** A ResolvedGraphConfig is plain data; a hand-made or stale one is checked field by field. */
export function validateConfig(config: unknown): asserts config is ResolvedGraphConfig {
  if (config === null || typeof config !== 'object') {
    throw new TypeError(
      `config must be a ResolvedGraphConfig, got ${config === null ? 'null' : typeof config}; ${FIX}`,
    );
  }
  const c = config as Partial<Record<keyof ResolvedGraphConfig, unknown>>;
  if (typeof c.mode !== 'string' || !MODES.has(c.mode)) {
    throw new TypeError(`config.mode must be one of ${[...MODES].join(', ')}, got ${String(c.mode)}; ${FIX}`);
  }
  if (!Array.isArray(c.captureSizes)) {
    throw new TypeError(`config.captureSizes must be an array of token counts; ${FIX}`);
  }
  const sizes = c.captureSizes as unknown[];
  sizes.forEach((size, i) => {
    if (!isPositiveInt(size)) {
      throw new RangeError(`config.captureSizes[${i}] must be an integer >= 1, got ${String(size)}; ${FIX}`);
    }
    if (i > 0 && size <= (sizes[i - 1] as number)) {
      throw new RangeError(
        `config.captureSizes must be strictly ascending, got ${String(sizes[i - 1])} then ${size} at index ${i}; ${FIX}`,
      );
    }
  });
  const expectedMax = sizes.length === 0 ? 0 : (sizes[sizes.length - 1] as number);
  if (c.maxCaptureSize !== expectedMax) {
    throw new RangeError(
      `config.maxCaptureSize must equal the largest capture size (${expectedMax}), got ${String(c.maxCaptureSize)}; ${FIX}`,
    );
  }
  if (!Number.isInteger(c.numWarmups) || (c.numWarmups as number) < 0) {
    throw new RangeError(`config.numWarmups must be an integer >= 0, got ${String(c.numWarmups)}; ${FIX}`);
  }
  if (!isPositiveInt(c.uniformDecodeQueryLen)) {
    throw new RangeError(
      `config.uniformDecodeQueryLen must be an integer >= 1, got ${String(c.uniformDecodeQueryLen)}; ${FIX}`,
    );
  }
  if (typeof c.fullGraphsFor !== 'string' || !FULL_GRAPHS_FOR.has(c.fullGraphsFor)) {
    throw new TypeError(
      `config.fullGraphsFor must be 'all', 'uniform_decode' or 'none', got ${String(c.fullGraphsFor)}; ${FIX}`,
    );
  }
  if (typeof c.piecewise !== 'boolean') {
    throw new TypeError(`config.piecewise must be a boolean, got ${typeof c.piecewise}; ${FIX}`);
  }
}

export function validateMaxNumReqs(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!isPositiveInt(value)) {
    throw new RangeError(`maxNumReqs must be an integer >= 1 when given, got ${String(value)}`);
  }
  return value;
}

export function validateOnProgress(value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`onProgress must be a function when given, got ${typeof value}`);
  }
}

const BACKEND_METHODS = [
  'beginCapture',
  'endCapture',
  'isCapturing',
  'synchronize',
  'instantiate',
  'disposeGraph',
  'upload',
  'launch',
  'disposeExec',
  'graphMemory',
  'release',
] as const;

/** A CaptureBackend is checked member by member, so a missing method fails here, not mid-capture. */
export function validateBackend(backend: unknown): asserts backend is CaptureBackend<unknown> {
  if (backend === null || typeof backend !== 'object') {
    throw new TypeError(
      `backend must be a CaptureBackend { stream, ${BACKEND_METHODS.join(', ')} }, got ${backend === null ? 'null' : typeof backend}`,
    );
  }
  const b = backend as Record<string, unknown>;
  if (b.stream === undefined) {
    throw new TypeError('backend.stream must be the stream steps launch on (ctx.stream), got undefined');
  }
  for (const name of BACKEND_METHODS) {
    if (typeof b[name] !== 'function') {
      throw new TypeError(`backend.${name} must be a function, got ${b[name] === null ? 'null' : typeof b[name]}`);
    }
  }
}

/** Hot path of run(): plain comparisons, no allocation unless it throws. */
export function checkBatch(batch: RunBatch, uniformDecodeQueryLen: number, maxNumReqs: number | undefined): void {
  if (batch === null || typeof batch !== 'object') {
    throw new TypeError(
      `batch must be { numTokens, numReqs, uniformDecode }, got ${batch === null ? 'null' : typeof batch}`,
    );
  }
  const { numTokens, numReqs, uniformDecode } = batch;
  if (!Number.isInteger(numTokens) || numTokens < 1) {
    throw new RangeError(`batch.numTokens must be an integer >= 1, got ${String(numTokens)}`);
  }
  if (!Number.isInteger(numReqs) || numReqs < 1 || numReqs > numTokens) {
    throw new RangeError(`batch.numReqs must be an integer in [1, numTokens = ${numTokens}], got ${String(numReqs)}`);
  }
  if (maxNumReqs !== undefined && numReqs > maxNumReqs) {
    throw new RangeError(`batch.numReqs must be <= maxNumReqs (${maxNumReqs}), got ${numReqs}`);
  }
  if (typeof uniformDecode !== 'boolean') {
    throw new TypeError(`batch.uniformDecode must be a boolean, got ${typeof uniformDecode}`);
  }
  if (uniformDecode && numTokens !== numReqs * uniformDecodeQueryLen) {
    throw new RangeError(
      `batch.numTokens must equal numReqs * uniformDecodeQueryLen (${numReqs} * ${uniformDecodeQueryLen} = ${numReqs * uniformDecodeQueryLen}) for a uniform decode batch, got ${numTokens}`,
    );
  }
}
