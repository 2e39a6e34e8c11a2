// The graph runner: capture (largest size first), dispatch (pad, replay or run eagerly), stats and
// lifetime. All GPU work goes through a CaptureBackend, so this file runs on the CPU in tests.
import { captureSizeLookup, type ResolvedGraphConfig } from '@flashgraph/config';
import { DisposedError } from '@flashgraph/errors';
import type { CaptureBackend } from './capture-backend.js';
import { buildCapturePlan, type CapturePlan, type SizePlan } from './capture-plan.js';
import { type CapturePhase, GraphCaptureError, GraphRunnerError } from './errors.js';
import { type NormalizedSegment, normalizeStep, runAllSegments, runSegment, type SegmentCursor } from './step.js';
import type {
  CaptureProgress,
  GraphMemory,
  GraphRunner,
  GraphRunnerStats,
  GraphStep,
  RunBatch,
  RunOutcome,
  SizeStats,
  StepContext,
} from './types.js';
import { checkBatch } from './validate.js';

const EAGER = 0;
const FULL = 1;
const PIECEWISE = 2;
type RouteKind = typeof EAGER | typeof FULL | typeof PIECEWISE;

/** What a batch of one size and uniformity does; precomputed so run() only follows pointers. */
interface Route<S, E> {
  readonly kind: RouteKind;
  readonly record: SizeRecord<S, E>;
  /** Shared frozen outcome of every replay through this route. */
  readonly outcome: RunOutcome;
  /** Context of eager segments between piecewise graphs. */
  readonly ctx: StepContext<S>;
  /** The full graph (FULL), set at capture. */
  exec: E | null;
}

interface SizeRecord<S, E> {
  readonly plan: SizePlan;
  mixed: Route<S, E>;
  decode: Route<S, E>;
  fullMixed: E | null;
  fullDecode: E | null;
  /** Piecewise graphs by segment index; null entries are eager segments. */
  pieces: (E | null)[] | null;
  fullReplays: number;
  decodeGraphReplays: number;
  piecewiseReplays: number;
  paddingTokens: number;
  captureMs: number;
}

type State = 'idle' | 'capturing' | 'locked' | 'disposed';

export interface RunnerCoreOptions<S, G, E> {
  config: ResolvedGraphConfig;
  /** The checked copy of `config` (validateConfig) the runner plans from. */
  checked: ResolvedGraphConfig;
  backend: CaptureBackend<S, G, E>;
  onProgress?: ((event: CaptureProgress) => void) | undefined;
  maxNumReqs?: number | undefined;
}

function frozenCtx<S>(
  stream: S,
  numTokens: number,
  numReqs: number,
  uniformDecode: boolean,
  phase: StepContext<S>['phase'],
  graph: StepContext<S>['graph'],
  decodeGraph: boolean,
): StepContext<S> {
  return Object.freeze({ stream, numTokens, numReqs, uniformDecode, phase, graph, decodeGraph });
}

/** The runner over any backend; `createGraphRunner` wires it to @flashgraph/cuda. */
export class RunnerCore<S, G = unknown, E = unknown> implements GraphRunner<S> {
  readonly config: ResolvedGraphConfig;
  readonly stream: S;
  private readonly checked: ResolvedGraphConfig;
  private readonly backend: CaptureBackend<S, G, E>;
  private readonly onProgress: ((event: CaptureProgress) => void) | undefined;
  private readonly maxNumReqs: number | undefined;
  private readonly plan_: CapturePlan;
  private readonly records: SizeRecord<S, E>[];
  private readonly queryLen: number;
  private readonly maxNumTokens: number;
  /** The config package owns "smallest capture size >= n" (O(1), O(number of sizes) memory). */
  private readonly padIndex: (numTokens: number) => number;
  private state: State = 'idle';
  private segments: readonly NormalizedSegment<S>[] | null = null;
  private captureMs = 0;
  private memAtCaptureStart: GraphMemory | null = null;
  private eagerFallbacks = 0;
  private eagerAboveMax = 0;

  constructor(options: RunnerCoreOptions<S, G, E>) {
    this.config = options.config;
    this.checked = options.checked;
    this.backend = options.backend;
    this.stream = options.backend.stream;
    this.onProgress = options.onProgress;
    this.maxNumReqs = options.maxNumReqs;
    this.queryLen = options.checked.uniformDecodeQueryLen;
    this.maxNumTokens = options.checked.maxNumBatchedTokens;
    this.plan_ = buildCapturePlan(options.checked, options.maxNumReqs);
    this.padIndex = captureSizeLookup(options.checked);
    this.records = this.plan_.sizes.map((plan) => this.makeRecord(plan));
  }

