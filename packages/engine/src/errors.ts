// Typed errors of @flashgraph/engine. Each carries a stable `code` and says what to change.

/** Base class of every error the engine throws on purpose. */
export class EngineError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
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
