// How a step runs under a resolved graph config: the capture size it pads to, and whether it
// replays a full graph (the decode graph of that size or the mixed one), piecewise graphs, or runs
// eagerly. This is the only place that decides it: @flashgraph/cuda-graph's runner builds its
// routes (what it captures and replays) from `captureSizeRoutes`, and @flashgraph/attn-metadata's
// builders read a step's `fullGraph` from `graphRouteLookup`, so the two cannot disagree.
import { checkBoolean, checkInt, checkObject, checkOneOf, INT32_MAX, InvalidArgumentError } from '@flashgraph/errors';
import { isDecodeReachable } from './decode-graph-sizes.js';
import { captureSizeLookup } from './pad-table.js';
import type { FullGraphsFor } from './types.js';

/** The members of a resolved graph config (`resolveGraphConfig`) the decision reads. */
export interface GraphRouteConfig {
  readonly captureSizes: readonly number[];
  readonly fullGraphsFor: FullGraphsFor;
  readonly piecewise: boolean;
  readonly uniformDecodeQueryLen: number;
  readonly maxNumSeqs: number;
}

/** How one step runs. Frozen; the lookups return shared objects (no allocation per step). */
export interface GraphRoute {
  /** `full`: one full graph replays the whole step; `piecewise`: graphs with attention eager in between. */
  readonly graph: 'full' | 'piecewise' | 'eager';
  /** The capture size the step pads to; 0 when it runs eagerly (not padded). */
  readonly captureSize: number;
  /**
   * The full graph is the one captured for uniform decode batches of this size (its attention
   * metadata states the decode query length, not the padded token count).
   */
  readonly decodeGraph: boolean;
}

/** The two routes of one capture size: a batch that is not uniform decode, and one that is. */
export interface CaptureSizeRoutes {
  readonly size: number;
  readonly mixed: GraphRoute;
  readonly decode: GraphRoute;
}

const EAGER: GraphRoute = Object.freeze({ graph: 'eager', captureSize: 0, decodeGraph: false });
const FULL_GRAPHS_FOR = ['all', 'uniform_decode', 'none'] as const;

function route(graph: GraphRoute['graph'], captureSize: number, decodeGraph: boolean): GraphRoute {
  return graph === 'eager' ? EAGER : Object.freeze({ graph, captureSize, decodeGraph });
}

/**
 * The rule. Size `sizes[i]` gets a decode graph when the mode has full graphs and some uniform
 * decode batch of at most `maxReqs` requests pads to it (`decodeGraphSizes`); a mixed full graph
 * in mode `full` (uniform decode batches at other sizes replay it too); piecewise graphs for the
 * rest when the mode has them; else the step runs eagerly.
 */
function routesAt(g: GraphRouteConfig, i: number, maxReqs: number): CaptureSizeRoutes {
  const size = g.captureSizes[i]!;
  const previous = i === 0 ? 0 : g.captureSizes[i - 1]!;
  const fullMixed = g.fullGraphsFor === 'all';
  const decodeGraph = g.fullGraphsFor !== 'none' && isDecodeReachable(previous, size, g.uniformDecodeQueryLen, maxReqs);
  const rest: GraphRoute['graph'] = fullMixed ? 'full' : g.piecewise ? 'piecewise' : 'eager';
  return Object.freeze({
    size,
    mixed: route(rest, size, false),
    decode: decodeGraph ? route('full', size, true) : route(rest, size, false),
  });
}

function checkRouteConfig(resolved: unknown, maxNumReqs: unknown): { g: GraphRouteConfig; maxReqs: number } {
  const g = checkObject('resolved', resolved) as unknown as GraphRouteConfig;
  checkOneOf('resolved.fullGraphsFor', g.fullGraphsFor, FULL_GRAPHS_FOR);
  checkBoolean('resolved.piecewise', g.piecewise);
  checkInt('resolved.uniformDecodeQueryLen', g.uniformDecodeQueryLen, { min: 1, max: INT32_MAX });
  const seqs = checkInt('resolved.maxNumSeqs', g.maxNumSeqs, { min: 1, max: INT32_MAX });
  const cap = maxNumReqs === undefined ? seqs : checkInt('maxNumReqs', maxNumReqs, { min: 1, max: INT32_MAX });
  return { g, maxReqs: Math.min(seqs, cap) };
}

/**
 * Every capture size with its routes, ascending (what a graph runner captures: a size whose two
 * routes are eager gets no graph). `maxNumReqs` caps the requests of one step below
 * `resolved.maxNumSeqs` (a runner or builder with fewer rows). O(number of capture sizes).
 */
export function captureSizeRoutes(resolved: GraphRouteConfig, maxNumReqs?: number): readonly CaptureSizeRoutes[] {
  const { g, maxReqs } = checkRouteConfig(resolved, maxNumReqs);
  // The pad table checks the sizes (ascending positive safe integers) once per config.
  captureSizeLookup(g);
  const routes: CaptureSizeRoutes[] = [];
  for (let i = 0; i < g.captureSizes.length; i++) routes.push(routesAt(g, i, maxReqs));
  return Object.freeze(routes);
}

/**
 * `graphRoute` bound to one config: the config is checked and the routes built once, so each call
 * is a pad-table lookup returning a shared frozen route (a builder's or runner's per-step path).
 */
export function graphRouteLookup(
  resolved: GraphRouteConfig,
  maxNumReqs?: number,
): (numTokens: number, uniformDecode: boolean) => GraphRoute {
  const routes = captureSizeRoutes(resolved, maxNumReqs);
  const indexOf = captureSizeLookup(resolved);
  return (numTokens, uniformDecode) => {
    if (typeof uniformDecode !== 'boolean') {
      throw new InvalidArgumentError({
        code: 'invalid_type',
        path: 'uniformDecode',
        value: uniformDecode,
        allowed: 'a boolean',
      });
    }
    const index = indexOf(numTokens);
    if (index < 0) return EAGER;
    const r = routes[index]!;
    return uniformDecode ? r.decode : r.mixed;
  };
}

/**
 * How a step of `numTokens` tokens runs under `resolved` (`uniformDecode`: every request has
 * `uniformDecodeQueryLen` new tokens): the capture size it pads to and the graph it replays, or
 * eager (above the largest capture size, or a batch the mode captures nothing for).
 */
export function graphRoute(
  resolved: GraphRouteConfig,
  numTokens: number,
  uniformDecode: boolean,
  maxNumReqs?: number,
): GraphRoute {
  const { g, maxReqs } = checkRouteConfig(resolved, maxNumReqs);
  checkBoolean('uniformDecode', uniformDecode);
  const index = captureSizeLookup(g)(numTokens);
  if (index < 0) return EAGER;
  const r = routesAt(g, index, maxReqs);
  return uniformDecode ? r.decode : r.mixed;
}
