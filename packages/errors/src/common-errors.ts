// The errors every package shares: a bad argument, and use after dispose().
import { FlashgraphError } from './flashgraph-error.js';

/**
 * - `invalid_type`: the wrong kind of value (a string for a count, null for an options object);
 * - `out_of_range`: the right kind, outside the allowed range (including non-integers for counts);
 * - `invalid_value`: any other rejected value (an unknown enum member, a malformed list);
 * - `unknown_option`: an options object holds a key the function does not know.
 */
export type ArgumentErrorCode = 'invalid_type' | 'out_of_range' | 'invalid_value' | 'unknown_option';

/** A function argument or option failed its check; thrown before any work or state change. */
export class InvalidArgumentError extends FlashgraphError {
  declare readonly code: ArgumentErrorCode;

  constructor(init: {
    code: ArgumentErrorCode;
    path: string;
    value: unknown;
    allowed: string;
    problem?: string;
    fix?: string;
    /** What reading the value threw, where that is the problem (a getter, a proxy trap). */
    cause?: unknown;
  }) {
    super({
      code: init.code,
      path: init.path,
      problem: init.problem ?? defaultProblem(init.code),
      value: init.value,
      allowed: init.allowed,
      ...(init.fix === undefined ? {} : { fix: init.fix }),
      ...(init.cause === undefined ? {} : { cause: init.cause }),
    });
  }
}

function defaultProblem(code: ArgumentErrorCode): string {
  switch (code) {
    case 'invalid_type':
      return 'wrong type';
    case 'out_of_range':
      return 'out of range';
    case 'unknown_option':
      return 'unknown option';
    default:
      return 'invalid value';
  }
}

/** An object (stream, buffer, engine, runner...) was used after `dispose()`. */
export class DisposedError extends FlashgraphError {
  /** What was disposed, e.g. `Stream` or `GraphRunner`. */
  readonly what: string;

  constructor(what: string, call?: string) {
    super({
      code: 'disposed',
      ...(call === undefined ? {} : { path: call }),
      problem: `${what} was used after dispose()`,
      fix: `Create a new ${what}.`,
    });
    this.what = what;
  }
}
