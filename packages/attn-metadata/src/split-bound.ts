// The step's split bound (vLLM's fix for FA3 in full graphs). A step that runs inside a full
// graph replays kernels whose split-KV buffers and bound were fixed at capture, so it must use the
// one configured bound, graphConfig.maxNumSplits, for both the scheduler and the kernel. Every
// other step uses the heuristic (0), which the attention still clamps to its workspace.
import { padToCaptureSize } from '@flashgraph/config';
import type { GraphConfigLike } from './types.js';

/** Whether a step with these padded tokens runs inside a full graph under `graphConfig`. */
export function isFullGraphStep(
  graphConfig: GraphConfigLike,
  numPaddedTokens: number,
  uniformDecode: boolean,
): boolean {
  if (!graphConfig.hasFullGraphs || numPaddedTokens < 1) return false;
  const covered =
    graphConfig.fullGraphsFor === 'all' || (graphConfig.fullGraphsFor === 'uniform_decode' && uniformDecode);
  // A capture size is exactly a count that padToCaptureSize leaves unchanged.
  return covered && padToCaptureSize(graphConfig, numPaddedTokens) === numPaddedTokens;
}

/** `graphConfig.maxNumSplits` for a full-graph step, else 0 (the attention's heuristic). */
export function stepMaxNumSplits(graphConfig: GraphConfigLike, fullGraph: boolean): number {
  return fullGraph ? graphConfig.maxNumSplits : 0;
}
