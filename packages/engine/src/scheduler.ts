// Continuous batching: which requests run in the next step and how many tokens each.
// Order (vLLM v1's): running decodes first (one token each), then the prefill chunks of running
// requests, then newly admitted requests, all within maxNumSeqs requests and maxNumBatchedTokens
// tokens (chunked prefill). A waiting request is admitted only when the block manager can reserve
// its worst case, so the cache never runs out mid-request.
import type { KvBlockManager } from './block-manager.js';
import { GREEDY, type SamplingParams } from './sampling/params.js';

const NO_STOP_TOKENS: ReadonlySet<number> = new Set();

export type RequestStatus = 'waiting' | 'running' | 'finished';

/** Why a request ended: an eos or stop token ('stop'), maxNewTokens ('length'), or `abort()`. */
export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

/** The scheduler's record of one request. */
export interface RequestState {
  readonly id: number;
  readonly promptLength: number;
  readonly maxNewTokens: number;
  /** Prompt followed by the tokens sampled so far. */
  readonly tokens: number[];
  /** The raw-logit log-probability of each sampled token. */
  readonly logprobs: number[];
  readonly sampling: SamplingParams;
  /** Tokens that end the request (eos unless ignored, and the request's stop ids). */
  readonly stopTokenIds: ReadonlySet<number>;
  finishReason: FinishReason | null;
  /** Tokens whose keys and values are in the KV cache. */
  numComputedTokens: number;
  status: RequestStatus;
  /** Step index at which the request was added, first scheduled, got its first token, finished. */
  readonly addedAtStep: number;
  scheduledAtStep: number;
  firstTokenAtStep: number;
  finishedAtStep: number;
}

/** A request's record as it enters the scheduler: waiting, nothing computed, never scheduled. */
export function newRequestState(a: {
  id: number;
  tokens: number[];
  maxNewTokens: number;
  addedAtStep: number;
  sampling?: SamplingParams;
  stopTokenIds?: ReadonlySet<number>;
}): RequestState {
  return {
    id: a.id,
    promptLength: a.tokens.length,
    maxNewTokens: a.maxNewTokens,
    tokens: a.tokens,
    logprobs: [],
    sampling: a.sampling ?? GREEDY,
    stopTokenIds: a.stopTokenIds ?? NO_STOP_TOKENS,
    finishReason: null,
    numComputedTokens: 0,
    status: 'waiting',
    addedAtStep: a.addedAtStep,
    scheduledAtStep: -1,
    firstTokenAtStep: -1,
    finishedAtStep: -1,
  };
}

/** One request's share of a step. */
export interface ScheduledRequest {
  readonly request: RequestState;
  /** Tokens computed this step: 1 for a decode, the chunk length for a prefill. */
  readonly numNewTokens: number;
  /** Tokens already in the KV cache before this step. */
  readonly numComputedTokens: number;
  /**
   * The request's block-table row (`blockTableRows` of the backend's metadata builder): its KV
   * pages, covering numComputedTokens + numNewTokens tokens. With the counts above this is an
   * @flashgraph/attn-metadata `MetadataRequestWithRow`, so a batch goes to `build` as it is.
   */
  readonly blockTableRow: number;
  /** Whether this step samples the request's next token (its chunk reaches the last known token). */
  readonly sample: boolean;
}

export interface ScheduledBatch {
  /** Decodes first, then prefill chunks. */
  readonly requests: readonly ScheduledRequest[];
  readonly numTokens: number;
  readonly numDecodes: number;
  readonly numPrefills: number;
  /** Every request computes exactly one token (a pure decode step). */
  readonly uniformDecode: boolean;
}

export interface SchedulerLimits {
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
}

/**
 * What the engine asks of a scheduler (the default is `FifoScheduler`; `createEngine`'s
 * `scheduler` option takes a factory for another). The engine owns the request records and the
 * model; the scheduler owns the queues and the policy, and the KV pages through the block
 * manager it was given. Contract, checked by the engine each step: a batch holds at most
 * `maxNumSeqs` requests and `maxNumBatchedTokens` tokens, `numTokens` is the sum of their
 * `numNewTokens`, each request's pages (grown with `blocks.grow`) cover its computed + new tokens,
 * and a request reserves its worst case (`maxKvTokens`) before it first runs, so it never runs
 * out of pages. Requests with a prompt still to prefill get chunks; a request samples when its
 * chunk reaches its last known token.
 */
