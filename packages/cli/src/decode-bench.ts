// The measurement behind `flashgraph bench`: for each mode one engine (captured for exactly the
// benchmarked batch sizes), and for each batch size B: prefill B requests to `context` tokens,
// run warm-up decode steps, then time `steps` decode steps in which all B requests decode.
import type { GraphConfigInput } from '@flashgraph/config';
import {
  type BackendKind,
  type BackendRequest,
  createEngine,
  type Engine,
  type EngineOptions,
  type EngineProgress,
  type LatencySummary,
  type Model,
  summarizeLatencies as summarize,
} from '@flashgraph/engine';

export type BenchMode = 'eager' | 'piecewise' | 'full';
export const BENCH_MODES: readonly BenchMode[] = ['eager', 'piecewise', 'full'];

/** The graph configuration each benchmarked mode runs with. */
export function graphConfigFor(mode: BenchMode, batchSizes: readonly number[], maxNumSplits: number): GraphConfigInput {
  const sizes = [...batchSizes];
  if (mode === 'eager') return { mode: 'none', maxNumSplits };
  return { mode: mode === 'full' ? 'full' : 'piecewise', captureSizes: sizes, maxNumSplits };
}

export interface DecodeBenchOptions {
  model: Model;
  backend: BackendRequest;
  batchSizes: readonly number[];
  modes: readonly BenchMode[];
  /** Prompt tokens per request (the context each decode step attends over). */
  context: number;
  steps: number;
  warmupSteps: number;
  blockSize: number;
  maxNumBatchedTokens: number;
  maxNumSplits: number;
  seed: number;
  /** 'fp8_e4m3': an fp8 e4m3 KV cache (CUDA); default the model's dtype. */
  kvCacheDtype?: 'fp8_e4m3';
  /** Called with each engine's start-up progress (mode label first). */
  onProgress?: (mode: BenchMode) => ((e: EngineProgress) => void) | undefined;
  /** Called as each batch size moves through prefill, warm-up and timed steps. */
  onPhase?: (event: DecodeBenchPhase) => void;
  /** Called with each row as soon as it is measured (before the next batch size starts). */
  onRow?: (row: DecodeBenchRow) => void;
}

/** Where the measurement of one (mode, batch size) stands: `done` of `total` steps of `phase`. */
export interface DecodeBenchPhase {
  readonly mode: BenchMode;
  readonly batchSize: number;
  /** prefill: steps that still prefill; warmup: untimed decode steps; timing: timed decode steps. */
  readonly phase: 'prefill' | 'warmup' | 'timing';
  readonly done: number;
  readonly total: number;
}

export interface DecodeBenchRow {
  readonly mode: BenchMode;
  readonly batchSize: number;
  /** What the timed steps actually ran as (a full-mode step above the capture sizes runs eagerly). */
  readonly ranAs: string;
  readonly stepMs: LatencySummary;
  /** batchSize tokens per median step. */
  readonly tokensPerSecond: number;
  /** Warm-up + capture time of this batch size's graphs (0 for eager). */
  readonly captureMs: number;
}

export interface DecodeBenchModeInfo {
  readonly mode: BenchMode;
  readonly captureMs: number;
  readonly graphs: number;
  readonly graphMemoryBytes: number;
  readonly deviceBytes: number;
}

