// The CPU backend's graph runner: the dispatch of @flashgraph/cuda-graph (pad to the capture
// size, full graph / piecewise / eager by the resolved mode, padded request counts from
// padRequestCount) over CpuStreamImpl's recorded closures. It exists because cuda-graph's runner
// core is not exported with a pluggable capture backend; with that export this file reduces to
// a CaptureBackend of a few lines.
import { type ResolvedGraphConfig, padToCaptureSize } from '@flashgraph/config';
import {
  type CaptureProgress,
  type GraphRunner,
  type GraphRunnerStats,
  type GraphStep,
  type RunBatch,
  type RunOutcome,
  type SizeStats,
  type StepContext,
  padRequestCount,
} from '@flashgraph/cuda-graph';
import { type CpuGraph, CpuStreamImpl } from './cpu-stream.js';
import { EngineError } from './errors.js';
import type { CpuStream } from './model.js';

type Segments = readonly { kind: 'graph' | 'eager'; run(ctx: StepContext<CpuStream>): void }[];

interface SizeRecord {
  size: number;
  fullMixed: CpuGraph | null;
  fullDecode: CpuGraph | null;
  pieces: (CpuGraph | null)[] | null;
  fullReplays: number;
  piecewiseReplays: number;
  paddingTokens: number;
  captureMs: number;
}

const ZERO_MEMORY = Object.freeze({ usedBytes: 0, highBytes: 0, reservedBytes: 0 });

export class CpuGraphRunner implements GraphRunner<CpuStream> {
  readonly stream: CpuStreamImpl;
  private readonly records = new Map<number, SizeRecord>();
  private segments: Segments | null = null;
  private state: 'idle' | 'locked' | 'disposed' = 'idle';
  private captureMs = 0;
  private eagerFallbacks = 0;
  private eagerAboveMax = 0;
  private readonly fullMixed: boolean;
  private readonly fullDecode: boolean;
  private readonly piecewise: boolean;

  constructor(
    readonly config: ResolvedGraphConfig,
    private readonly maxNumReqs: number,
    private readonly onProgress?: (event: CaptureProgress) => void,
  ) {
    this.stream = new CpuStreamImpl();
    this.fullMixed = config.fullGraphsFor === 'all';
    this.fullDecode = config.fullGraphsFor === 'uniform_decode';
    this.piecewise = config.piecewise && !this.fullMixed;
  }

  private ctx(numTokens: number, numReqs: number, uniformDecode: boolean, phase: StepContext['phase']): StepContext<CpuStream> {
    return Object.freeze({ stream: this.stream, numTokens, numReqs, uniformDecode, phase });
  }

  private reqs(size: number, uniformDecode: boolean): number {
    return padRequestCount({
      paddedTokens: size,
      uniformDecode,
      uniformDecodeQueryLen: this.config.uniformDecodeQueryLen,
      maxNumReqs: this.maxNumReqs,
    });
  }

  capture(step: GraphStep<CpuStream>): GraphRunnerStats {
    if (this.state !== 'idle') throw new EngineError('runner_state', `CpuGraphRunner.capture: the runner is ${this.state}`);
    if (typeof step === 'function') throw new TypeError('CpuGraphRunner.capture: the engine passes a segmented step');
    const segments = step.segments as Segments;
    const start = performance.now();
    const sizes = [...this.config.captureSizes].reverse();
    const needsGraphs = this.fullMixed || this.fullDecode || this.piecewise;
    const order = needsGraphs ? sizes : [];
    order.forEach((size, index) => {
      const sizeStart = performance.now();
      const emit = (phase: CaptureProgress['phase']) =>
        this.onProgress?.({ size, index, total: order.length, elapsedMs: performance.now() - start, phase });
      const record: SizeRecord = { size, fullMixed: null, fullDecode: null, pieces: null, fullReplays: 0, piecewiseReplays: 0, paddingTokens: 0, captureMs: 0 };
      const kinds: { graph: 'full' | 'piecewise'; uniformDecode: boolean }[] = [];
      if (this.fullMixed) kinds.push({ graph: 'full', uniformDecode: false });
      if (this.fullDecode) kinds.push({ graph: 'full', uniformDecode: true });
      if (this.piecewise) kinds.push({ graph: 'piecewise', uniformDecode: false });
      emit('warmup');
      for (const k of kinds) {
        const ctx = this.ctx(size, this.reqs(size, k.uniformDecode), k.uniformDecode, 'warmup');
        for (let w = 0; w < this.config.numWarmups; w++) for (const s of segments) s.run(ctx);
      }
      emit('capture');
      for (const k of kinds) {
        const ctx = this.ctx(size, this.reqs(size, k.uniformDecode), k.uniformDecode, 'capture');
        if (k.graph === 'full') {
          const graph = this.captureOne(() => {
            for (const s of segments) s.run(ctx);
          });
          if (k.uniformDecode) record.fullDecode = graph;
          else record.fullMixed = graph;
        } else {
          record.pieces = segments.map((s) => (s.kind === 'graph' ? this.captureOne(() => s.run(ctx)) : null));
        }
      }
      record.captureMs = performance.now() - sizeStart;
      this.records.set(size, record);
      emit('done');
    });
    this.captureMs = performance.now() - start;
    this.segments = segments;
    this.state = 'locked';
    return this.stats();
  }