  private makeRecord(plan: SizePlan): SizeRecord<S, E> {
    const record = {
      plan,
      fullMixed: null,
      fullDecode: null,
      pieces: null,
      fullReplays: 0,
      decodeGraphReplays: 0,
      piecewiseReplays: 0,
      paddingTokens: 0,
      captureMs: 0,
    } as unknown as SizeRecord<S, E>;
    record.mixed = this.makeRoute(record, false);
    record.decode = this.makeRoute(record, true);
    return record;
  }

  private makeRoute(record: SizeRecord<S, E>, uniformDecode: boolean): Route<S, E> {
    const { plan } = record;
    // The config package decides how this size and uniformity runs; the runner only follows it.
    const { graph: mode, decodeGraph } = uniformDecode ? plan.decode : plan.mixed;
    const kind: RouteKind = mode === 'full' ? FULL : mode === 'piecewise' ? PIECEWISE : EAGER;
    const reqs = decodeGraph ? plan.decodeReqs : plan.mixedReqs;
    return {
      kind,
      record,
      outcome: Object.freeze({ mode, paddedTokens: plan.size, paddedReqs: reqs, decodeGraph }),
      // Eager segments between piecewise graphs: the step runs piecewise, never in a decode graph.
      ctx: frozenCtx(this.stream, plan.size, reqs, uniformDecode, 'eager', 'piecewise', false),
      exec: null,
    };
  }

  // ---- dispatch ------------------------------------------------------------------------------

  /** The route of a batch; null when it runs eagerly (above the max, or the mode says so). */
  private routeOf(batch: RunBatch): Route<S, E> | null {
    checkBatch(batch, this.queryLen, this.maxNumReqs, this.maxNumTokens);
    const n = batch.numTokens;
    if (n > this.plan_.maxCaptureSize) return null;
    const index = this.padIndex(n);
    if (index < 0) return null;
    const record = this.records[index]!;
    const route = batch.uniformDecode ? record.decode : record.mixed;
    return route.kind === EAGER ? null : route;
  }

  plan(batch: RunBatch): RunOutcome {
    if (this.state === 'disposed') throw this.disposedError('plan');
    const route = this.routeOf(batch);
    return route === null ? eagerOutcome(batch) : route.outcome;
  }

  run(batch: RunBatch): RunOutcome {
    if (this.state !== 'locked') throw this.stateError('run');
    const route = this.routeOf(batch);
    if (route === null) return this.runEager(batch);
    const record = route.record;
    if (route.kind === FULL) {
      this.backend.launch(route.exec!);
      record.fullReplays++;
      if (route.outcome.decodeGraph) record.decodeGraphReplays++;
    } else {
      const pieces = record.pieces!;
      const segments = this.segments!;
      for (let i = 0; i < pieces.length; i++) {
        const exec = pieces[i];
        if (exec) this.backend.launch(exec);
        else runSegment(segments[i]!, route.ctx, i);
      }
      record.piecewiseReplays++;
    }
    record.paddingTokens += record.plan.size - batch.numTokens;
    return route.outcome;
  }

  private runEager(batch: RunBatch): RunOutcome {
    const { numTokens, numReqs, uniformDecode } = batch;
    runAllSegments(this.segments!, frozenCtx(this.stream, numTokens, numReqs, uniformDecode, 'eager', 'eager', false));
    this.eagerFallbacks++;
    if (this.records.length > 0 && numTokens > this.plan_.maxCaptureSize) this.eagerAboveMax++;
    return eagerOutcome(batch);
  }

  // ---- capture -------------------------------------------------------------------------------

  capture(step: GraphStep<S>): GraphRunnerStats {
    if (this.state !== 'idle') throw this.stateError('capture');
    const segments = normalizeStep(
      step,
      this.plan_.sizes.some((s) => s.piecewise),
      this.checked.mode,
    );
    this.state = 'capturing';
    try {
      this.memAtCaptureStart = this.backend.graphMemory();
      this.captureAll(segments);
      // Uploads are asynchronous; their failures surface here, not at the first replay.
      this.backend.synchronize();
    } catch (error) {
      this.freeGraphs(false);
      this.state = 'idle';
      throw error;
    }
    this.segments = segments;
    this.state = 'locked';
    return this.stats();
  }

