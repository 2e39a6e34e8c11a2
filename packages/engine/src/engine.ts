// createEngine: resolves the graph config, picks the backend, loads the model, captures, and
// returns the decode loop (addRequest / step / run). The loop itself is small: schedule, execute
// on the backend, commit sampled tokens, retire finished requests.

import { type GraphConfigInput, type ResolvedGraphConfig, resolveGraphConfig } from '@flashgraph/config';
import type { CaptureProgress, GraphRunnerStats } from '@flashgraph/cuda-graph';
import { InvalidArgumentError } from '@flashgraph/errors';
import type { KvCacheDtype } from '@flashgraph/fa3';
import type { BackendLimits, ExecutionBackend } from './backend.js';
import { BlockManager } from './block-manager.js';
import { createCpuBackend } from './cpu-backend.js';
import { createCudaBackend } from './cuda-backend.js';
import { checkBackendSizes, parseEngineOptions } from './engine-options.js';
import {
  EngineAbortedError,
  EngineDisposedError,
  EngineError,
  NonFiniteLogitsError,
  RequestTooLargeError,
  UnknownRequestError,
} from './errors.js';
import type { BackendKind, Model } from './model.js';
import { type LatencySummary, summarize } from './percentiles.js';
import { type AddRequestOptions, parseRequestOptions } from './request-options.js';
import {
  FifoScheduler,
  type FinishReason,
  maxKvTokens,
  newRequestState,
  type RequestState,
  type ScheduledBatch,
  type Scheduler,
  type SchedulerFactory,
} from './scheduler.js';
import { type BackendRequest, selectBackend } from './select-backend.js';
import { type AbortSignalLike, checkStepOptions, yieldToEventLoop } from './step-options.js';

export interface EngineOptions {
  model: Model;
  /** CUDA-graph configuration (`@flashgraph/config` input); default `{}` (full_and_piecewise). */
  graph?: GraphConfigInput;
  cache: {
    /** Tokens per KV page; a multiple of 16 on CUDA. */
    blockSize: number;
    /** Pages in the KV cache. */
    numBlocks: number;
    /**
     * The KV cache's element type (CUDA only): the model's dtype (default) or `'fp8_e4m3'`, one
     * byte per element (twice the tokens in the same memory, half the bytes per decode step).
     * fa3's writeKvCache stores e4m3(x / descale) and attention reads code x descale.
     */
    dtype?: KvCacheDtype;
    /**
     * fp8 only: the descale factors, fp32 `[numLayers x numHeadsKv]` (layer-major) for K and for
     * V, each finite and > 0; default all 1. Calibrated scales (vLLM's `k_scale` / `v_scale`, FA3's
     * `k_descale` / `v_descale`) go here; a per-layer scale is repeated over the layer's KV heads.
     */
    kDescale?: ArrayLike<number>;
    vDescale?: ArrayLike<number>;
  };
  limits: {
    /** Most requests in one step. */
    maxNumSeqs: number;
    /** Most tokens in one step (>= maxNumSeqs); prompts longer than this are prefilled in chunks. */
    maxNumBatchedTokens: number;
    /** Longest request (prompt + maxNewTokens - 1); default min(numBlocks x blockSize, 16384). */
    maxModelLen?: number;
  };
  /** Default 'auto': CUDA when a usable device is present, else the CPU backend. */
  backend?: BackendRequest;
  /** CUDA device ordinal, default 0. */
  device?: number;
  onProgress?: (event: EngineProgress) => void;
  /**
   * Bring your own scheduler: called once with the engine's block manager and limits, returns
   * the `Scheduler` that picks every step's batch. Default: `FifoScheduler` (vLLM v1's order).
   */
  scheduler?: SchedulerFactory;
}

