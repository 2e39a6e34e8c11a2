import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { expect } from 'vitest';

/**
 * Runs `fn` and asserts it throws an InvalidArgumentError with this code and path (and, when
 * given, a message matching `message`); returns the error.
 */
export function expectArgumentError(
  fn: () => unknown,
  code: string,
  path: string,
  message?: RegExp,
): InvalidArgumentError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect(isFlashgraphError(caught)).toBe(true);
  const err = caught as InvalidArgumentError;
  expect({ code: err.code, path: err.path }).toEqual({ code, path });
  if (message) expect(err.message).toMatch(message);
  return err;
}
