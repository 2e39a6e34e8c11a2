// addRequest's per-request options, checked up front (before the request touches any state):
// the prompt, the token budget, the sampling parameters of contract B and the stop conditions.
// Unseeded requests get a random seed here, so every request samples from a seed it can report.
import {
  checkArray,
  checkBoolean,
  checkInt,
  checkIntArray,
  checkNumber,
  checkObject,
  checkOptions,
  INT32_MAX,
  InvalidArgumentError,
  optional,
} from '@flashgraph/errors';
import type { SamplingParams } from './sampling/params.js';

/** Per-request options of `engine.addRequest`. */
export interface AddRequestOptions {
  /** Token ids in [0, vocabSize), at least one. Used exactly as given (no BOS is added). */
  promptTokens: ArrayLike<number>;
  /** Most tokens to generate, >= 1 (the request may stop earlier at an eos or stop token). */
  maxNewTokens: number;
  /** >= 0; default 0 = greedy (argmax). */
  temperature?: number;
  /** Keep the k most likely tokens (ties at the cut kept); integer >= 0, default 0 = off. */
  topK?: number;
  /** Keep the smallest most-likely set reaching this probability; (0, 1], default 1 = off. */
  topP?: number;
  /** Integer in [0, 2^32 - 1]; default a random one. The same seed gives the same tokens, whatever the batch. */
  seed?: number;
  /** More tokens that end the request (kept in the output, like eos). */
  stopTokenIds?: ArrayLike<number>;
  /** Don't stop at the model's eos tokens. Default false. */
  ignoreEos?: boolean;
}

export const ADD_REQUEST_KEYS = [
  'promptTokens',
  'maxNewTokens',
  'temperature',
  'topK',
  'topP',
  'seed',
  'stopTokenIds',
  'ignoreEos',
] as const;

export const MAX_SEED = 2 ** 32 - 1;
const MAX_STOP_TOKENS = 1024;

export interface RequestSpec {
  readonly tokens: number[];
  readonly maxNewTokens: number;
  readonly sampling: SamplingParams;
  /** The eos ids (unless ignoreEos) and the stop ids. */
  readonly stopTokenIds: ReadonlySet<number>;
}

/**
 * A Proxy over an array passes Array.isArray with any `length` (1.5, -1, 2^53): reject a length
 * that is not a non-negative safe integer before anything sizes an array from it.
 */
function checkedLength(path: string, value: unknown): unknown {
  if (Array.isArray(value)) {
    const length: unknown = value.length;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new InvalidArgumentError({
        code: 'out_of_range',
        path: `${path}.length`,
        value: length,
        allowed: 'a non-negative safe integer',
      });
    }
  }
  return value;
}

function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0] as number;
}

/** The sampling options of a request, as addRequest takes them. */
export type SamplingOptions = Pick<AddRequestOptions, 'temperature' | 'topK' | 'topP' | 'seed'>;

/**
 * Checks `temperature`, `topK`, `topP` and `seed` as addRequest does (the same ranges, the same
 * InvalidArgumentError, paths under `path`), fills the defaults and draws a random seed where
 * none is given. Exported so a front end (the CLI) can reject bad values before loading a model.
 */
export function checkSamplingOptions(given: Readonly<Record<string, unknown>>, path = 'options'): SamplingParams {
  // Read once, as own keys (a getter or proxy trap that throws is a typed error here).
  return samplingFrom(checkObject(path, given), path);
}

// The fields of an options record already copied by checkObject / checkOptions (addRequest's).
function samplingFrom(options: Readonly<Record<string, unknown>>, path: string): SamplingParams {
  const temperature = optional(options.temperature, 0, (v) => checkNumber(`${path}.temperature`, v, { min: 0 }));
  const topK = optional(options.topK, 0, (v) => checkInt(`${path}.topK`, v, { min: 0, max: INT32_MAX }));
  const topP = optional(options.topP, 1, (v) => checkNumber(`${path}.topP`, v, { min: 0, minExclusive: true, max: 1 }));
  const seed = optional(options.seed, undefined, (v) => checkInt(`${path}.seed`, v, { min: 0, max: MAX_SEED }));
  return Object.freeze({ temperature, topK, topP, seed: seed ?? randomSeed() });
}

/**
 * Checks every option and returns the request's spec; throws InvalidArgumentError first. The
 * prompt's length is bounded (by the engine's maxModelLen) before any token is read.
 */
export function parseRequestOptions(
  request: unknown,
  model: { vocabSize: number; eosTokenIds: readonly number[] },
  maxPromptLength = INT32_MAX,
): RequestSpec {
  const r = checkOptions('request', request, ADD_REQUEST_KEYS);
  const vocab = model.vocabSize;
  const tokenRange = { min: 0, max: vocab - 1 };
  const prompt = checkArray('request.promptTokens', checkedLength('request.promptTokens', r.promptTokens), {
    minLength: 1,
    maxLength: maxPromptLength,
  });
  const tokens = new Array<number>(prompt.length);
  for (let i = 0; i < prompt.length; i++) {
    const t = prompt[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocab) {
      throw new InvalidArgumentError({
        code: typeof t === 'number' ? 'out_of_range' : 'invalid_type',
        path: `request.promptTokens[${i}]`,
        value: t,
        allowed: `a token id in [0, ${vocab - 1}]`,
      });
    }
    tokens[i] = t;
  }
  const maxNewTokens = checkInt('request.maxNewTokens', r.maxNewTokens, { min: 1, max: 1 << 24 });
  const sampling = samplingFrom(r, 'request');
  const stopIds = optional(r.stopTokenIds, [], (v) =>
    checkIntArray('request.stopTokenIds', checkedLength('request.stopTokenIds', v), tokenRange, {
      maxLength: MAX_STOP_TOKENS,
    }),
  );
  const ignoreEos = optional(r.ignoreEos, false, (v) => checkBoolean('request.ignoreEos', v));
  const stopTokenIds = new Set<number>(stopIds);
  if (!ignoreEos) for (const id of model.eosTokenIds) stopTokenIds.add(id);
  return {
    tokens,
    maxNewTokens,
    sampling,
    stopTokenIds,
  };
}