/** Start-up progress: loading, then one event per capture phase of each size (largest first). */
export type EngineProgress =
  | { readonly phase: 'load'; readonly backend: BackendKind; readonly reason: string }
  | {
      readonly phase: 'capture';
      /** Which part of this size's capture starts ('warmup', 'capture') or ended ('done'). */
      readonly capturePhase: CaptureProgress['phase'];
      readonly size: number;
      readonly index: number;
      readonly total: number;
      readonly elapsedMs: number;
    }
  | { readonly phase: 'ready'; readonly captureMs: number; readonly graphs: number };

export type { AddRequestOptions } from './request-options.js';
export type { FinishReason } from './scheduler.js';

export type StepMode = 'full' | 'piecewise' | 'eager';

export interface RequestOutput {
  readonly id: number;
  readonly promptLength: number;
  readonly outputTokens: readonly number[];
  /**
   * logprobs[i]: the natural-log probability of outputTokens[i] under the model's raw logits
   * (before temperature and filtering); 0 for models that sample themselves (the synthetic decoder).
   */
  readonly logprobs: readonly number[];
  /**
   * 'stop': an eos or stop token (the last output token); 'length': maxNewTokens; 'abort':
   * `abort()`; 'error': the request could not go on (`error` says why).
   */
  readonly finishReason: FinishReason;
  /** Why a request finished with 'error' (a `NonFiniteLogitsError`); absent otherwise. */
  readonly error?: EngineError;
  /** The seed the request sampled with (its own, or the random one it was given). */
  readonly seed: number;
  /** Step indices: added, first scheduled, first token, finished. */
  readonly addedAtStep: number;
  readonly firstTokenAtStep: number;
  readonly finishedAtStep: number;
}

export interface StepResult {
  readonly index: number;
  /** What ran: a full-graph replay, piecewise graphs, or eager; 'idle' when nothing was scheduled. */
  readonly mode: StepMode | 'idle';
  readonly numReqs: number;
  readonly numTokens: number;
  readonly numDecodes: number;
  readonly numPrefills: number;
  readonly uniformDecode: boolean;
  /** Tokens and requests the launched work covered (capture size when a graph ran). */
  readonly paddedTokens: number;
  readonly paddedReqs: number;
  /** Wall-clock time of the step, host scheduling and device work until the tokens are back. */
  readonly durationMs: number;
  /** Tokens sampled this step, by request id, with their logprobs (for streaming). */
  readonly sampled: readonly { readonly id: number; readonly token: number; readonly logprob: number }[];
  /** Requests that finished this step, aborted ones included (finishReason 'abort'). */
  readonly finished: readonly RequestOutput[];
}

export interface ModeStats {
  readonly steps: number;
  readonly tokens: number;
  readonly paddingTokens: number;
  /** paddingTokens / (tokens + paddingTokens); 0 without steps. */
  readonly paddingWaste: number;
  readonly totalMs: number;
}

export interface EngineStats {
  readonly steps: number;
  readonly promptTokens: number;
  readonly generatedTokens: number;
  readonly totalMs: number;
  readonly stepLatencyMs: LatencySummary;
  readonly decodeStepLatencyMs: LatencySummary;
  readonly byMode: Readonly<Record<StepMode, ModeStats>>;
  readonly runner: GraphRunnerStats;
}

export interface RunResult {
  /** One per request finished during this run, by ascending id. */
  readonly outputs: readonly RequestOutput[];
  readonly stats: RunStats;
}

export interface RunStats extends EngineStats {
  readonly elapsedMs: number;
  /** Generated tokens per second of wall-clock time. */
  readonly outputTokensPerSecond: number;
  /** Prompt + generated tokens per second. */
  readonly tokensPerSecond: number;
}

export interface StepOptions {
  /** Stops the step (or run) at the next step boundary. */
  readonly signal?: AbortSignalLike;
}

