import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { expect } from 'vitest';
import { MetadataError } from '../../src/errors.js';

/** Runs `fn`, asserts it throws a MetadataError, and returns that error for further checks. */
export function caughtMetadataError(fn: () => unknown): MetadataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MetadataError);
    return err as MetadataError;
  }
  throw new Error('expected a MetadataError');
}

/** Runs `fn`, asserts it throws an InvalidArgumentError (an option or argument check), and returns it. */
export function caughtArgumentError(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(isFlashgraphError(err)).toBe(true);
    return err as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}
