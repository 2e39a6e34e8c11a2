// @flashgraph/cuda-graph: capture, pad, replay and fall back, one CUDA graph per capture size.

export type { CaptureBackend, ExecHandle, GraphHandle } from './capture-backend.js';
export type { PadRequestCountArgs } from './capture-plan.js';
export { padRequestCount } from './capture-plan.js';
export { cpuCaptureBackend, createCpuGraphRunner } from './cpu-backend.js';
export { type CpuGraph, CpuStream } from './cpu-stream.js';
export { createGraphRunner } from './create-graph-runner.js';
export type { GraphRunnerWithBackendOptions } from './create-graph-runner-with-backend.js';
export { createGraphRunnerWithBackend } from './create-graph-runner-with-backend.js';
export type { CapturePhase, CpuStreamErrorCode, GraphRunnerErrorCode, StepErrorCode } from './errors.js';
export { CpuStreamError, GraphCaptureError, GraphRunnerError, StepError } from './errors.js';
export {
  type AttentionCall,
  type GeneratorForward,
  type SegmentedForwardOptions,
  segmentedForward,
} from './forward-adapter.js';
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