export interface Scheduler {
  readonly numWaiting: number;
  readonly numRunning: number;
  /** Whether any request is waiting or running. */
  readonly hasUnfinished: boolean;
  /** Queues a new request (status 'waiting'). */
  add(request: RequestState): void;
  /** The next step's batch, its requests' pages grown; empty (no requests) when idle. */
  schedule(stepIndex: number): ScheduledBatch;
  /**
   * Applies a step's sampled tokens (`sampled[i]` for `batch.requests[i]`) and returns the
   * requests that finished, their pages released. `commitSampled` does the per-request part.
   */
  commit(
    batch: ScheduledBatch,
    sampled: ArrayLike<number>,
    stepIndex: number,
    logprobs?: ArrayLike<number>,
  ): RequestState[];
  /** Ends a waiting or running request now (pages released, reason 'abort'); false if it had finished. */
  abort(request: RequestState, stepIndex: number): boolean;
  /** Drops every request and releases its pages (engine dispose). */
  clear(): void;
}

/** What a scheduler factory gets: the engine's block manager and limits. */
export interface SchedulerContext {
  readonly blocks: KvBlockManager;
  readonly limits: SchedulerLimits;
}

/** `createEngine`'s `scheduler` option: builds the engine's scheduler once, at creation. */
export type SchedulerFactory = (context: SchedulerContext) => Scheduler;

/** KV-cache tokens a request needs at most (its last sampled token is never computed). */
export function maxKvTokens(request: { promptLength: number; maxNewTokens: number }): number {
  return request.promptLength + request.maxNewTokens - 1;
}

/**
 * The per-request part of `commit`, shared by every scheduler: advances each request of the
 * batch, appends sampled tokens and their logprobs, and marks the ones that sampled a stop token
 * (kept in the output) or reached maxNewTokens as finished ('stop' / 'length'). Returns those;
 * the caller releases their pages and drops them from its queues.
 */
export function commitSampled(
  batch: ScheduledBatch,
  sampled: ArrayLike<number>,
  stepIndex: number,
  logprobs?: ArrayLike<number>,
): RequestState[] {
  const finished: RequestState[] = [];
  batch.requests.forEach((entry, i) => {
    const request = entry.request;
    request.numComputedTokens = entry.numComputedTokens + entry.numNewTokens;
    if (!entry.sample) return;
    const token = sampled[i] as number;
    request.tokens.push(token);
    request.logprobs.push(logprobs ? (logprobs[i] as number) : 0);
    if (request.tokens.length - request.promptLength === 1) request.firstTokenAtStep = stepIndex;
    if (request.stopTokenIds.has(token)) request.finishReason = 'stop';
    else if (request.tokens.length - request.promptLength >= request.maxNewTokens) request.finishReason = 'length';
    if (request.finishReason !== null) {
      request.status = 'finished';
      request.finishedAtStep = stepIndex;
      finished.push(request);
    }
  });
  return finished;
}

/** The default scheduler: vLLM v1's order with FIFO admission (see the top of this file). */
export class FifoScheduler implements Scheduler {
  private readonly waiting: RequestState[] = [];
  // Admission order; a request stays here until it finishes.
  private readonly running: RequestState[] = [];