export interface DecodeBenchResult {
  readonly backend: BackendKind;
  readonly backendReason: string;
  readonly rows: readonly DecodeBenchRow[];
  readonly modes: readonly DecodeBenchModeInfo[];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** The sizes every engine of one bench shares. */
function benchSizes(o: DecodeBenchOptions) {
  const maxBatch = Math.max(...o.batchSizes);
  // Decodes go first, so prefill progresses only with budget left over by them: keep some.
  const budget = Math.max(2 * maxBatch, o.maxNumBatchedTokens);
  // A request admitted first decodes while later ones still prefill; give every request enough
  // new tokens that all B still decode together through the warm-up and timed steps.
  const newTokensFor = (b: number) => 1 + o.warmupSteps + o.steps + Math.ceil((b * o.context) / (budget - b)) + 1;
  const blocksPerReq = Math.ceil((o.context + newTokensFor(maxBatch)) / o.blockSize);
  return { maxBatch, budget, newTokensFor, blocksPerReq };
}

function engineOptions(o: DecodeBenchOptions, mode: BenchMode): EngineOptions {
  const { maxBatch, budget, blocksPerReq } = benchSizes(o);
  return {
    model: o.model,
    graph: graphConfigFor(mode, o.batchSizes, o.maxNumSplits),
    cache: {
      blockSize: o.blockSize,
      numBlocks: maxBatch * blocksPerReq,
      ...(o.kvCacheDtype ? { dtype: o.kvCacheDtype } : {}),
    },
    limits: { maxNumSeqs: maxBatch, maxNumBatchedTokens: budget, maxModelLen: blocksPerReq * o.blockSize },
    backend: o.backend,
  };
}

/**
 * Creates and disposes the eager engine of this bench: the engine checks every size before it
 * allocates, so a configuration it rejects fails here, before anything is measured.
 */
export async function checkDecodeBenchSizes(o: DecodeBenchOptions): Promise<void> {
  (await createEngine(engineOptions(o, 'eager'))).dispose();
}

export async function runDecodeBench(o: DecodeBenchOptions): Promise<DecodeBenchResult> {
  const { newTokensFor, budget } = benchSizes(o);
  const rows: DecodeBenchRow[] = [];
  const modes: DecodeBenchModeInfo[] = [];
  let backend: BackendKind = 'cpu';
  let backendReason = '';
  const random = lcg(o.seed);
  const vocab = o.model.shape.vocabSize;

  // Eager first whatever the order given: its rows are the baseline the others are compared with.
  const runOrder = BENCH_MODES.filter((m) => o.modes.includes(m));
  for (const mode of runOrder) {
    let engine: Engine | undefined;
    try {
      engine = await createEngine({ ...engineOptions(o, mode), onProgress: o.onProgress?.(mode) });
      backend = engine.backend;
      backendReason = engine.backendReason;
      const sizes = engine.stats().runner.sizes;
      for (const batchSize of o.batchSizes) {
        for (let r = 0; r < batchSize; r++) {
          engine.addRequest({
            promptTokens: Array.from({ length: o.context }, () => Math.floor(random() * vocab)),
            maxNewTokens: newTokensFor(batchSize),
          });
        }
        let decodeSteps = 0;
        let prefillSteps = 0;
        const prefillTotal = Math.ceil((batchSize * o.context) / Math.max(1, budget - batchSize));
        const times: number[] = [];
        const ranAs = new Set<string>();
        while (engine.numRunning + engine.numWaiting > 0) {
          const s = await engine.step();
          if (s.numPrefills === 0 && s.numReqs === batchSize) {
            decodeSteps++;
            if (decodeSteps > o.warmupSteps && times.length < o.steps) {
              times.push(s.durationMs);
              ranAs.add(s.mode);
            }
          } else if (s.numPrefills > 0) {
            prefillSteps++;
          }
          if (o.onPhase) {
            const phase = decodeSteps === 0 ? 'prefill' : decodeSteps <= o.warmupSteps ? 'warmup' : 'timing';
            const done = phase === 'prefill' ? prefillSteps : phase === 'warmup' ? decodeSteps : times.length;
            const total = phase === 'prefill' ? prefillTotal : phase === 'warmup' ? o.warmupSteps : o.steps;
            o.onPhase({ mode, batchSize, phase, done: Math.min(done, total), total });
          }
        }
        const stepMs = summarize(times);
        const row: DecodeBenchRow = {
          mode,
          batchSize,
          ranAs: [...ranAs].join('+') || '-',
          stepMs,
          tokensPerSecond: (batchSize * 1000) / stepMs.p50,
          captureMs: sizes.find((s) => s.size === batchSize)?.captureMs ?? 0,
        };
        rows.push(row);
        o.onRow?.(row);
      }
      modes.push({
        mode,
        captureMs: engine.capture.ms,
        graphs: engine.capture.graphs,
        graphMemoryBytes: engine.capture.graphMemoryBytes,
        deviceBytes: engine.deviceBytes,
      });
    } finally {
      engine?.dispose();
    }
  }
  return { backend, backendReason, rows, modes };
}
