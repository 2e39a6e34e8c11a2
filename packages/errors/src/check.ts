// The argument checks every package uses for options and arguments. Each one takes the path
// first, reads own properties only, throws InvalidArgumentError naming the path, the value and
// the allowed range, and returns the checked value. Hot per-step paths may keep hand-written
// checks, but they throw through the same class.
import { InvalidArgumentError } from './common-errors.js';
import { formatValue } from './format.js';

/** The largest int32: the ceiling for every count that reaches a kernel as `int`. */
export const INT32_MAX = 2 ** 31 - 1;

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  /** The bound itself is excluded (e.g. topP in (0, 1]). */
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (ArrayBuffer.isView(value)) return value.constructor?.name ?? 'ArrayBufferView';
  return typeof value;
}

/** `integer in [min, max]`, the `allowed` text of an integer check. */
export function intRangeText(range: IntRange): string {
  return `integer in [${range.min}, ${range.max}]`;
}

/** An integer number in [min, max]; -0 comes back as 0. */
export function checkInt(path: string, value: unknown, range: IntRange): number {
  if (typeof value !== 'number') {
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed: intRangeText(range) });
  }
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new InvalidArgumentError({ code: 'out_of_range', path, value, allowed: intRangeText(range) });
  }
  return value === 0 ? 0 : value;
}

function numberRangeText(range: NumberRange): string {
  const lo = range.min === undefined ? '(-inf' : `${range.minExclusive ? '(' : '['}${range.min}`;
  const hi = range.max === undefined ? 'inf)' : `${range.max}${range.maxExclusive ? ')' : ']'}`;
  return `finite number in ${lo}, ${hi}`;
}

/** A finite number within the range. */
export function checkNumber(path: string, value: unknown, range: NumberRange = {}): number {
  const allowed = numberRangeText(range);
  if (typeof value !== 'number') throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed });
  const { min, max } = range;
  const below = min !== undefined && (range.minExclusive ? value <= min : value < min);
  const above = max !== undefined && (range.maxExclusive ? value >= max : value > max);
  if (!Number.isFinite(value) || below || above) {
    throw new InvalidArgumentError({ code: 'out_of_range', path, value, allowed });
  }
  return value === 0 ? 0 : value;
}

export function checkBoolean(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed: 'boolean' });
  return value;
}

export function checkString(
  path: string,
  value: unknown,
  options: { maxLength?: number; nonEmpty?: boolean } = {},
): string {
  const allowed = options.nonEmpty ? 'non-empty string' : 'string';
  if (typeof value !== 'string') throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed });
  if ((options.nonEmpty && value.length === 0) || value.length > (options.maxLength ?? Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path,
      value,
      allowed: `${allowed} of at most ${options.maxLength ?? Number.MAX_SAFE_INTEGER} characters`,
    });
  }
  return value;
}

/** One of a fixed set of strings (or other primitives). */
export function checkOneOf<const T extends string | number | boolean>(
  path: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new InvalidArgumentError({
      code: typeof value === typeof allowed[0] ? 'invalid_value' : 'invalid_type',
      path,
      value,
      allowed: `one of ${allowed.map((a) => formatValue(a)).join(', ')}`,
    });
  }
  return value as T;
}

export function checkFunction<F extends (...args: never[]) => unknown>(path: string, value: unknown): F {
  if (typeof value !== 'function')
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed: 'function' });
  return value as F;
}

/**
 * A plain object, copied to a null-prototype record of its own enumerable string keys: inherited
 * keys and `__proto__` tricks never reach the caller, and later mutation of the argument cannot
 * change what was checked.
 */
export function checkObject(path: string, value: unknown): Readonly<Record<string, unknown>> {
  const builtin = value !== null && typeof value === 'object' ? builtinKind(value) : undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value) || builtin) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path,
      value,
      allowed: `object (got ${builtin ?? kindOf(value)})`,
    });
  }
  // One read of every own key, here: a getter or proxy trap that throws fails the check (typed,
  // with the original as its cause) rather than escaping later from the middle of the work.
  const out: Record<string, unknown> = Object.create(null);
  try {
    for (const key of Object.keys(value)) out[key] = (value as Record<string, unknown>)[key];
  } catch (cause) {
    throw unreadable(path, value, cause, 'an object whose own properties can be read');
  }
  return out;
}

