// Argument checks done before any GPU work, through @flashgraph/errors' kit: each error names the
// argument and its allowed range. Options are read from own properties only.
import { graphConfigLimits, graphModeProperties, graphModes, type ResolvedGraphConfig } from '@flashgraph/config';
import {
  checkArray,
  checkFunction,
  checkInt,
  checkObject,
  checkOneOf,
  INT32_MAX,
  InvalidArgumentError,
  optional,
} from '@flashgraph/errors';
import type { CaptureBackend } from './capture-backend.js';
import type { CaptureProgress, RunBatch } from './types.js';

const FIX = 'Pass the object returned by resolveGraphConfig() from @flashgraph/config.';
const COUNT = { min: 1, max: INT32_MAX };

/**
 * A ResolvedGraphConfig is plain data; a hand-made or stale one is checked field by field. Returns
 * a frozen copy of the checked fields, which is what the runner plans from.
 */
export function validateConfig(config: unknown): ResolvedGraphConfig {
  let c: Readonly<Record<string, unknown>>;
  try {
    c = checkObject('options.config', config);
  } catch (error) {
    throw withFix(error);
  }
  try {
    const mode = checkOneOf('options.config.mode', c.mode, graphModes);
    const given = checkArray('options.config.captureSizes', c.captureSizes, {
      maxLength: graphConfigLimits.maxNumCaptureSizes,
    });
    const captureSizes: number[] = [];
    for (let i = 0; i < given.length; i++) {
      const size = checkInt(`options.config.captureSizes[${i}]`, given[i], COUNT);
      if (i > 0 && size <= captureSizes[i - 1]!) {
        throw new InvalidArgumentError({
          code: 'invalid_value',
          path: `options.config.captureSizes[${i}]`,
          value: size,
          allowed: `strictly ascending sizes (the previous one is ${captureSizes[i - 1]})`,
        });
      }
      captureSizes.push(size);
    }
    const largest = captureSizes.length === 0 ? 0 : captureSizes[captureSizes.length - 1]!;
    const maxCaptureSize = checkInt('options.config.maxCaptureSize', c.maxCaptureSize, { min: largest, max: largest });
    const maxNumBatchedTokens = checkInt('options.config.maxNumBatchedTokens', c.maxNumBatchedTokens, {
      min: Math.max(1, largest),
      max: INT32_MAX,
    });
    // fullGraphsFor and piecewise follow from the mode: a config where they disagree would capture
    // one mode's graphs while its stats report another's.
    const derived = graphModeProperties(mode);
    const fullGraphsFor = derivedField('fullGraphsFor', c.fullGraphsFor, derived.fullGraphsFor, mode);
    const piecewise = derivedField('piecewise', c.piecewise, derived.piecewise, mode);
    return Object.freeze({
      ...(c as unknown as ResolvedGraphConfig),
      mode,
      captureSizes: Object.freeze(captureSizes),
      maxCaptureSize,
      numWarmups: checkInt('options.config.numWarmups', c.numWarmups, { min: 0, max: graphConfigLimits.maxNumWarmups }),
      uniformDecodeQueryLen: checkInt('options.config.uniformDecodeQueryLen', c.uniformDecodeQueryLen, COUNT),
      maxNumSeqs: checkInt('options.config.maxNumSeqs', c.maxNumSeqs, COUNT),
      maxNumBatchedTokens,
      fullGraphsFor,
      piecewise,
    });
  } catch (error) {
    throw withFix(error);
  }
}

function derivedField<T extends string | boolean>(key: string, value: unknown, expected: T, mode: string): T {
  if (value === expected) return expected;
  throw new InvalidArgumentError({
    code: typeof value === typeof expected ? 'invalid_value' : 'invalid_type',
    path: `options.config.${key}`,
    value,
    allowed: `${JSON.stringify(expected)} (what mode ${JSON.stringify(mode)} captures)`,
  });
}

function withFix(error: unknown): unknown {
  if (!(error instanceof InvalidArgumentError) || error.fix !== undefined) return error;
  return new InvalidArgumentError({
    code: error.code,
    path: error.path ?? 'options.config',
    value: error.value,
    allowed: error.allowed ?? '',
    fix: FIX,
  });
}

export function validateMaxNumReqs(value: unknown): number | undefined {
  return optional(value, undefined, (v) => checkInt('options.maxNumReqs', v, COUNT));
}

export function validateOnProgress(value: unknown): ((event: CaptureProgress) => void) | undefined {
  return optional(value, undefined, (v) => checkFunction<(event: CaptureProgress) => void>('options.onProgress', v));
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
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'options.backend',
      value: backend,
      allowed: `a CaptureBackend { stream, ${BACKEND_METHODS.join(', ')} }`,
    });
  }
  // Methods may live on a class prototype: `in` and a typeof check, not own keys.
  const b = backend as Record<string, unknown>;
  if (b.stream === undefined) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'options.backend.stream',
      value: undefined,
      allowed: 'the stream steps launch on (ctx.stream)',
    });
  }
  for (const name of BACKEND_METHODS) checkFunction(`options.backend.${name}`, b[name]);
}

function batchError(code: 'invalid_type' | 'out_of_range', path: string, value: unknown, allowed: string): never {
  throw new InvalidArgumentError({ code, path, value, allowed });
}

/**
 * Hot path of run(): plain comparisons, no allocation unless it throws. A step above the token
 * limit (`options.config.maxNumBatchedTokens`) is an error, never a silent eager run.
 */
export function checkBatch(
  batch: RunBatch,
  uniformDecodeQueryLen: number,
  maxNumReqs: number | undefined,
  maxNumTokens: number,
): void {
  if (batch === null || typeof batch !== 'object') {
    batchError('invalid_type', 'batch', batch, '{ numTokens, numReqs, uniformDecode }');
  }
  const { numTokens, numReqs, uniformDecode } = batch;
  if (typeof numTokens !== 'number')
    batchError('invalid_type', 'batch.numTokens', numTokens, `integer in [1, ${maxNumTokens}]`);
  if (!Number.isInteger(numTokens) || numTokens < 1 || numTokens > maxNumTokens) {
    batchError('out_of_range', 'batch.numTokens', numTokens, `integer in [1, ${maxNumTokens}] (maxNumBatchedTokens)`);
  }
  const reqLimit = maxNumReqs === undefined || maxNumReqs > numTokens ? numTokens : maxNumReqs;
  if (typeof numReqs !== 'number' || !Number.isInteger(numReqs) || numReqs < 1 || numReqs > reqLimit) {
    // The message is built only on this failure path: run() allocates nothing for a good batch.
    const allowed = `integer in [1, ${reqLimit}] (numTokens${maxNumReqs === undefined ? '' : ' and maxNumReqs'})`;
    batchError(typeof numReqs !== 'number' ? 'invalid_type' : 'out_of_range', 'batch.numReqs', numReqs, allowed);
  }
  if (typeof uniformDecode !== 'boolean') batchError('invalid_type', 'batch.uniformDecode', uniformDecode, 'boolean');
  if (uniformDecode && numTokens !== numReqs * uniformDecodeQueryLen) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'batch.numTokens',
      value: numTokens,
      allowed: `numReqs * uniformDecodeQueryLen (${numReqs} * ${uniformDecodeQueryLen} = ${numReqs * uniformDecodeQueryLen}) for a uniform decode batch`,
    });
  }
}
