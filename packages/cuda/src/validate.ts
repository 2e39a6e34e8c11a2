// Argument checks shared by the package. Every check runs before any native call and throws a
// TypeError (wrong kind of value) or RangeError (right kind, out of range) naming the argument
// and the allowed range.

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const U64_MAX = (1n << 64n) - 1n;

export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  const ctor = (value as object).constructor?.name;
  return ctor ? `a ${ctor}` : 'an object';
}

/** An integer number in [min, max]. */
export function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number')
    throw new TypeError(`${name} must be a number (an integer in [${min}, ${max}]), got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

/** A byte count or element count: an integer in [min, 2^53 - 1] by default. */
export function checkSize(value: unknown, name: string, min = 0, max = MAX_SAFE): number {
  return checkInt(value, name, min, max);
}

export function checkOptionalInt(value: unknown, name: string, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : checkInt(value, name, min, max);
}

export function checkOptionalBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** An options bag: undefined becomes {}, anything but a plain object is a TypeError. */
export function checkOptions(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${name} must be an options object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A 64-bit handle or device pointer passed as a bigint. */
export function checkHandle(value: unknown, name: string, allowZero: boolean): bigint {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${describe(value)}`);
  const min = allowZero ? 0n : 1n;
  if (value < min || value > U64_MAX)
    throw new RangeError(`${name} must be a bigint in [${min}, 2^64 - 1], got ${value}n`);
  return value;
}

/** A byte range [offset, offset + length) inside a span of `total` bytes. */
export function checkRange(offset: number, length: number, total: number, what: string): void {
  if (offset + length > total) {
    throw new RangeError(
      `${what}: ${length} bytes at offset ${offset} do not fit in ${total} bytes (offset + byteLength must be <= ${total})`,
    );
  }
}

export function isArrayBufferView(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value);
}

/** The bytes of any ArrayBufferView (TypedArray or DataView) as a Uint8Array over the same memory. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
