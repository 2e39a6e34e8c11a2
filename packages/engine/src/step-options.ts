// The options of step() and run() (an AbortSignal), and the yield between steps that keeps the
// event loop turning during a long run.
import { checkOptions, InvalidArgumentError } from '@flashgraph/errors';

/** Duck-typed so a signal from another realm (or a polyfill) works as well as Node's own. */
/**
 * What the engine reads of an AbortSignal: declared structurally so that the package's
 * declarations type-check in a consumer without the DOM lib or @types/node (Node.js 20's
 * AbortSignal satisfies it).
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
}

function isAbortSignal(value: unknown): value is AbortSignalLike {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as AbortSignalLike).aborted === 'boolean' &&
    typeof (value as AbortSignalLike).addEventListener === 'function'
  );
}

/** Checks `{ signal? }` (own keys only) and returns the signal. */
export function checkStepOptions(call: 'step' | 'run', options: unknown): AbortSignalLike | undefined {
  const o = checkOptions(`${call}(options)`, options, ['signal']);
  if (o.signal === undefined) return undefined;
  if (!isAbortSignal(o.signal)) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: `${call}(options).signal`,
      value: o.signal,
      allowed: 'an AbortSignal',
    });
  }
  return o.signal;
}

/**
 * Resolves after the event loop's current turn: setImmediate runs after I/O callbacks, and the
 * timers phase comes before it on the next turn, so due timers fire between two steps.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