export interface Engine {
  readonly backend: BackendKind;
  /** Why this backend was chosen. */
  readonly backendReason: string;
  readonly model: Model;
  readonly graphConfig: ResolvedGraphConfig;
  /** Graph capture at start-up: time, graphs, and graph memory from the driver. */
  readonly capture: { readonly ms: number; readonly graphs: number; readonly graphMemoryBytes: number };
  /** Device memory held by the engine's buffers (0 on CPU). */
  readonly deviceBytes: number;
  readonly limits: Readonly<Required<EngineOptions['limits']>>;
  readonly numWaiting: number;
  readonly numRunning: number;
  readonly numFreeBlocks: number;
  /**
   * Queues a request and returns its id. Every option is checked first (InvalidArgumentError
   * naming the option and its allowed range); RequestTooLargeError if it can never fit.
   */
  addRequest(request: AddRequestOptions): number;
  /**
   * Ends a request at the next step boundary: the next `step()` frees its pages and reports it in
   * `finished` with finishReason 'abort' and the tokens it had. Returns true when the request was
   * waiting or running (aborting it twice is fine), false when it had already finished (a no-op).
   * An id that addRequest never returned is an UnknownRequestError.
   */
  abort(id: number): boolean;
  /**
   * Runs one batch (decodes first, then prefill chunks). Yields to the event loop first, so
   * timers and I/O run between steps. An aborted `signal` rejects with EngineAbortedError
   * (`aborted`) before the step starts; the engine stays usable.
   */
  step(options?: StepOptions): Promise<StepResult>;
  /**
   * Steps until every request has finished, yielding to the event loop between steps. An aborted
   * `signal` stops it at the next step boundary with EngineAbortedError (`aborted`; its
   * `outputs` are the requests that finished before the stop); the engine stays usable and a
   * later `run()` continues where it stopped.
   */
  run(options?: StepOptions): Promise<RunResult>;
  stats(): EngineStats;
  dispose(): void;
  [Symbol.dispose](): void;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  // Every option is checked (InvalidArgumentError naming it) before anything is allocated.
  const parsed = parseEngineOptions(options);
  const { model, blockSize, numBlocks, maxNumSeqs, maxNumBatchedTokens, maxModelLen, eosTokenIds, device, kvCache } =
    parsed;
  const onProgress = parsed.onProgress as EngineOptions['onProgress'];

  // Throws ConfigError (every problem, each with a fix) before any allocation.
  const graphConfig = resolveGraphConfig(parsed.graph, { maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen: 1 });
  const choice = selectBackend(parsed.backend, model, device);
  checkBackendSizes(choice.kind, parsed);
  onProgress?.({ phase: 'load', backend: choice.kind, reason: choice.reason });
  const limits: BackendLimits = {
    blockSize,
    numBlocks,
    maxNumSeqs,
    maxNumBatchedTokens,
    maxBlocksPerReq: Math.ceil(maxModelLen / blockSize),
    device,
    kvCache,
  };
  const captureProgress = onProgress
    ? (e: CaptureProgress) =>
        onProgress({
          phase: 'capture',
          capturePhase: e.phase,
          size: e.size,
          index: e.index,
          total: e.total,
          elapsedMs: e.elapsedMs,
        })
    : undefined;
  const backend =
    choice.kind === 'cuda'
      ? createCudaBackend(model, graphConfig, limits, captureProgress)
      : createCpuBackend(model, graphConfig, limits, captureProgress);
  let stats: GraphRunnerStats;
  try {
    stats = backend.capture();
  } catch (err) {
    backend.dispose();
    throw err;
  }
  const graphMemoryBytes = Math.max(0, stats.graphMemory.usedBytes - (stats.graphMemoryAtCaptureStart?.usedBytes ?? 0));
  onProgress?.({ phase: 'ready', captureMs: stats.captureMs, graphs: stats.graphs });
  try {
    return new EngineImpl(model, graphConfig, choice.kind, choice.reason, backend, {
      scheduler: parsed.scheduler,
      eosTokenIds,
      blockSize,
      numBlocks,
      maxNumSeqs,
      maxNumBatchedTokens,
      maxModelLen,
      captureMs: stats.captureMs,
      graphs: stats.graphs,
      graphMemoryBytes,
    });
  } catch (err) {
    // A scheduler factory that throws or returns no Scheduler: nothing stays allocated.
    backend.dispose();
    throw err;
  }
}

