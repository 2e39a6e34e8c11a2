// From a graph runner's decision to the builder's step options: the runner (@flashgraph/cuda-graph
// `runner.plan(batch)` or `run`'s outcome) decides the padded counts and whether the step replays a
// decode graph; the metadata must be built for exactly that, so the caller passes this result to
// `stage` / `build` instead of recomputing either. `uniformDecodeQueryLen` is not an input: the
// builder reads it from the graph config it was created with.
import { checkBoolean, checkInt, checkObject, checkOneOf, INT32_MAX } from '@flashgraph/errors';
import type { HostStepOptions } from './host-mirror.js';

/** The members of a cuda-graph `RunOutcome` (what `plan()` returns) this reads. */
export interface RunPlanLike {
  readonly mode: 'full' | 'piecewise' | 'eager';
  /** Tokens the launched work covers: the capture size, or the real count when eager. */
  readonly paddedTokens: number;
  /** Requests the launched work covers: the padded request count, or the real count when eager. */
  readonly paddedReqs: number;
  /** The step replays a full graph only uniform decode batches replay. */
  readonly decodeGraph: boolean;
}

/** `{ padToTokens, padToReqs, decodeGraph }` of a runner's plan, checked (a frozen new object). */
export function stepOptionsFromPlan(plan: RunPlanLike): Required<HostStepOptions> {
  const p = checkObject('plan', plan);
  checkOneOf('plan.mode', p.mode, ['full', 'piecewise', 'eager'] as const);
  const padToTokens = checkInt('plan.paddedTokens', p.paddedTokens, { min: 0, max: INT32_MAX });
  const padToReqs = checkInt('plan.paddedReqs', p.paddedReqs, { min: 0, max: INT32_MAX });
  const decodeGraph = checkBoolean('plan.decodeGraph', p.decodeGraph);
  return Object.freeze({ padToTokens, padToReqs, decodeGraph });
}
