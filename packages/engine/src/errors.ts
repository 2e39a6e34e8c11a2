// Typed errors of @flashgraph/engine. Each carries a stable `code` and says what to change.
import { FlashgraphError } from '@flashgraph/errors';

/** Base class of every engine-specific error (a FlashgraphError; bad arguments throw InvalidArgumentError). */
export class EngineError extends FlashgraphError {
  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; path?: string; value?: unknown; allowed?: string; fix?: string },
  ) {
    super({ code, problem: message, ...options });
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
    super(
      'cache_full',
      `${what} needs ${neededBlocks} KV-cache blocks but only ${availableBlocks} are available; ` +
        'wait for running requests to finish, or create the engine with a larger cache.numBlocks',
    );
    this.name = 'CacheFullError';
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
      `request needs ${tokens} tokens of KV cache (prompt + maxNewTokens - 1) but ${limitName} allows at most ${limit}; ` +
        `shorten the prompt or maxNewTokens, or raise ${limitName}`,
    );
    this.name = 'RequestTooLargeError';
    this.tokens = tokens;
    this.limit = limit;
  }
}

/** Use of an engine after `dispose()`. */
export class EngineDisposedError extends EngineError {
  constructor(what: string) {
    super('disposed', `${what}: the engine was disposed; create a new one with createEngine()`);
    this.name = 'EngineDisposedError';
  }
}
