// @flashgraph/config: validated CUDA-graph configuration. See README.md.
export { fa3BackendCapability } from './backend';
export { ConfigError } from './config-error';
export { defaultCaptureSizes } from './default-capture-sizes';
export { padToCaptureSize } from './pad-table';
export { resolveGraphConfig } from './resolve';
export { CUDAGRAPH_SUPPORTS as cudagraphSupportLevels, GRAPH_MODES as graphModes, graphConfigJsonSchema } from './schema';
export { estimateSplitWorkspaceBytes } from './split-workspace';
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
} from './types';