const SCHEDULER_METHODS = ['add', 'schedule', 'commit', 'abort', 'clear'] as const;

function checkScheduler(value: unknown): Scheduler {
  const ok =
    value !== null &&
    typeof value === 'object' &&
    SCHEDULER_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
  if (!ok) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'options.scheduler',
      value,
      allowed: `a factory returning a Scheduler (methods ${SCHEDULER_METHODS.join(', ')})`,
    });
  }
  return value as Scheduler;
}

interface EngineSetup {
  scheduler: SchedulerFactory | undefined;
  eosTokenIds: readonly number[];
  blockSize: number;
  numBlocks: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxModelLen: number;
  captureMs: number;
  graphs: number;
  graphMemoryBytes: number;
}

interface ModeAccumulator {
  steps: number;
  tokens: number;
  paddingTokens: number;
  totalMs: number;
}

class EngineImpl implements Engine {
  readonly capture: Engine['capture'];
  readonly limits: Engine['limits'];
  private readonly blocks: BlockManager;
  private readonly scheduler: Scheduler;
  private readonly requests = new Map<number, RequestState>();
  /** Ids passed to abort(), applied at the start of the next step. */
  private readonly pendingAborts = new Set<number>();
  private readonly eosTokenIds: readonly number[];
  private nextId = 0;
  private stepIndex = 0;
  private disposed = false;
  private stepping = false;
  private readonly latencies: number[] = [];
  private readonly decodeLatencies: number[] = [];
  private promptTokens = 0;
  private generatedTokens = 0;
  private totalMs = 0;
  private readonly modes: Record<StepMode, ModeAccumulator> = {
    full: { steps: 0, tokens: 0, paddingTokens: 0, totalMs: 0 },
    piecewise: { steps: 0, tokens: 0, paddingTokens: 0, totalMs: 0 },
    eager: { steps: 0, tokens: 0, paddingTokens: 0, totalMs: 0 },
  };

  constructor(
    readonly model: Model,
    readonly graphConfig: ResolvedGraphConfig,
    readonly backend: BackendKind,
    readonly backendReason: string,
    private readonly exec: ExecutionBackend,
    setup: EngineSetup,
  ) {
    this.eosTokenIds = setup.eosTokenIds;
    // One block-table row per running request, in the rows the backend's metadata build reads.
    this.blocks = new BlockManager({
      numBlocks: setup.numBlocks,
      blockSize: setup.blockSize,
      rows: exec.blockTableRows,
    });
    const schedulerLimits = Object.freeze({
      maxNumSeqs: setup.maxNumSeqs,
      maxNumBatchedTokens: setup.maxNumBatchedTokens,
    });
    this.scheduler = setup.scheduler
      ? checkScheduler(setup.scheduler({ blocks: this.blocks, limits: schedulerLimits }))
      : new FifoScheduler(this.blocks, schedulerLimits);
    this.capture = Object.freeze({
      ms: setup.captureMs,
      graphs: setup.graphs,
      graphMemoryBytes: setup.graphMemoryBytes,
    });
    this.limits = Object.freeze({
      maxNumSeqs: setup.maxNumSeqs,
      maxNumBatchedTokens: setup.maxNumBatchedTokens,
      maxModelLen: setup.maxModelLen,
    });
  }

  get deviceBytes(): number {
    return this.exec.deviceBytes;
  }

  get numWaiting(): number {
    return this.scheduler.numWaiting;
  }

  get numRunning(): number {
    return this.scheduler.numRunning;
  }

  get numFreeBlocks(): number {
    return this.blocks.numFreeBlocks;
  }

