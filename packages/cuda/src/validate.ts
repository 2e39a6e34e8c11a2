// The package's own argument checks, on top of the validation kit of @flashgraph/errors: bigint
// handles, byte ranges, and the bytes of a host view. Every check runs before any native call
// and throws InvalidArgumentError naming the argument and the allowed range.
import { checkInt, InvalidArgumentError } from '@flashgraph/errors';

/** The largest byte or element count: 2^53 - 1, the largest integer a JS number holds exactly. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;
const U64_MAX = (1n << 64n) - 1n;

/** A byte count or element count: an integer in [min, max] (default [0, 2^53 - 1]). */
export function checkSize(path: string, value: unknown, min = 0, max = MAX_SIZE): number {
  return checkInt(path, value, { min, max });
}

/** A 64-bit handle or device pointer passed as a bigint. */
export function checkHandle(path: string, value: unknown, allowZero: boolean): bigint {
  const allowed = `bigint in [${allowZero ? 0 : 1}, 2^64 - 1]`;
  if (typeof value !== 'bigint') throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed });
  if (value < (allowZero ? 0n : 1n) || value > U64_MAX) {
    throw new InvalidArgumentError({ code: 'out_of_range', path, value, allowed });
  }
  return value;
}

/** A byte range [offset, offset + length) inside a span of `total` bytes. */
export function checkRange(path: string, offset: number, length: number, total: number): void {
  if (offset + length > total) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path,
      value: { offset, byteLength: length },
      allowed: `offset + byteLength <= ${total}`,
      problem: `${length} bytes at offset ${offset} do not fit in ${total} bytes`,
    });
  }
}

/** A TypedArray or DataView (host memory a copy reads or writes). */
export function checkHostView(path: string, value: unknown): ArrayBufferView {
  if (!ArrayBuffer.isView(value)) {
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed: 'TypedArray or DataView' });
  }
  return value;
}

/** The bytes of any ArrayBufferView (TypedArray or DataView) as a Uint8Array over the same memory. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** The error for an object that is not what the argument needs (a forged or plain look-alike). */
export function wrongObject(path: string, value: unknown, allowed: string): InvalidArgumentError {
  return new InvalidArgumentError({ code: 'invalid_type', path, value, allowed });
}

/** The error for a private constructor called with `new` from outside. */
export function notConstructible(what: string, use: string): InvalidArgumentError {
  return new InvalidArgumentError({
    code: 'invalid_value',
    path: `new ${what}()`,
    value: undefined,
    allowed: use,
    problem: `${what} has no public constructor`,
    fix: `Use ${use}.`,
  });
}