  private captureAll(segments: readonly NormalizedSegment<S>[]): void {
    const order = this.records.filter((r) => r.plan.fullMixed || r.plan.fullDecode || r.plan.piecewise).reverse();
    const total = order.length;
    const start = performance.now();
    const emit = (size: number, index: number, phase: CaptureProgress['phase']) =>
      this.onProgress?.({ size, index, total, elapsedMs: performance.now() - start, phase });
    const { numWarmups } = this.checked;
    this.captureMs = 0;

    order.forEach((record, index) => {
      const { plan } = record;
      const sizeStart = performance.now();
      const mixed = (phase: 'warmup' | 'capture', graph: 'full' | 'piecewise') =>
        frozenCtx(this.stream, plan.size, plan.mixedReqs, false, phase, graph, false);
      const decode = (phase: 'warmup' | 'capture') =>
        frozenCtx(this.stream, plan.size, plan.decodeReqs, true, phase, 'full', true);
      const kinds: { graph: 'full' | 'piecewise'; uniformDecode: boolean }[] = [];
      if (plan.fullMixed) kinds.push({ graph: 'full', uniformDecode: false });
      if (plan.fullDecode) kinds.push({ graph: 'full', uniformDecode: true });
      if (plan.piecewise) kinds.push({ graph: 'piecewise', uniformDecode: false });

      emit(plan.size, index, 'warmup');
      for (const kind of kinds) {
        const ctx = kind.uniformDecode ? decode('warmup') : mixed('warmup', kind.graph);
        const cursor: SegmentCursor = { index: -1 };
        this.guard(plan.size, 'warmup', kind.graph, kind.uniformDecode, cursor, () => {
          for (let w = 0; w < numWarmups; w++) runAllSegments(segments, ctx, cursor);
        });
      }
      if (numWarmups > 0) {
        // Warm-up kernels fail asynchronously; surface that against this size, before capturing.
        this.guard(plan.size, 'warmup', kinds[0]!.graph, kinds[0]!.uniformDecode, { index: -1 }, () =>
          this.backend.synchronize(),
        );
      }

      emit(plan.size, index, 'capture');
      for (const kind of kinds) {
        if (kind.graph === 'full') {
          const ctx = kind.uniformDecode ? decode('capture') : mixed('capture', 'full');
          const cursor: SegmentCursor = { index: -1 };
          const exec = this.captureOne(plan.size, 'full', kind.uniformDecode, cursor, () =>
            runAllSegments(segments, ctx, cursor),
          );
          if (kind.uniformDecode) record.fullDecode = exec;
          else record.fullMixed = exec;
        } else {
          const ctx = mixed('capture', 'piecewise');
          const pieces: (E | null)[] = segments.map(() => null);
          record.pieces = pieces;
          segments.forEach((segment, i) => {
            if (segment.kind !== 'graph') return;
            pieces[i] = this.captureOne(plan.size, 'piecewise', false, { index: i }, () => runSegment(segment, ctx, i));
          });
        }
      }
      record.mixed.exec = record.mixed.kind === FULL ? record.fullMixed : null;
      record.decode.exec = record.decode.kind === FULL ? (record.fullDecode ?? record.fullMixed) : null;
      record.captureMs = performance.now() - sizeStart;
      this.captureMs += record.captureMs;
      emit(plan.size, index, 'done');
    });
  }

  private guard(
    size: number,
    phase: CapturePhase,
    graph: 'full' | 'piecewise',
    uniformDecode: boolean,
    cursor: SegmentCursor,
    body: () => void,
  ): void {
    try {
      body();
    } catch (cause) {
      throw new GraphCaptureError({ size, phase, graph, uniformDecode, segment: segmentOf(cursor), cause });
    }
  }

  /** Capture, instantiate and upload one graph; on failure nothing of it is left behind. */
  private captureOne(
    size: number,
    graph: 'full' | 'piecewise',
    uniformDecode: boolean,
    cursor: SegmentCursor,
    body: () => void,
  ): E {
    const fail = (phase: CapturePhase, cause: unknown) =>
      new GraphCaptureError({
        size,
        phase,
        graph,
        uniformDecode,
        segment: phase === 'capture' ? segmentOf(cursor) : graph === 'piecewise' ? cursor.index : undefined,
        cause,
      });
    const backend = this.backend;
    try {
      backend.beginCapture();
    } catch (cause) {
      // Nothing was begun; a capture already open on the stream is not ours to end.
      throw fail('capture', cause);
    }
    let captured: G;
    try {
      body();
      captured = backend.endCapture();
    } catch (cause) {
      this.abortCapture();
      throw fail('capture', cause);
    }
    let exec: E;
    try {
      exec = backend.instantiate(captured);
    } catch (cause) {
      quietly(() => backend.disposeGraph(captured));
      throw fail('instantiate', cause);
    }
    try {
      // The exec is independent of its template graph once instantiated.
      backend.disposeGraph(captured);
    } catch (cause) {
      quietly(() => backend.disposeExec(exec));
      throw fail('instantiate', cause);
    }
    try {
      backend.upload(exec);
    } catch (cause) {
      quietly(() => backend.disposeExec(exec));
      throw fail('upload', cause);
    }
    return exec;
  }

