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

function unknownOption(key: string, value: unknown, known: readonly string[]): InvalidArgumentError {
  return new InvalidArgumentError({
    code: 'unknown_option',
    path: `options.${key}`,
    value,
    allowed: `one of the keys ${known.join(', ')}`,
  });
}

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
  // One pass over the keys (a switch, no allocation): inherited keys are skipped, own unknown
  // ones rejected.
  for (const key in o) {
    if (!hasOwn(o, key)) continue;
    switch (key) {
      case 'padToTokens':
        out.padToTokens = o[key];
        break;
      case 'padToReqs':
        out.padToReqs = o[key];
        break;
      case 'decodeGraph':
        out.decodeGraph = o[key];
        break;
      case 'stream':
        if (withStream) {
          out.stream = o[key];
          break;
        }
        throw unknownOption(key, o[key], known);
      default:
        throw unknownOption(key, o[key], known);
    }
  }
  return out;
}
