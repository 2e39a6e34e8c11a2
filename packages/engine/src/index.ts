// @flashgraph/engine: a continuous-batching decode loop on full CUDA graphs. See README.md.
export { createEngine } from './engine.js';
export type {
  AddRequestOptions,
  Engine,
  EngineOptions,
  EngineProgress,
  EngineStats,
  ModeStats,
  RequestOutput,
  RunResult,
  RunStats,
  StepMode,
  StepResult,
} from './engine.js';
export { syntheticDecoder, type SyntheticDecoderOptions } from './synthetic-model.js';
export type {
  AttentionCall,
  AttentionIO,
  BackendKind,
  CpuForwardContext,
  CpuStream,
  CudaForwardContext,
  DeviceTensor,
  ForwardContext,
  LoadedModel,
  Model,
  ModelDtype,
  ModelLoadContext,
  ModelShape,
  StepBuffers,
} from './model.js';
export { CacheFullError, EngineDisposedError, EngineError, RequestTooLargeError } from './errors.js';
export type { LatencySummary } from './percentiles.js';
