// Typed errors of @flashgraph/engine. Each is a FlashgraphError (@flashgraph/errors) with a stable
// snake_case `code` listed in docs/errors.md, and says what to change. Bad arguments throw the
// kit's InvalidArgumentError; these classes cover the engine's own situations.
import { DisposedError, FlashgraphError } from '@flashgraph/errors';

/**
 * Codes of `EngineError` itself (its subclasses add `unknown_request`, `cache_full`,
 * `request_too_large`, `aborted`, `non_finite_logits`).
 */
export type EngineErrorCode =
  | 'backend_unavailable'
  | 'sampler_unavailable'
  | 'wrong_backend'
  | 'step_in_progress'
  | 'unknown_sequence'
  | 'duplicate_sequence'
  | 'scheduler_contract';

/**
 * Base class of every engine-specific error (a FlashgraphError; bad arguments throw
 * InvalidArgumentError). Environment problems found while creating an engine
 * (`backend_unavailable`, `sampler_unavailable`, `wrong_backend`) carry no `path`: no option
 * value is wrong, the machine or the model is.
 */
export class EngineError extends FlashgraphError {
  constructor(
    code: string,
    problem: string,
    options?: { cause?: unknown; path?: string; value?: unknown; allowed?: string; fix?: string },
  ) {
    super({ code, problem, ...options });
  }
}

/** `abort(id)` with an id this engine never returned from `addRequest`. */
export class UnknownRequestError extends EngineError {
  readonly id: unknown;
  constructor(id: unknown, nextId: number) {
    super('unknown_request', 'no such request', {
      path: 'abort(id)',
      value: id,
      allowed:
        nextId === 0
          ? 'an id returned by addRequest (none yet)'
          : `an id returned by addRequest, in [0, ${nextId - 1}]`,
      fix: 'Pass the id that addRequest returned.',
    });
    this.id = id;
  }
}

/**
 * The KV cache has too few free pages for what was asked. The scheduler never triggers it for
 * admitted requests (it reserves a request's worst case before admitting it); it reaches callers
 * of the block manager directly, and `addRequest` throws its sibling `RequestTooLargeError`.
 */
export class CacheFullError extends EngineError {
  readonly neededBlocks: number;
  readonly availableBlocks: number;
  constructor(neededBlocks: number, availableBlocks: number, what: string) {
    super('cache_full', `${what} needs ${neededBlocks} KV-cache blocks but only ${availableBlocks} are available`, {
      path: what,
      fix: 'Wait for running requests to finish, or create the engine with a larger cache.numBlocks.',
    });
    this.neededBlocks = neededBlocks;
    this.availableBlocks = availableBlocks;
  }
}

/** A request that can never run with this engine's cache and limits (rejected by `addRequest`). */
export class RequestTooLargeError extends EngineError {
  readonly tokens: number;
  readonly limit: number;
  constructor(tokens: number, limit: number, limitName: string) {
    super(
      'request_too_large',
      'request needs more KV-cache tokens (prompt + maxNewTokens - 1) than the engine allows',
      {
        path: 'request',
        value: tokens,
        allowed: `at most ${limit} (${limitName})`,
        fix: `Shorten the prompt or maxNewTokens, or raise ${limitName}.`,
      },
    );
    this.tokens = tokens;
    this.limit = limit;
  }
}

/**
 * A request ended by its own logits: the row it sampled from held NaN or +infinity (a checkpoint
 * with NaN / Inf weights, or an fp16 activation that overflowed). Not thrown: the request finishes
 * with finishReason 'error' and this as its `error`, without the token drawn from that row; the
 * engine and the other requests go on.
 */
export class NonFiniteLogitsError extends EngineError {
  readonly requestId: number;
  constructor(requestId: number, position: number) {
    super('non_finite_logits', `the logits for token position ${position} are not finite (NaN or +infinity)`, {
      path: `request ${requestId}`,
      fix: 'Check the checkpoint for NaN / Inf weights; with fp16 activations, try the bf16 checkpoint.',
    });
    this.requestId = requestId;
  }
}

/**
 * A `step()` or `run()` stopped by its AbortSignal at a step boundary (the signal's reason is the
 * `cause`). The engine stays usable: a later `run()` continues where this one stopped.
 */
export class EngineAbortedError<O = unknown> extends EngineError {
  /** Requests that finished during the stopped run before the stop (by ascending id); [] for step(). */
  readonly outputs: readonly O[];
  constructor(call: string, reason: unknown, outputs: readonly O[]) {
    super('aborted', 'stopped by its AbortSignal at a step boundary', {
      path: call,
      ...(reason === undefined ? {} : { cause: reason }),
      fix: 'The engine is still usable: call step() or run() again to continue.',
    });
    this.outputs = Object.freeze(outputs.slice());
  }
}

/** Use of an engine after `dispose()` (a DisposedError, code `disposed`). */
export class EngineDisposedError extends DisposedError {
  constructor(call: string) {
    super('Engine', call);
  }
}
