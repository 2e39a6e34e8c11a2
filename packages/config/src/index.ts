// @flashgraph/config: validated CUDA-graph configuration. See README.md.
export { fa3BackendCapability } from './backend.js';
export { ConfigError } from './config-error.js';
export { decodeGraphSizes } from './decode-graph-sizes.js';
export { defaultCaptureSizes } from './default-capture-sizes.js';
export type { CaptureSizeRoutes, GraphRoute, GraphRouteConfig } from './graph-route.js';
export { captureSizeRoutes, graphRoute, graphRouteLookup } from './graph-route.js';
export { graphModeProperties } from './mode-properties.js';
export { captureSizeIndex, captureSizeLookup, padToCaptureSize } from './pad-table.js';
export { resolveGraphConfig } from './resolve.js';
export {
  CUDAGRAPH_SUPPORTS as cudagraphSupportLevels,
  GRAPH_MODES as graphModes,
  graphConfigJsonSchema,
  graphConfigLimits,
} from './schema.js';
export { estimateSplitWorkspaceBytes } from './split-workspace.js';
export type {
  BackendCapability,
  ConfigIssue,
  ConfigWarning,
  CudagraphSupport,
  FullGraphsFor,
  GraphConfigContext,
  GraphConfigInput,
  GraphMode,
  ResolvedGraphConfig,
  SplitWorkspaceShape,
} from './types.js';
