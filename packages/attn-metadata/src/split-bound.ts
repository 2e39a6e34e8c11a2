// The step's split bound (vLLM's fix for FA3 in full graphs). A step that runs inside a full
// graph replays kernels whose split-KV buffers and bound were fixed at capture, so it must use the
// one configured bound, graphConfig.maxNumSplits, for both the scheduler and the kernel. Every
// other step uses the heuristic (0), which the attention still clamps to its workspace. Whether a
// step runs inside a full graph is not decided here: @flashgraph/config's graph route is the one
// decision, the same the graph runner captures and replays by.
import { type GraphRoute, graphRouteLookup } from '@flashgraph/config';
import { checkBoolean, checkInt, INT32_MAX, optional } from '@flashgraph/errors';
import type { GraphConfigLike } from './types.js';
import { validateGraphConfig } from './validate-options.js';

/** The route of a step by padded token count and uniformity (`graphRouteLookup` of @flashgraph/config). */
export type StepRoute = (numPaddedTokens: number, uniformDecode: boolean) => GraphRoute;

/** The builders' route lookup: the config's decision, capped at the builder's `maxNumReqs`. */
export function stepRouteLookup(graphConfig: GraphConfigLike, maxNumReqs: number): StepRoute {
  return graphRouteLookup(graphConfig, maxNumReqs);
}

/** Whether a step padded to `numPaddedTokens` replays a full graph on `route` (checked arguments). */
export function fullGraphOf(route: GraphRoute, numPaddedTokens: number): boolean {
  return route.graph === 'full' && route.captureSize === numPaddedTokens;
}

/**
 * Whether a step with these padded tokens runs inside a full graph under `graphConfig`: the
 * config's route (`graphRoute` of @flashgraph/config) replays a full graph and `numPaddedTokens`
 * is its capture size. `maxNumReqs` caps the requests of a uniform decode step (default
 * `graphConfig.maxNumSeqs`), as the graph runner's does.
 */
export function isFullGraphStep(
  graphConfig: GraphConfigLike,
  numPaddedTokens: number,
  uniformDecode: boolean,
  maxNumReqs?: number,
): boolean {
  const g = validateGraphConfig(graphConfig, 'graphConfig');
  const n = checkInt('numPaddedTokens', numPaddedTokens, { min: 0, max: INT32_MAX });
  const u = checkBoolean('uniformDecode', uniformDecode);
  const cap = optional(maxNumReqs, g.maxNumSeqs, (v) => checkInt('maxNumReqs', v, { min: 1, max: INT32_MAX }));
  return n >= 1 && fullGraphOf(stepRouteLookup(g, cap)(n, u), n);
}

/** `graphConfig.maxNumSplits` for a full-graph step, else 0 (the attention's heuristic). */
export function stepNumSplits(graphConfig: GraphConfigLike, fullGraph: boolean): number {
  return fullGraph ? graphConfig.maxNumSplits : 0;
}
