// Argument checks shared by every entry point. Each error names the function, the argument and
// the allowed range, and is thrown before any device work: TypeError for a wrong kind of value,
// RangeError for a right kind out of range.

/** Largest value of a signed 32-bit integer: the device indexes sequences, pages and tiles in int32. */
export const INT32_MAX = 2 ** 31 - 1;

function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value === null || typeof value !== 'object') return String(value);
  return Object.prototype.toString.call(value);
}

/** An integer in [min, max]. */
export function checkInt(fn: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${fn}: ${name} must be an integer in [${min}, ${max}], got ${show(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${fn}: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** A finite number >= min (or > min when `exclusive`). */
export function checkNumber(fn: string, name: string, value: unknown, min: number, exclusive: boolean): number {
  const range = `a finite number ${exclusive ? '>' : '>='} ${min}`;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${fn}: ${name} must be ${range}, got ${show(value)}`);
  }
  if (!Number.isFinite(value) || (exclusive ? value <= min : value < min)) {
    throw new RangeError(`${fn}: ${name} must be ${range}, got ${value}`);
  }
  return value;
}

export function checkBool(fn: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${show(value)}`);
  return value;
}

export function checkOneOf<T extends string | number>(
  fn: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    const list = allowed.map((a) => show(a)).join(', ');
    const Err = typeof value === typeof allowed[0] ? RangeError : TypeError;
    throw new Err(`${fn}: ${name} must be one of ${list}, got ${show(value)}`);
  }
  return value as T;
}

/** A plain object of arguments (what every API function takes). */
export function checkArgs(fn: string, args: unknown): Record<string, unknown> {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new TypeError(`${fn}: expected an options object, got ${show(args)}`);
  }
  return args as Record<string, unknown>;
}

/** An Int32Array holding at least `minLength` elements. */
export function checkInt32Array(fn: string, name: string, value: unknown, minLength: number): Int32Array {
  if (!(value instanceof Int32Array)) throw new TypeError(`${fn}: ${name} must be an Int32Array, got ${show(value)}`);
  if (value.length < minLength) {
    throw new RangeError(`${fn}: ${name} must hold at least ${minLength} elements, got ${value.length}`);
  }
  return value;
}

/** A Float32Array of exactly `length` elements. */
export function checkFloat32Array(
  fn: string,
  name: string,
  value: unknown,
  length: number,
  shape: string,
): Float32Array {
  if (!(value instanceof Float32Array))
    throw new TypeError(`${fn}: ${name} must be a Float32Array, got ${show(value)}`);
  if (value.length !== length) {
    throw new RangeError(`${fn}: ${name} must hold ${shape} = ${length} elements, got ${value.length}`);
  }
  return value;
}

/** FA3 window `[left, right]`, -1 meaning unbounded on that side; undefined means no window. */
export function checkWindow(fn: string, value: unknown, causal: boolean): [number, number] {
  if (value === undefined) return [-1, -1];
  if (!Array.isArray(value) || value.length !== 2) {
    throw new TypeError(`${fn}: window must be [left, right] (integers >= -1, -1 = unbounded), got ${show(value)}`);
  }
  const left = checkInt(fn, 'window[0] (left)', value[0], -1, INT32_MAX);
  const right = checkInt(fn, 'window[1] (right)', value[1], -1, INT32_MAX);
  // Causal already fixes the right edge at the diagonal; a wider right window contradicts it.
  if (causal && right > 0) {
    throw new RangeError(`${fn}: window[1] (right) must be -1 or 0 when causal is true, got ${right}`);
  }
  return [left, right];
}
