// Graph (a captured cudaGraph_t) and GraphExec (its instantiation, launched on streams).
import { DisposedError } from '@flashgraph/errors';
import { anyCapturing, callNative } from './capture-guard.js';
import { deviceMismatch, liveStream } from './handles.js';
import { internalToken } from './internal-token.js';
import { requireCuda } from './status.js';
import type { Stream } from './stream.js';
import { notConstructible, wrongObject } from './validate.js';

interface GraphState {
  handle: bigint;
  device: number;
  disposed: boolean;
}

const graphStates = new WeakMap<object, GraphState>();
const execStates = new WeakMap<object, GraphState>();

// Safety nets for graphs and execs dropped without dispose().
const graphFinalizer = new FinalizationRegistry<bigint>((handle) => {
  try {
    requireCuda().graphDestroy(handle);
  } catch {
    // nothing to report to
  }
});
const execFinalizer = new FinalizationRegistry<bigint>((handle) => {
  if (anyCapturing()) return; // may synchronize: leak rather than break a capture
  try {
    requireCuda().graphExecDestroy(handle);
  } catch {
    // nothing to report to
  }
});

function liveGraph(value: unknown, name: string): GraphState {
  const g = typeof value === 'object' && value !== null ? graphStates.get(value) : undefined;
  if (!g) throw wrongObject(name, value, 'a Graph (from stream.endCapture())');
  if (g.disposed) throw new DisposedError('Graph', name);
  return g;
}

function execState(value: object): GraphState {
  const e = execStates.get(value);
  if (!e) throw wrongObject('this', value, 'a GraphExec (from graph.instantiate())');
  if (e.disposed) throw new DisposedError('GraphExec');
  return e;
}

function launchStream(stream: unknown, device: number): bigint {
  const s = liveStream(stream, 'stream');
  if (s.device !== device) throw deviceMismatch('stream', s.device, device, 'the graph');
  return s.handle;
}

/** A captured CUDA graph. Instantiate it to launch it. */
export class Graph {
  /** @internal graphs come from stream.endCapture() */
  constructor(token: symbol, handle: bigint, device: number) {
    if (token !== internalToken) throw notConstructible('Graph', 'stream.endCapture()');
    graphStates.set(this, { handle, device, disposed: false });
    graphFinalizer.register(this, handle, this);
  }

  /** cudaGraphInstantiate: an executable graph, independent of this one afterwards. */
  instantiate(): GraphExec {
    const g = liveGraph(this, 'this');
    const native = requireCuda();
    const exec = callNative(native, () => native.graphInstantiate(g.device, g.handle));
    return new GraphExec(internalToken, exec, g.device);
  }

  /** Number of nodes in the graph (kernels, copies, memsets, ...). */
  nodeCount(): number {
    const g = liveGraph(this, 'this');
    const native = requireCuda();
    return callNative(native, () => native.graphNodeCount(g.handle));
  }

  /** Destroys the graph (instantiated GraphExecs stay valid). Idempotent. */
  dispose(): void {
    const g = graphStates.get(this);
    if (!g || g.disposed) return;
    const native = requireCuda();
    callNative(native, () => native.graphDestroy(g.handle));
    graphFinalizer.unregister(this);
    g.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** An instantiated graph: launch it on a stream as often as needed. */
export class GraphExec {
  /** @internal GraphExecs come from graph.instantiate() */
  constructor(token: symbol, handle: bigint, device: number) {
    if (token !== internalToken) throw notConstructible('GraphExec', 'graph.instantiate()');
    execStates.set(this, { handle, device, disposed: false });
    execFinalizer.register(this, handle, this);
  }

  /** Enqueues one replay of the graph on `stream` (cudaGraphLaunch). */
  launch(stream: Stream): void {
    const e = execState(this);
    const handle = launchStream(stream, e.device);
    const native = requireCuda();
    callNative(native, () => native.graphLaunch(e.handle, handle), [handle]);
  }

  /** Uploads the graph's work descriptors ahead of the first launch (cudaGraphUpload). */
  upload(stream: Stream): void {
    const e = execState(this);
    const handle = launchStream(stream, e.device);
    const native = requireCuda();
    callNative(native, () => native.graphUpload(e.handle, handle), [handle]);
  }

  /**
   * Updates this executable graph in place from a graph of the same topology (new kernel
   * arguments, pointers, copy sizes): cudaGraphExecUpdate. `ok: false` with a `reason` when the
   * change is not updatable; the GraphExec then stays as it was.
   */
  update(graph: Graph): { ok: boolean; reason?: string } {
    const e = execState(this);
    const g = liveGraph(graph, 'graph');
    const native = requireCuda();
    const r = callNative(native, () => native.graphExecUpdate(e.handle, g.handle));
    return r.ok ? { ok: true } : { ok: false, reason: r.reason ?? 'cudaGraphExecUpdate failed' };
  }

  /** Destroys the executable graph. Idempotent. */
  dispose(): void {
    const e = execStates.get(this);
    if (!e || e.disposed) return;
    const native = requireCuda();
    callNative(native, () => native.graphExecDestroy(e.handle));
    execFinalizer.unregister(this);
    e.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
