// What each mode captures: the derived fields of a resolved config.
import { checkOneOf } from '@flashgraph/errors';
import { GRAPH_MODES } from './schema.js';
import type { FullGraphsFor, GraphMode } from './types.js';

interface ModeProperties {
  fullGraphsFor: FullGraphsFor;
  piecewise: boolean;
}

const PROPERTIES: Record<GraphMode, ModeProperties> = {
  none: { fullGraphsFor: 'none', piecewise: false },
  piecewise: { fullGraphsFor: 'none', piecewise: true },
  full: { fullGraphsFor: 'all', piecewise: false },
  full_decode_only: { fullGraphsFor: 'uniform_decode', piecewise: false },
  full_and_piecewise: { fullGraphsFor: 'uniform_decode', piecewise: true },
};

export function modeProperties(mode: GraphMode): ModeProperties & { hasFullGraphs: boolean } {
  const properties = PROPERTIES[mode];
  return { ...properties, hasFullGraphs: properties.fullGraphsFor !== 'none' };
}

/** Whether uniform decode batches replay a full graph in this mode. */
export function hasFullDecodeGraphs(mode: GraphMode): boolean {
  return PROPERTIES[mode].fullGraphsFor !== 'none';
}

/**
 * What a graph mode captures: `fullGraphsFor` and `piecewise` as resolveGraphConfig derives them,
 * and whether it has full graphs at all. A hand-made ResolvedGraphConfig must agree with its mode
 * (the cuda-graph runner checks it with this).
 */
export function graphModeProperties(mode: GraphMode): Readonly<ModeProperties & { hasFullGraphs: boolean }> {
  return Object.freeze(modeProperties(checkOneOf('mode', mode, GRAPH_MODES)));
}
