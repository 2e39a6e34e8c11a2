// The options of one step (`write`, `stage`, `build`), read on the hot path without allocating:
// own properties only (a polluted Object.prototype cannot pad a step), unknown keys rejected
// (a typo such as `padToToken` would silently run an unpadded step), each value checked later by
// the field's own rule.
import { InvalidArgumentError } from '@flashgraph/errors';

export interface RawStepOptions {
  padToTokens: unknown;
  padToReqs: unknown;
  decodeGraph: unknown;
  stream: unknown;
}

const STEP_KEYS = ['padToTokens', 'padToReqs', 'decodeGraph'] as const;
const BUILD_KEYS = [...STEP_KEYS, 'stream'] as const;

const hasOwn = (o: object, key: string): boolean => Object.hasOwn(o, key);

/** Reads `options` into `out` (reused per mirror). `withStream`: `build`'s options also carry the stream. */
export function readStepOptions(options: unknown, withStream: boolean, out: RawStepOptions): RawStepOptions {
  out.padToTokens = undefined;
  out.padToReqs = undefined;
  out.decodeGraph = undefined;
  out.stream = undefined;
  if (options === undefined) return out;
  const known = withStream ? BUILD_KEYS : STEP_KEYS;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'options',
      value: options,
      allowed: `undefined or an object with ${known.join(', ')}`,
    });
  }
  const o = options as Record<string, unknown>;
  for (const key in o) {
    if (hasOwn(o, key) && !(known as readonly string[]).includes(key)) {
      throw new InvalidArgumentError({
        code: 'unknown_option',
        path: `options.${key}`,
        value: o[key],
        allowed: `one of the keys ${known.join(', ')}`,
      });
    }
  }
  if (hasOwn(o, 'padToTokens')) out.padToTokens = o.padToTokens;
  if (hasOwn(o, 'padToReqs')) out.padToReqs = o.padToReqs;
  if (hasOwn(o, 'decodeGraph')) out.decodeGraph = o.decodeGraph;
  if (withStream && hasOwn(o, 'stream')) out.stream = o.stream;
  return out;
}