  /** Ends a capture the step broke, so the stream is usable again; the partial graph is freed. */
  private abortCapture(): void {
    // An invalidated capture fails to end, but ending it is what returns the stream to normal.
    quietly(() => {
      if (!this.backend.isCapturing()) return;
      const partial = this.backend.endCapture();
      this.backend.disposeGraph(partial);
    });
  }

  // ---- lifetime ------------------------------------------------------------------------------

  private freeGraphs(rethrow: boolean): void {
    let firstError: unknown;
    const free = (exec: E | null) => {
      if (exec === null) return;
      try {
        this.backend.disposeExec(exec);
      } catch (error) {
        firstError ??= error;
      }
    };
    for (const record of this.records) {
      free(record.fullMixed);
      free(record.fullDecode);
      record.pieces?.forEach(free);
      record.fullMixed = null;
      record.fullDecode = null;
      record.pieces = null;
      record.mixed.exec = null;
      record.decode.exec = null;
      record.fullReplays = 0;
      record.decodeGraphReplays = 0;
      record.piecewiseReplays = 0;
      record.paddingTokens = 0;
      record.captureMs = 0;
    }
    this.segments = null;
    this.captureMs = 0;
    if (rethrow && firstError !== undefined) throw firstError;
  }

  reset(): void {
    if (this.state === 'disposed') throw this.disposedError('reset');
    if (this.state === 'capturing') throw this.stateError('reset');
    this.state = 'idle';
    this.eagerFallbacks = 0;
    this.eagerAboveMax = 0;
    this.memAtCaptureStart = null;
    this.freeGraphs(true);
  }

  dispose(): void {
    if (this.state === 'disposed') return;
    if (this.state === 'capturing') throw this.stateError('dispose');
    this.state = 'disposed';
    try {
      this.freeGraphs(true);
    } finally {
      this.backend.release();
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- stats ---------------------------------------------------------------------------------

  stats(): GraphRunnerStats {
    const sizes: SizeStats[] = [];
    let graphs = 0;
    let replays = 0;
    for (const record of this.records) {
      const count =
        (record.fullMixed ? 1 : 0) +
        (record.fullDecode ? 1 : 0) +
        (record.pieces?.filter((p) => p !== null).length ?? 0);
      if (count === 0) continue;
      graphs += count;
      replays += record.fullReplays + record.piecewiseReplays;
      sizes.push(
        Object.freeze({
          size: record.plan.size,
          fullReplays: record.fullReplays,
          decodeGraphReplays: record.decodeGraphReplays,
          piecewiseReplays: record.piecewiseReplays,
          replays: record.fullReplays + record.piecewiseReplays,
          paddingTokens: record.paddingTokens,
          captureMs: record.captureMs,
          graphs: count,
        }),
      );
    }
    return Object.freeze({
      mode: this.checked.mode,
      state: this.state === 'capturing' ? 'idle' : this.state,
      sizes: Object.freeze(sizes),
      graphs,
      captureMs: this.captureMs,
      graphMemory: this.backend.graphMemory(),
      graphMemoryAtCaptureStart: this.memAtCaptureStart,
      replays,
      eagerFallbacks: this.eagerFallbacks,
      eagerAboveMax: this.eagerAboveMax,
    });
  }

  // ---- errors --------------------------------------------------------------------------------

  private disposedError(call: string): DisposedError {
    return new DisposedError('GraphRunner', `${call}()`);
  }

  private stateError(call: string): GraphRunnerError | DisposedError {
    const where = `${call}()`;
    switch (this.state) {
      case 'disposed':
        return this.disposedError(call);
      case 'capturing':
        return new GraphRunnerError(
          'capture_in_progress',
          where,
          'capture() is in progress',
          'A step must not call back into its runner.',
        );
      case 'locked':
        return new GraphRunnerError(
          'runner_locked',
          where,
          'the runner already holds captured graphs and is locked',
          'Call reset() first to free them and capture again.',
        );
      default:
        return new GraphRunnerError('not_captured', where, 'nothing was captured yet', 'Call capture(step) first.');
    }
  }
}

/** The segment a cursor stopped at, when it got to one. */
function segmentOf(cursor: SegmentCursor): number | undefined {
  return cursor.index < 0 ? undefined : cursor.index;
}

/** Cleanup on a failure path: the original error is the one worth reporting. */
function quietly(cleanup: () => void): void {
  try {
    cleanup();
  } catch {
    // already failing
  }
}

function eagerOutcome(batch: RunBatch): RunOutcome {
  return Object.freeze({
    mode: 'eager',
    paddedTokens: batch.numTokens,
    paddedReqs: batch.numReqs,
    decodeGraph: false,
  });
}
