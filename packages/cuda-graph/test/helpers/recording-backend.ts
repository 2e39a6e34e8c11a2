// A recording CaptureBackend for CPU tests (never shipped). It mimics the CUDA capture rules that
// matter to the runner: work launched while capturing is recorded into the graph instead of run;
// synchronizing or allocating while capturing invalidates the capture (the call fails and
// endCapture then fails too); replaying an exec runs the recorded work.
import type { CaptureBackend } from '../../src/capture-backend.js';
import type { GraphMemory } from '../../src/types.js';

export type Op = 'begin' | 'end' | 'instantiate' | 'upload' | 'synchronize';

export class FakeStream {
  constructor(private readonly backend: RecordingBackend) {}
  /** Launch a "kernel": recorded into the graph while capturing, else executed now. */
  kernel(name: string): void {
    this.backend.kernel(name);
  }
  synchronize(): void {
    this.backend.synchronize();
  }
  /** Like cudaMalloc: not allowed while capturing. */
  alloc(): void {
    this.backend.alloc();
  }
}

export class FakeGraph {
  disposed = false;
  constructor(
    readonly id: number,
    readonly nodes: readonly string[],
  ) {}
}

export class FakeExec {
  disposed = false;
  uploaded = false;
  constructor(
    readonly id: number,
    readonly nodes: readonly string[],
  ) {}
}

/** Bytes of "graph memory" the fake driver accounts per live exec. */
export const BYTES_PER_EXEC = 4096;

export class RecordingBackend implements CaptureBackend<FakeStream, FakeGraph, FakeExec> {
  readonly stream: FakeStream;
  /** Every backend call, in order. */
  readonly calls: string[] = [];
  /** Kernels that actually ran on the "device", in order. */
  readonly executed: string[] = [];
  capturing = false;
  invalidated = false;
  private nodes: string[] = [];
  private nextId = 1;
  readonly liveGraphs = new Set<FakeGraph>();
  readonly liveExecs = new Set<FakeExec>();
  released = 0;
  /** Make the n-th call (1-based) of an operation throw. */
  private failures = new Map<Op, number>();
  private counts = new Map<Op, number>();
  highBytes = 0;

  constructor() {
    this.stream = new FakeStream(this);
  }

  failOn(op: Op, nth = 1): void {
    this.failures.set(op, (this.counts.get(op) ?? 0) + nth);
  }

  private tick(op: Op): void {
    const count = (this.counts.get(op) ?? 0) + 1;
    this.counts.set(op, count);
    if (this.failures.get(op) === count) {
      this.failures.delete(op);
      throw new Error(`cudaErrorInjected: ${op} #${count} failed`);
    }
  }

  kernel(name: string): void {
    if (this.capturing) {
      if (!this.invalidated) this.nodes.push(name);
    } else this.executed.push(name);
  }

  alloc(): void {
    if (this.capturing) {
      this.invalidated = true;
      throw new Error('cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing');
    }
  }

  beginCapture(): void {
    this.calls.push('begin');
    if (this.capturing) throw new Error('cudaErrorIllegalState: stream is already capturing');
    this.tick('begin');
    this.capturing = true;
    this.invalidated = false;
    this.nodes = [];
  }

  endCapture(): FakeGraph {
    this.calls.push('end');
    if (!this.capturing) throw new Error('cudaErrorIllegalState: stream is not capturing');
    this.capturing = false;
    if (this.invalidated) {
      this.invalidated = false;
      throw new Error('cudaErrorStreamCaptureInvalidated: the capture was invalidated');
    }
    this.tick('end');
    const graph = new FakeGraph(this.nextId++, this.nodes);
    this.liveGraphs.add(graph);
    return graph;
  }

  isCapturing(): boolean {
    return this.capturing;
  }

  synchronize(): void {
    this.calls.push('synchronize');
    if (this.capturing) {
      this.invalidated = true;
      throw new Error('cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing');
    }
    this.tick('synchronize');
  }

  instantiate(g: FakeGraph): FakeExec {
    this.calls.push(`instantiate:${g.id}`);
    if (g.disposed) throw new Error('instantiate of a disposed graph');
    this.tick('instantiate');
    const exec = new FakeExec(g.id, g.nodes);
    this.liveExecs.add(exec);
    this.highBytes = Math.max(this.highBytes, this.liveExecs.size * BYTES_PER_EXEC);
    return exec;
  }

  disposeGraph(g: FakeGraph): void {
    this.calls.push(`disposeGraph:${g.id}`);
    if (g.disposed) throw new Error('double dispose of a graph');
    g.disposed = true;
    this.liveGraphs.delete(g);
  }

  upload(e: FakeExec): void {
    this.calls.push(`upload:${e.id}`);
    this.tick('upload');
    e.uploaded = true;
  }

  launch(e: FakeExec): void {
    if (e.disposed) throw new Error('launch of a disposed exec');
    if (!e.uploaded) throw new Error('launch of an exec that was never uploaded');
    this.calls.push(`launch:${e.id}`);
    for (const node of e.nodes) this.executed.push(node);
  }

  disposeExec(e: FakeExec): void {
    this.calls.push(`disposeExec:${e.id}`);
    if (e.disposed) throw new Error('double dispose of an exec');
    e.disposed = true;
    this.liveExecs.delete(e);
  }

  graphMemory(): GraphMemory {
    const used = this.liveExecs.size * BYTES_PER_EXEC;
    return { usedBytes: used, reservedBytes: used, highBytes: this.highBytes };
  }

  release(): void {
    this.released++;
  }

  /** Calls of one kind, e.g. 'begin' or 'launch'. */
  count(prefix: string): number {
    return this.calls.filter((c) => c === prefix || c.startsWith(`${prefix}:`)).length;
  }
}
