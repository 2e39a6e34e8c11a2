// What each mode captures: the derived fields of a resolved config.
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