  private captureOne(body: () => void): CpuGraph {
    this.stream.beginCapture();
    try {
      body();
    } catch (err) {
      this.stream.abortCapture();
      throw err;
    }
    return this.stream.endCapture();
  }

  private route(batch: RunBatch): { mode: 'full' | 'piecewise'; record: SizeRecord; outcome: RunOutcome } | null {
    const size = batch.numTokens <= this.config.maxCaptureSize ? padToCaptureSize(this.config, batch.numTokens) : undefined;
    if (size === undefined) return null;
    const record = this.records.get(size);
    if (!record) return null;
    if (batch.uniformDecode && record.fullDecode) {
      return { mode: 'full', record, outcome: { mode: 'full', paddedTokens: size, paddedReqs: this.reqs(size, true) } };
    }
    if (record.fullMixed) return { mode: 'full', record, outcome: { mode: 'full', paddedTokens: size, paddedReqs: this.reqs(size, false) } };
    if (record.pieces) {
      return { mode: 'piecewise', record, outcome: { mode: 'piecewise', paddedTokens: size, paddedReqs: this.reqs(size, false) } };
    }
    return null;
  }

  plan(batch: RunBatch): RunOutcome {
    const r = this.route(batch);
    return r ? r.outcome : { mode: 'eager', paddedTokens: batch.numTokens, paddedReqs: batch.numReqs };
  }

  run(batch: RunBatch): RunOutcome {
    if (this.state !== 'locked' || !this.segments) throw new EngineError('runner_state', `CpuGraphRunner.run: the runner is ${this.state}; capture first`);
    const r = this.route(batch);
    if (!r) {
      const ctx = this.ctx(batch.numTokens, batch.numReqs, batch.uniformDecode, 'eager');
      for (const s of this.segments) s.run(ctx);
      this.eagerFallbacks++;
      if (this.records.size > 0 && batch.numTokens > this.config.maxCaptureSize) this.eagerAboveMax++;
      return { mode: 'eager', paddedTokens: batch.numTokens, paddedReqs: batch.numReqs };
    }
    const { record, outcome } = r;
    if (r.mode === 'full') {
      CpuStreamImpl.replay((batch.uniformDecode && record.fullDecode ? record.fullDecode : record.fullMixed) as CpuGraph);
      record.fullReplays++;
    } else {
      const ctx = this.ctx(outcome.paddedTokens, outcome.paddedReqs, batch.uniformDecode, 'eager');
      const pieces = record.pieces as (CpuGraph | null)[];
      this.segments.forEach((s, i) => {
        const piece = pieces[i];
        if (piece) CpuStreamImpl.replay(piece);
        else s.run(ctx);
      });
      record.piecewiseReplays++;
    }
    record.paddingTokens += outcome.paddedTokens - batch.numTokens;
    return outcome;
  }

  stats(): GraphRunnerStats {
    const sizes: SizeStats[] = [...this.records.values()]
      .sort((a, b) => a.size - b.size)
      .map((r) => ({
        size: r.size,
        fullReplays: r.fullReplays,
        piecewiseReplays: r.piecewiseReplays,
        replays: r.fullReplays + r.piecewiseReplays,
        paddingTokens: r.paddingTokens,
        captureMs: r.captureMs,
        graphs: (r.fullMixed ? 1 : 0) + (r.fullDecode ? 1 : 0) + (r.pieces ? r.pieces.filter(Boolean).length : 0),
      }));
    return {
      mode: this.config.mode,
      state: this.state,
      sizes,
      graphs: sizes.reduce((n, s) => n + s.graphs, 0),
      captureMs: this.captureMs,
      graphMemory: ZERO_MEMORY,
      graphMemoryAtCaptureStart: null,
      replays: sizes.reduce((n, s) => n + s.replays, 0),
      eagerFallbacks: this.eagerFallbacks,
      eagerAboveMax: this.eagerAboveMax,
    };
  }

  reset(): void {
    this.records.clear();
    this.segments = null;
    if (this.state !== 'disposed') this.state = 'idle';
  }

  dispose(): void {
    this.reset();
    this.state = 'disposed';
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
