// The small GPU-facing surface the runner uses. The default implementation (`cuda-backend.ts`) is
// a thin adapter over @flashgraph/cuda; `createGraphRunnerWithBackend` takes any other, so the
// capture, padding and dispatch logic serves runtimes with their own notion of a graph (a CPU
// backend recording closures, a recording double in tests).
import type { GraphMemory } from './types.js';

/** A captured, not yet instantiated graph: the default graph type of a CaptureBackend. */
export type GraphHandle = object;
/** An instantiated graph: the default exec type of a CaptureBackend. */
export type ExecHandle = object;

/**
 * What the runner needs from a device runtime. The runner calls it in this order:
 *
 * - `capture()`: `graphMemory()`; per size, warm-ups run the step on `stream`, then
 *   `synchronize()`; per graph `beginCapture()`, the step's segments launch on `stream`,
 *   `endCapture()`, `instantiate(graph)`, `disposeGraph(graph)` (the exec must not depend on its
 *   graph afterwards), `upload(exec)`; finally `synchronize()`. When a step throws mid-capture, the
 *   runner ends the capture (`isCapturing()`, `endCapture()`, `disposeGraph()`), frees every exec
 *   of this capture and rethrows; a capture it did not begin is never ended.
 * - `run()`: `launch(exec)` per replayed graph; eager segments run on `stream` in between.
 * - `reset()` / `dispose()`: `disposeExec(exec)` for every exec; `dispose()` then calls
 *   `release()` exactly once.
 *
 * Every method reports failure by throwing; the runner wraps capture-time failures in
 * `GraphCaptureError`. Handles are only ever passed back to the same backend. `G` and `E` are the
 * backend's own graph and exec types (`Graph`/`GraphExec` of @flashgraph/cuda, a closure list on
 * the CPU), so an implementation needs no casts.
 */
export interface CaptureBackend<S, G = GraphHandle, E = ExecHandle> {
  /** The stream handed to steps as `ctx.stream` (and exposed as `runner.stream`). */
  readonly stream: S;
  /** Starts recording the work launched on `stream` into a graph. */
  beginCapture(): void;
  /** Ends the capture on the stream; throws when the capture was invalidated. */
  endCapture(): G;
  isCapturing(): boolean;
  /** Waits for the work launched on `stream`; asynchronous failures surface here. */
  synchronize(): void;
  /** An executable graph; may return `graph` itself when there is no separate form. */
  instantiate(graph: G): E;
  disposeGraph(graph: G): void;
  /** Makes `exec` ready to launch (a no-op where nothing needs staging). */
  upload(exec: E): void;
  /** Replays `exec` on `stream`. */
  launch(exec: E): void;
  disposeExec(exec: E): void;
  /** Memory held by graphs on the stream's device (zeros where there is no such thing). */
  graphMemory(): GraphMemory;
  /** Called once by the runner's dispose(): releases what the backend created. */
  release(): void;
}