  constructor(
    private readonly blocks: KvBlockManager,
    private readonly limits: SchedulerLimits,
  ) {}

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  get hasUnfinished(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  /** Queues a request; it is admitted by a later `schedule()` once it fits. */
  add(request: RequestState): void {
    this.waiting.push(request);
  }

  /** KV-cache tokens a request needs at most (its last sampled token is never computed). */
  static maxKvTokens(request: { promptLength: number; maxNewTokens: number }): number {
    return maxKvTokens(request);
  }

  /** Picks the next step's batch and grows each chosen request's pages (and row). Empty when idle. */
  schedule(stepIndex: number): ScheduledBatch {
    const out: ScheduledRequest[] = [];
    let budget = this.limits.maxNumBatchedTokens;
    let numDecodes = 0;

    const take = (request: RequestState, numNewTokens: number) => {
      const numComputedTokens = request.numComputedTokens;
      this.blocks.grow(request.id, numComputedTokens + numNewTokens);
      out.push({
        request,
        numNewTokens,
        numComputedTokens,
        blockTableRow: this.blocks.blockTableRow(request.id),
        sample: numComputedTokens + numNewTokens === request.tokens.length,
      });
      budget -= numNewTokens;
      if (request.scheduledAtStep < 0) request.scheduledAtStep = stepIndex;
    };

    // 1. Decodes: every running request whose prompt is fully in the cache computes its last token.
    for (const request of this.running) {
      if (budget <= 0) break;
      if (request.numComputedTokens >= request.promptLength) {
        take(request, request.tokens.length - request.numComputedTokens);
        numDecodes++;
      }
    }
    // 2. Prefill chunks of running requests, oldest first.
    for (const request of this.running) {
      if (budget <= 0) break;
      if (request.numComputedTokens < request.promptLength) {
        take(request, Math.min(request.promptLength - request.numComputedTokens, budget));
      }
    }
    // 3. Admit waiting requests in arrival order while requests, tokens and pages allow. FIFO: a
    // request that doesn't fit blocks the ones behind it, so big requests cannot starve.
    while (this.waiting.length > 0 && budget > 0 && this.running.length < this.limits.maxNumSeqs) {
      const request = this.waiting[0] as RequestState;
      const maxTokens = maxKvTokens(request);
      if (!this.blocks.canReserve(maxTokens)) break;
      this.waiting.shift();
      this.blocks.reserve(request.id, maxTokens);
      request.status = 'running';
      this.running.push(request);
      take(request, Math.min(request.promptLength, budget));
    }

    const numTokens = this.limits.maxNumBatchedTokens - budget;
    return {
      requests: out,
      numTokens,
      numDecodes,
      numPrefills: out.length - numDecodes,
      uniformDecode: out.length > 0 && out.every((r) => r.numNewTokens === 1),
    };
  }

  /**
   * Applies a finished step: advances each request, appends sampled tokens and their logprobs
   * (`sampled[i]` belongs to `batch.requests[i]`), retires requests that sampled a stop token
   * (kept in the output) or reached maxNewTokens, and frees their pages. Returns the requests
   * that finished.
   */
  commit(
    batch: ScheduledBatch,
    sampled: ArrayLike<number>,
    stepIndex: number,
    logprobs?: ArrayLike<number>,
  ): RequestState[] {
    const finished = commitSampled(batch, sampled, stepIndex, logprobs);
    for (const request of finished) this.blocks.release(request.id);
    this.dropFromRunning(finished);
    return finished;
  }

  /**
   * Ends a waiting or running request now (between steps): it leaves the queues, its pages go
   * back, and it finishes with reason 'abort'. False if it had already finished.
   */
  abort(request: RequestState, stepIndex: number): boolean {
    if (request.status === 'finished') return false;
    if (request.status === 'waiting') {
      const at = this.waiting.indexOf(request);
      if (at >= 0) this.waiting.splice(at, 1);
    } else {
      this.dropFromRunning([request]);
    }
    if (this.blocks.has(request.id)) this.blocks.release(request.id);
    request.status = 'finished';
    request.finishReason = 'abort';
    request.finishedAtStep = stepIndex;
    return true;
  }

  private dropFromRunning(finished: readonly RequestState[]): void {
    if (finished.length === 0) return;
    const done = new Set(finished);
    let w = 0;
    for (const r of this.running) if (!done.has(r)) this.running[w++] = r;
    this.running.length = w;
  }

  /** Drops every queued and running request and returns their pages (used by dispose). */
  clear(): void {
    for (const r of this.running) if (this.blocks.has(r.id)) this.blocks.release(r.id);
    this.running.length = 0;
    this.waiting.length = 0;
  }
}
