// @flashgraph/engine: a continuous-batching decode loop on full CUDA graphs. See README.md.

export type { KvBlockManager } from './block-manager.js';
export type {
  AddRequestOptions,
  Engine,
  EngineOptions,
  EngineProgress,
  EngineStats,
  FinishReason,
  ModeStats,
  RequestOutput,
  RunResult,
  RunStats,
  StepMode,
  StepOptions,
  StepResult,
} from './engine.js';
export { createEngine } from './engine.js';
export {
  CacheFullError,
  EngineAbortedError,
  EngineDisposedError,
  EngineError,
  type EngineErrorCode,
  NonFiniteLogitsError,
  RequestTooLargeError,
  UnknownRequestError,
} from './errors.js';
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
export { type LatencySummary, summarize as summarizeLatencies } from './percentiles.js';
export { checkSamplingOptions, type SamplingOptions } from './request-options.js';
export type { SamplingParams } from './sampling/params.js';
export {
  commitSampled,
  FifoScheduler,
  maxKvTokens,
  type RequestState,
  type RequestStatus,
  type ScheduledBatch,
  type ScheduledRequest,
  type Scheduler,
  type SchedulerContext,
  type SchedulerFactory,
  type SchedulerLimits,
} from './scheduler.js';
export { type BackendRequest, cudaUnavailableReason } from './select-backend.js';
export type { AbortSignalLike } from './step-options.js';
export { type SyntheticDecoderOptions, syntheticDecoder } from './synthetic-model.js';
