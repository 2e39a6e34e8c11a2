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
