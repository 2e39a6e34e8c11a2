// @flashgraph/cuda-graph: capture, pad, replay and fall back, one CUDA graph per capture size.

export type { CaptureBackend, ExecHandle, GraphHandle } from './capture-backend.js';
export type { PadRequestCountArgs } from './capture-plan.js';
export { padRequestCount } from './capture-plan.js';
export { createGraphRunner } from './create-graph-runner.js';
export type { GraphRunnerWithBackendOptions } from './create-graph-runner-with-backend.js';
export { createGraphRunnerWithBackend } from './create-graph-runner-with-backend.js';
export type { CapturePhase, GraphRunnerErrorCode } from './errors.js';
export { GraphCaptureError, GraphRunnerError } from './errors.js';
export type {
  CaptureProgress,
  GraphMemory,
  GraphRunner,
  GraphRunnerOptions,
  GraphRunnerStats,
  GraphStep,
  RunBatch,
  RunOutcome,
  SegmentedStep,
  SizeStats,
  StepContext,
  StepPhase,
  StepSegment,
} from './types.js';
