// Error classes of @flashgraph/cuda-graph: FlashgraphErrors with stable snake_case codes, each
// saying what to do. Bad arguments are @flashgraph/errors' InvalidArgumentError, use after
// dispose() its DisposedError.
import {
  checkBoolean,
  checkInt,
  checkObject,
  checkOneOf,
  checkString,
  FlashgraphError,
  formatValue,
  INT32_MAX,
  optional,
} from '@flashgraph/errors';

/** Where a capture failed. */
export type CapturePhase = 'warmup' | 'capture' | 'instantiate' | 'upload';

export interface GraphCaptureErrorDetails {
  size: number;
  phase: CapturePhase;
  /** The graph being captured: a full graph, or one segment of the piecewise graphs. */
  graph: 'full' | 'piecewise';
  uniformDecode: boolean;
  /** The segment that failed, when known (always for piecewise graphs). */
  segment?: number | undefined;
  cause: unknown;
}

function causeMessage(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  // Whatever a step threw: a string as is, anything else as formatValue shows it (bounded length).
  return typeof cause === 'string' ? cause : formatValue(cause);
}

function fixFor(phase: CapturePhase, cause: unknown): string {
  const message = causeMessage(cause);
  if (/StreamCapture|captur/i.test(message) && phase === 'capture') {
    return 'A step must not synchronize, allocate or free device memory, or copy to pageable host memory while it is captured: allocate buffers before capture() and keep host reads out of the step.';
  }
  switch (phase) {
    case 'warmup':
      return 'The step failed when run eagerly; it must work for every capture size before it can be captured.';
    case 'capture':
      return 'The step threw while being captured; it must only launch work on ctx.stream.';
    case 'instantiate':
      return 'The driver could not instantiate the graph (out of device memory?); capture fewer or smaller sizes.';
    case 'upload':
      return 'The driver could not upload the graph (out of device memory?); capture fewer or smaller sizes.';
  }
}

function graphName(details: GraphCaptureErrorDetails): string {
  const segment = details.segment === undefined ? '' : ` segment ${details.segment}`;
  if (details.graph === 'piecewise') return `piecewise graph${segment}`;
  return `full graph${details.uniformDecode ? ' (uniform decode)' : ''}${segment === '' ? '' : `,${segment}`}`;
}

function checkCaptureDetails(given: unknown): GraphCaptureErrorDetails {
  const d = checkObject('details', given);
  const segment = optional(d.segment, undefined, (v) => checkInt('details.segment', v, { min: 0, max: INT32_MAX }));
  return {
    size: checkInt('details.size', d.size, { min: 1, max: INT32_MAX }),
    phase: checkOneOf('details.phase', d.phase, ['warmup', 'capture', 'instantiate', 'upload'] as const),
    graph: checkOneOf('details.graph', d.graph, ['full', 'piecewise'] as const),
    uniformDecode: checkBoolean('details.uniformDecode', d.uniformDecode),
    segment,
    cause: d.cause,
  };
}

/**
 * A capture failed (code `graph_capture_failed`). The capture was ended, the partial graph
 * destroyed and every graph of this `capture()` call freed; the stream is usable and the runner
 * can capture again.
 */
export class GraphCaptureError extends FlashgraphError {
  declare readonly code: 'graph_capture_failed';
  readonly size: number;
  readonly phase: CapturePhase;
  readonly graph: 'full' | 'piecewise';
  readonly uniformDecode: boolean;
  readonly segment: number | undefined;

  constructor(given: GraphCaptureErrorDetails) {
    const details = checkCaptureDetails(given);
    super({
      code: 'graph_capture_failed',
      problem: `capture of size ${details.size} failed during ${details.phase} (${graphName(details)}): ${causeMessage(details.cause)}`,
      fix: fixFor(details.phase, details.cause),
      cause: details.cause,
    });
    this.size = details.size;
    this.phase = details.phase;
    this.graph = details.graph;
    this.uniformDecode = details.uniformDecode;
    this.segment = details.segment;
  }
}

/**
 * - `runner_locked`: capture() on a runner that holds graphs (call reset() first);
 * - `not_captured`: run() before capture();
 * - `capture_in_progress`: a step called back into its runner during capture().
 */
export type GraphRunnerErrorCode = 'runner_locked' | 'not_captured' | 'capture_in_progress';

/** The runner was used in a state that does not allow the call. */
export class GraphRunnerError extends FlashgraphError {
  declare readonly code: GraphRunnerErrorCode;

  constructor(code: GraphRunnerErrorCode, call: string, problem: string, fix: string) {
    super({
      code: checkOneOf('code', code, ['runner_locked', 'not_captured', 'capture_in_progress'] as const),
      path: checkString('call', call),
      problem: checkString('problem', problem),
      fix: checkString('fix', fix),
    });
  }
}

/**
 * - `async_step`: a segment returned a promise (its work would launch after the capture ended);
 * - `forward_contract`: a generator forward (`segmentedForward`) broke its contract: it must
 *   `yield ctx.attention(layer, io)` once per layer, in order.
 */
export type StepErrorCode = 'async_step' | 'forward_contract';

/** A step (or the forward behind it) broke the step contract; `path` names the segment or call. */
export class StepError extends FlashgraphError {
  declare readonly code: StepErrorCode;

  constructor(code: StepErrorCode, path: string, problem: string, fix: string) {
    super({
      code: checkOneOf('code', code, ['async_step', 'forward_contract'] as const),
      path: checkString('path', path),
      problem: checkString('problem', problem),
      fix: checkString('fix', fix),
    });
  }
}

/**
 * - `already_capturing`: beginCapture() on a CpuStream that is capturing;
 * - `not_capturing`: endCapture() on a CpuStream that is not.
 */
export type CpuStreamErrorCode = 'already_capturing' | 'not_capturing';

/** A CpuStream was asked to begin or end a capture in the wrong state (the runner never does). */
export class CpuStreamError extends FlashgraphError {
  declare readonly code: CpuStreamErrorCode;

  constructor(code: CpuStreamErrorCode, call: string, problem: string) {
    super({
      code: checkOneOf('code', code, ['already_capturing', 'not_capturing'] as const),
      path: checkString('call', call),
      problem: checkString('problem', problem),
      fix: 'Pair every beginCapture() with one endCapture().',
    });
  }
}
