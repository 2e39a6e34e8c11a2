// Which capture sizes get a full decode graph: the one rule both the config's AoT check and the
// runner's capture plan use, so what the config approves is what the runner captures.
import { checkInt, checkIntArray, checkObject, checkOneOf, INT32_MAX, InvalidArgumentError } from '@flashgraph/errors';
import { modeProperties } from './mode-properties.js';
import { GRAPH_MODES, MAX_NUM_CAPTURE_SIZES } from './schema.js';
import type { GraphMode } from './types.js';

/**
 * The sizes some uniform decode batch pads to: a batch of r requests has r * k tokens, with
 * 1 <= r <= maxReqs and r * k <= the largest size. Size s_i (previous size p, 0 for the first)
 * is reached iff a multiple of k lies in (p, s_i] with r <= maxReqs: O(number of sizes), never a
 * loop over requests or tokens.
 */
export function decodeReachableSizes(sizes: readonly number[], k: number, maxReqs: number): number[] {
  const reached: number[] = [];
  let previous = 0;
  for (const size of sizes) {
    if (isDecodeReachable(previous, size, k, maxReqs)) reached.push(size);
    previous = size;
  }
  return reached;
}

/** Whether a uniform decode batch of at most `maxReqs` requests pads to `size` (the size below it: `previous`, 0 for the first). */
export function isDecodeReachable(previous: number, size: number, k: number, maxReqs: number): boolean {
  const firstReq = Math.floor(previous / k) + 1;
  return firstReq <= Math.floor(size / k) && firstReq <= maxReqs;
}

/** The sizes that get a full graph for uniform decode batches in `mode` (none without full graphs). */
export function fullDecodeSizesOf(mode: GraphMode, sizes: readonly number[], k: number, maxNumSeqs: number): number[] {
  if (!modeProperties(mode).hasFullGraphs) return [];
  return decodeReachableSizes(sizes, k, maxNumSeqs);
}

/**
 * The capture sizes that get a full graph for uniform decode batches (`uniformDecodeQueryLen`
 * tokens per request, at most `maxNumReqs` requests, default `resolved.maxNumSeqs`): the sizes
 * such a batch pads to. Empty in modes without full graphs. In mode `full` these sizes hold a
 * decode graph next to the mixed one.
 */
export function decodeGraphSizes(
  resolved: {
    readonly mode: GraphMode;
    readonly captureSizes: readonly number[];
    readonly uniformDecodeQueryLen: number;
    readonly maxNumSeqs: number;
  },
  maxNumReqs?: number,
): readonly number[] {
  const config = checkObject('resolved', resolved);
  const mode = checkOneOf('resolved.mode', config.mode, GRAPH_MODES);
  const k = checkInt('resolved.uniformDecodeQueryLen', config.uniformDecodeQueryLen, { min: 1, max: INT32_MAX });
  const seqs = checkInt('resolved.maxNumSeqs', config.maxNumSeqs, { min: 1, max: INT32_MAX });
  const cap = maxNumReqs === undefined ? seqs : checkInt('maxNumReqs', maxNumReqs, { min: 1, max: INT32_MAX });
  const sizes = checkIntArray(
    'resolved.captureSizes',
    config.captureSizes,
    { min: 1, max: INT32_MAX },
    { maxLength: MAX_NUM_CAPTURE_SIZES },
  );
  // The reachability rule walks the sizes in order: unsorted or repeated sizes would give a wrong set.
  for (let i = 1; i < sizes.length; i++) {
    if (sizes[i]! <= sizes[i - 1]!) {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: `resolved.captureSizes[${i}]`,
        value: sizes[i],
        allowed: `strictly ascending sizes (greater than resolved.captureSizes[${i - 1}] = ${sizes[i - 1]})`,
      });
    }
  }
  return Object.freeze(fullDecodeSizesOf(mode, sizes, k, Math.min(seqs, cap)));
}
