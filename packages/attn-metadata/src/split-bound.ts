// The step's split bound (vLLM's fix for FA3 in full graphs). A step that runs inside a full
// graph replays kernels whose split-KV buffers and bound were fixed at capture, so it must use the
// one configured bound, graphConfig.maxNumSplits, for both the scheduler and the kernel. Every
// other step uses the heuristic (0), which the attention still clamps to its workspace.
import { padToCaptureSize } from '@flashgraph/config';
import { checkBoolean, checkInt, INT32_MAX } from '@flashgraph/errors';
import type { GraphConfigLike } from './types.js';
import { validateGraphConfig } from './validate-options.js';

/**
 * Whether a step with these padded tokens runs inside a full graph under `graphConfig` (the rule
 * the builders apply; checked arguments).
 */
export function isFullGraphStep(
  graphConfig: GraphConfigLike,
  numPaddedTokens: number,
  uniformDecode: boolean,
): boolean {
  return fullGraphStep(
    validateGraphConfig(graphConfig, 'graphConfig'),
    checkInt('numPaddedTokens', numPaddedTokens, { min: 0, max: INT32_MAX }),
    checkBoolean('uniformDecode', uniformDecode),
  );
}

/** `isFullGraphStep` of arguments already checked (the per-step path). */
export function fullGraphStep(graphConfig: GraphConfigLike, numPaddedTokens: number, uniformDecode: boolean): boolean {
  if (!graphConfig.hasFullGraphs || numPaddedTokens < 1) return false;
  const covered =
    graphConfig.fullGraphsFor === 'all' || (graphConfig.fullGraphsFor === 'uniform_decode' && uniformDecode);
  // A capture size is exactly a count that padToCaptureSize leaves unchanged.
  return covered && padToCaptureSize(graphConfig, numPaddedTokens) === numPaddedTokens;
}

/** `graphConfig.maxNumSplits` for a full-graph step, else 0 (the attention's heuristic). */
export function stepNumSplits(graphConfig: GraphConfigLike, fullGraph: boolean): number {
  return fullGraph ? graphConfig.maxNumSplits : 0;
}