  private live(what: string): void {
    if (this.disposed) throw new EngineDisposedError(what);
  }

  addRequest(request: AddRequestOptions): number {
    this.live('addRequest');
    const spec = parseRequestOptions(
      request,
      { vocabSize: this.model.shape.vocabSize, eosTokenIds: this.eosTokenIds },
      this.limits.maxModelLen,
    );
    const kvTokens = maxKvTokens({ promptLength: spec.tokens.length, maxNewTokens: spec.maxNewTokens });
    if (kvTokens > this.limits.maxModelLen)
      throw new RequestTooLargeError(kvTokens, this.limits.maxModelLen, 'limits.maxModelLen');
    const id = this.nextId++;
    const state = newRequestState({ id, addedAtStep: this.stepIndex, ...spec });
    this.requests.set(id, state);
    this.scheduler.add(state);
    return id;
  }

  abort(id: number): boolean {
    this.live('abort');
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.nextId) {
      throw new UnknownRequestError(id, this.nextId);
    }
    // Finished requests leave the map; their abort is a no-op.
    if (!this.requests.has(id)) return false;
    this.pendingAborts.add(id);
    return true;
  }

  /** The step boundary: ends the aborted requests (pages back before the next schedule). */
  /**
   * Requests whose sampled row was not finite end now with finishReason 'error': the token drawn
   * from that row is taken back (the scheduler committed it), a request still running is ended
   * through the scheduler (its pages go back), and its output carries a NonFiniteLogitsError.
   */
  private endFailed(
    failed: ReadonlyMap<RequestState, number>,
    finished: readonly RequestState[],
    stepIndex: number,
  ): RequestOutput[] {
    if (failed.size === 0) return [];
    const done = new Set(finished);
    const out: RequestOutput[] = [];
    for (const [state, lengthBefore] of failed) {
      if (!done.has(state)) this.scheduler.abort(state, stepIndex);
      state.tokens.length = Math.min(state.tokens.length, lengthBefore);
      state.logprobs.length = Math.min(state.logprobs.length, lengthBefore - state.promptLength);
      state.finishReason = 'error';
      this.requests.delete(state.id);
      out.push(toOutput(state, new NonFiniteLogitsError(state.id, lengthBefore)));
    }
    return out;
  }

  private applyAborts(stepIndex: number): RequestOutput[] {
    if (this.pendingAborts.size === 0) return [];
    const out: RequestOutput[] = [];
    for (const id of [...this.pendingAborts].sort((a, b) => a - b)) {
      const state = this.requests.get(id);
      if (state && this.scheduler.abort(state, stepIndex)) {
        this.requests.delete(id);
        out.push(toOutput(state));
      }
    }
    this.pendingAborts.clear();
    return out;
  }

  async step(options?: StepOptions): Promise<StepResult> {
    this.live('step');
    const signal = checkStepOptions('step', options);
    if (this.stepping) {
      throw new EngineError('step_in_progress', 'a step is already running', {
        path: 'step',
        fix: 'Await the running step() (or run()) before calling step() again.',
      });
    }
    this.stepping = true;
    try {
      // Let timers and I/O run before the step's CPU (or launch) work: a server that embeds the
      // engine keeps serving during a long run().
      await yieldToEventLoop();
      this.live('step');
      if (signal?.aborted) throw new EngineAbortedError('step', signal.reason, []);
      return this.stepSync();
    } finally {
      this.stepping = false;
    }
  }

  /**
   * A scheduler's batch within the limits the backend was sized for (cheap: one pass over the
   * batch), so a custom scheduler's mistake is a typed error, not an out-of-bounds launch.
   */
  private checkBatch(batch: ScheduledBatch): void {
    const requests = batch.requests;
    let tokens = 0;
    let problem: string | null = null;
    if (!Array.isArray(requests)) problem = 'batch.requests is not an array';
    else if (requests.length > this.limits.maxNumSeqs) problem = `${requests.length} requests > maxNumSeqs`;
    else {
      for (const r of requests) {
        if (!Number.isInteger(r?.numNewTokens) || r.numNewTokens < 1) {
          problem = 'a request with numNewTokens < 1';
          break;
        }
        tokens += r.numNewTokens;
      }
      if (problem === null && tokens > this.limits.maxNumBatchedTokens) {
        problem = `${tokens} tokens > maxNumBatchedTokens`;
      } else if (problem === null && tokens !== batch.numTokens) {
        problem = `numTokens ${batch.numTokens} is not the sum of numNewTokens (${tokens})`;
      }
    }
    if (problem !== null) {
      throw new EngineError('scheduler_contract', `the scheduler returned an invalid batch: ${problem}`, {
        path: 'scheduler.schedule',
        fix: 'Fix the custom scheduler: see the Scheduler interface.',
      });
    }
  }

  private stepSync(): StepResult {
    const start = performance.now();
    const index = this.stepIndex;
    const aborted = this.applyAborts(index);
    const batch: ScheduledBatch = this.scheduler.schedule(index);
    this.checkBatch(batch);
    if (batch.requests.length === 0) {
      return Object.freeze({
        index,
        mode: 'idle',
        numReqs: 0,
        numTokens: 0,
        numDecodes: 0,
        numPrefills: 0,
        uniformDecode: false,
        paddedTokens: 0,
        paddedReqs: 0,
        durationMs: 0,
        sampled: [],
        finished: Object.freeze(aborted),
      });
    }
    const { outcome, sampled, logprobs } = this.exec.execute(batch);
    this.stepIndex++;
    const failed = nonFiniteRows(batch, logprobs);
    const finished = this.scheduler.commit(batch, sampled, index, logprobs);
    const failedOut = this.endFailed(failed, finished, index);
    const durationMs = performance.now() - start;

    const sampledOut: { id: number; token: number; logprob: number }[] = [];
    batch.requests.forEach((entry, i) => {
      if (entry.sample && !failed.has(entry.request))
        sampledOut.push({ id: entry.request.id, token: sampled[i] as number, logprob: logprobs[i] as number });
      if (entry.numComputedTokens < entry.request.promptLength) {
        this.promptTokens += Math.min(entry.numNewTokens, entry.request.promptLength - entry.numComputedTokens);
      }
    });
    this.generatedTokens += sampledOut.length;
    this.latencies.push(durationMs);
    if (batch.numPrefills === 0) this.decodeLatencies.push(durationMs);
    this.totalMs += durationMs;
    const m = this.modes[outcome.mode];
    m.steps++;
    m.tokens += batch.numTokens;
    m.paddingTokens += outcome.paddedTokens - batch.numTokens;
    m.totalMs += durationMs;
    const finishedOut = aborted.concat(
      finished
        .filter((r) => !failed.has(r))
        .map((r) => {
          this.requests.delete(r.id);
          return toOutput(r);
        }),
      failedOut,
    );
    return Object.freeze({
      index,
      mode: outcome.mode,
      numReqs: batch.requests.length,
      numTokens: batch.numTokens,
      numDecodes: batch.numDecodes,
      numPrefills: batch.numPrefills,
      uniformDecode: batch.uniformDecode,
      paddedTokens: outcome.paddedTokens,
      paddedReqs: outcome.paddedReqs,
      durationMs,
      sampled: sampledOut,
      finished: finishedOut,
    });
  }

  async run(options?: StepOptions): Promise<RunResult> {
    this.live('run');
    const signal = checkStepOptions('run', options);
    const before = this.snapshot();
    const start = performance.now();
    const outputs: RequestOutput[] = [];
    while (this.scheduler.hasUnfinished) {
      if (signal?.aborted)
        throw new EngineAbortedError(
          'run',
          signal.reason,
          outputs.sort((a, b) => a.id - b.id),
        );
      const result = await this.step();
      outputs.push(...result.finished);
      if (result.mode === 'idle') break; // unreachable: addRequest rejects what can never fit
    }
    const elapsedMs = performance.now() - start;
    outputs.sort((a, b) => a.id - b.id);
    const stats = this.statsSince(before);
    const s = elapsedMs / 1000;
    return {
      outputs,
      stats: {
        ...stats,
        elapsedMs,
        outputTokensPerSecond: s > 0 ? stats.generatedTokens / s : 0,
        tokensPerSecond: s > 0 ? (stats.generatedTokens + stats.promptTokens) / s : 0,
      },
    };
  }

  private snapshot() {
    return {
      steps: this.latencies.length,
      decodeSteps: this.decodeLatencies.length,
      promptTokens: this.promptTokens,
      generatedTokens: this.generatedTokens,
      totalMs: this.totalMs,
      modes: structuredClone(this.modes),
    };
  }

  private statsSince(before: ReturnType<EngineImpl['snapshot']>): EngineStats {
    const byMode = {} as Record<StepMode, ModeStats>;
    for (const mode of ['full', 'piecewise', 'eager'] as const) {
      const now = this.modes[mode];
      const was = before.modes[mode];
      const tokens = now.tokens - was.tokens;
      const paddingTokens = now.paddingTokens - was.paddingTokens;
      byMode[mode] = {
        steps: now.steps - was.steps,
        tokens,
        paddingTokens,
        paddingWaste: tokens + paddingTokens > 0 ? paddingTokens / (tokens + paddingTokens) : 0,
        totalMs: now.totalMs - was.totalMs,
      };
    }
    return {
      steps: this.latencies.length - before.steps,
      promptTokens: this.promptTokens - before.promptTokens,
      generatedTokens: this.generatedTokens - before.generatedTokens,
      totalMs: this.totalMs - before.totalMs,
      stepLatencyMs: summarize(this.latencies.slice(before.steps)),
      decodeStepLatencyMs: summarize(this.decodeLatencies.slice(before.decodeSteps)),
      byMode,
      runner: this.exec.runnerStats(),
    };
  }

  stats(): EngineStats {
    return this.statsSince({
      steps: 0,
      decodeSteps: 0,
      promptTokens: 0,
      generatedTokens: 0,
      totalMs: 0,
      modes: {
        full: { steps: 0, tokens: 0, paddingTokens: 0, totalMs: 0 },
        piecewise: { steps: 0, tokens: 0, paddingTokens: 0, totalMs: 0 },
        eager: { steps: 0, tokens: 0, paddingTokens: 0, totalMs: 0 },
      },
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.scheduler.clear();
    this.requests.clear();
    this.pendingAborts.clear();
    this.exec.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

// The requests whose sampled row held NaN or +infinity (the log-softmax at the drawn token is then
// NaN or +inf, on either sampler), each with its token count before this step's commit.
function nonFiniteRows(batch: ScheduledBatch, logprobs: ArrayLike<number>): Map<RequestState, number> {
  const failed = new Map<RequestState, number>();
  batch.requests.forEach((entry, i) => {
    const logprob = logprobs[i] as number;
    if (entry.sample && (Number.isNaN(logprob) || logprob === Number.POSITIVE_INFINITY))
      failed.set(entry.request, entry.request.tokens.length);
  });
  return failed;
}

function toOutput(r: RequestState, error?: EngineError): RequestOutput {
  return Object.freeze({
    ...(error === undefined ? {} : { error }),
    id: r.id,
    promptLength: r.promptLength,
    outputTokens: Object.freeze(r.tokens.slice(r.promptLength)),
    logprobs: Object.freeze(r.logprobs.slice()),
    finishReason: r.finishReason ?? 'length',
    seed: r.sampling.seed,
    addedAtStep: r.addedAtStep,
    firstTokenAtStep: r.firstTokenAtStep,
    finishedAtStep: r.finishedAtStep,
  });
}