/**
 * The error of a value a check could not read (a getter or proxy trap threw `cause`):
 * `invalid_value` at `path`, the trap's message in the problem and `cause` kept.
 */
export function unreadable(path: string, value: unknown, cause: unknown, allowed: string): InvalidArgumentError {
  let reason: string;
  try {
    reason = cause instanceof Error ? cause.message : formatValue(cause);
  } catch {
    reason = 'it threw';
  }
  return new InvalidArgumentError({
    code: 'invalid_value',
    path,
    value,
    problem: `could not be read (${reason})`,
    allowed,
    cause,
  });
}

// Built-in objects that hold their data in internal slots rather than own properties: as an
// options or record object they would read as empty, so they are rejected by name.
const BUILTIN_KINDS: ReadonlyArray<readonly [string, abstract new (...args: never[]) => unknown]> = [
  ['Map', Map],
  ['Set', Set],
  ['WeakMap', WeakMap],
  ['WeakSet', WeakSet],
  ['Date', Date],
  ['RegExp', RegExp],
  ['Error', Error],
  ['Promise', Promise],
  ['ArrayBuffer', ArrayBuffer],
  ['SharedArrayBuffer', SharedArrayBuffer],
  ['String', String],
  ['Number', Number],
  ['Boolean', Boolean],
];

function builtinKind(value: object): string | undefined {
  try {
    for (const [name, type] of BUILTIN_KINDS) if (value instanceof type) return name;
  } catch {
    // A proxy whose getPrototypeOf trap throws: its keys are read (and fail) next.
  }
  return undefined;
}

/**
 * An options object: undefined gives `{}`; with `known`, any other own key is an
 * `unknown_option` error (catches typos and prototype keys such as `__proto__`, `constructor`).
 */
export function checkOptions(
  path: string,
  value: unknown,
  known?: readonly string[],
): Readonly<Record<string, unknown>> {
  if (value === undefined) return Object.create(null) as Record<string, unknown>;
  const options = checkObject(path, value);
  if (known) {
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) {
        throw new InvalidArgumentError({
          code: 'unknown_option',
          path: `${path}.${key}`,
          value: options[key],
          allowed: `one of the keys ${known.join(', ')}`,
        });
      }
    }
  }
  return options;
}

/** `value === undefined ? fallback : check(value)`, the shape of every optional field. */
export function optional<T>(value: unknown, fallback: T, check: (value: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}

/**
 * An array or typed array (never an arbitrary `{ length }` object) with a length in
 * [minLength, maxLength]. Returned as is: check its elements with `checkIntArray` or by hand.
 */
export function checkArray(
  path: string,
  value: unknown,
  lengths: { minLength?: number; maxLength: number },
): ArrayLike<unknown> {
  const min = lengths.minLength ?? 0;
  const allowed = `array or typed array of length in [${min}, ${lengths.maxLength}]`;
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed });
  }
  // A Proxy passes Array.isArray and can report any length (1.5, -1, 2^53), or throw: check it is one.
  let length: unknown;
  try {
    length = (value as ArrayLike<unknown>).length;
  } catch (cause) {
    throw unreadable(`${path}.length`, value, cause, allowed);
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < min || length > lengths.maxLength) {
    throw new InvalidArgumentError({ code: 'out_of_range', path: `${path}.length`, value: length, allowed });
  }
  return value as ArrayLike<unknown>;
}

/**
 * `checkArray`, copied into a plain array: an element whose read throws (a getter, a proxy trap)
 * is an InvalidArgumentError at `path[i]`, and later changes to the caller's array change nothing.
 */
export function checkArrayCopy(
  path: string,
  value: unknown,
  lengths: { minLength?: number; maxLength: number },
  allowed = 'a readable element',
): unknown[] {
  const items = checkArray(path, value, lengths);
  const out = new Array<unknown>(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      out[i] = items[i];
    } catch (cause) {
      throw unreadable(`${path}[${i}]`, value, cause, allowed);
    }
  }
  return out;
}

/** An array of integers in range, copied into a plain number[] (so the caller's array can change afterwards). */
export function checkIntArray(
  path: string,
  value: unknown,
  range: IntRange,
  lengths: { minLength?: number; maxLength: number },
): number[] {
  const items = checkArrayCopy(path, value, lengths, intRangeText(range));
  for (let i = 0; i < items.length; i++) checkInt(`${path}[${i}]`, items[i], range);
  return items as number[];
}
