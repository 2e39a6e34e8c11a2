// The small GPU-facing surface the runner uses. The real implementation (`cuda-backend.ts`) is a
// thin adapter over @flashgraph/cuda; keeping the surface this narrow lets the capture, padding and
// dispatch logic run on the CPU against a recording double in tests.
import type { GraphMemory } from './types.js';

/** A captured, not yet instantiated graph (opaque to the runner). */
export type GraphHandle = object;
/** An instantiated graph (opaque to the runner). */
export type ExecHandle = object;

export interface CaptureBackend<S> {
  /** The stream handed to steps as `ctx.stream`. */
  readonly stream: S;
  beginCapture(): void;
  /** Ends the capture on the stream; throws when the capture was invalidated. */
  endCapture(): GraphHandle;
  isCapturing(): boolean;
  synchronize(): void;
  instantiate(graph: GraphHandle): ExecHandle;
  disposeGraph(graph: GraphHandle): void;
  upload(exec: ExecHandle): void;
  launch(exec: ExecHandle): void;
  disposeExec(exec: ExecHandle): void;
  /** The driver's graph memory of the stream's device. */
  graphMemory(): GraphMemory;
  /** Called once by the runner's dispose(): releases what the backend created. */
  release(): void;
}
