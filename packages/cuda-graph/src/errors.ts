// Error classes of @flashgraph/cuda-graph: each has a stable `code` and says what to do.

/** Where a capture failed. */
export type CapturePhase = 'warmup' | 'capture' | 'instantiate' | 'upload';

export interface GraphCaptureErrorDetails {
  size: number;
  phase: CapturePhase;
  /** The graph being captured: a full graph, or one segment of the piecewise graphs. */
  graph: 'full' | 'piecewise';
  uniformDecode: boolean;
  /** The segment index, for piecewise graphs. */
  segment?: number;
  cause: unknown;
}

function causeMessage(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
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

/**
 * A capture failed. The capture was ended, the partial graph destroyed and every graph of this
 * `capture()` call freed; the stream is usable and the runner can capture again.
 */
export class GraphCaptureError extends Error {
  readonly code = 'GRAPH_CAPTURE_FAILED' as const;
  readonly size: number;
  readonly phase: CapturePhase;
  readonly graph: 'full' | 'piecewise';
  readonly uniformDecode: boolean;
  readonly segment: number | undefined;

  constructor(details: GraphCaptureErrorDetails) {
    const what =
      details.graph === 'full'
        ? `full graph${details.uniformDecode ? ' (uniform decode)' : ''}`
        : `piecewise graph segment ${details.segment}`;
    super(
      `capture of size ${details.size} failed during ${details.phase} (${what}): ${causeMessage(details.cause)}. ${fixFor(details.phase, details.cause)}`,
      { cause: details.cause },
    );
    this.name = 'GraphCaptureError';
    this.size = details.size;
    this.phase = details.phase;
    this.graph = details.graph;
    this.uniformDecode = details.uniformDecode;
    this.segment = details.segment;
  }
}

export type GraphRunnerErrorCode = 'RUNNER_LOCKED' | 'NOT_CAPTURED' | 'RUNNER_DISPOSED' | 'CAPTURE_IN_PROGRESS';

/** The runner was used in a state that does not allow the call. */
export class GraphRunnerError extends Error {
  readonly code: GraphRunnerErrorCode;

  constructor(code: GraphRunnerErrorCode, message: string) {
    super(message);
    this.name = 'GraphRunnerError';
    this.code = code;
  }
}
