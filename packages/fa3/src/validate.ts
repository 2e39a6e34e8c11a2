// fa3's argument checks: the shared kit of @flashgraph/errors with fa3's path convention,
// `<function>.<argument>` (e.g. `Attention.forward.numReqs`), so every message names the call and
// the argument. Each throws InvalidArgumentError (codes `invalid_type`, `out_of_range`,
// `invalid_value`, `unknown_option`) before any device work.
import {
  checkBoolean,
  INT32_MAX,
  InvalidArgumentError,
  checkInt as kitCheckInt,
  checkNumber as kitCheckNumber,
  checkOneOf as kitCheckOneOf,
  unreadable,
} from '@flashgraph/errors';

export { INT32_MAX };

/** `<function>.<argument>`, the path of every fa3 argument error. */
export function argPath(fn: string, name: string): string {
  return `${fn}.${name}`;
}

/** An integer in [min, max]. */
export function checkArgInt(fn: string, name: string, value: unknown, min: number, max: number): number {
  return kitCheckInt(argPath(fn, name), value, { min, max });
}

/** A finite number >= min (or > min when `exclusive`). */
export function checkArgNumber(fn: string, name: string, value: unknown, min: number, exclusive: boolean): number {
  return kitCheckNumber(argPath(fn, name), value, { min, minExclusive: exclusive });
}

export function checkBool(fn: string, name: string, value: unknown): boolean {
  return checkBoolean(argPath(fn, name), value);
}

export function checkArgOneOf<const T extends string | number>(
  fn: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  return kitCheckOneOf(argPath(fn, name), value, allowed);
}

const hasOwn = (o: object, key: string): boolean => Object.hasOwn(o, key);

/**
 * A plain object of arguments (what every API function takes), returned as is (the per-step
 * calls allocate nothing). Any enumerable key it inherits (a polluted Object.prototype) and,
 * with `known`, any own key not in it is an `unknown_option`: arguments come from own
 * properties only.
 */
export function checkArgs(fn: string, args: unknown, known?: readonly string[]): Record<string, unknown> {
  if (args === null || typeof args !== 'object' || Array.isArray(args) || ArrayBuffer.isView(args)) {
    throw new InvalidArgumentError({ code: 'invalid_type', path: `${fn}(args)`, value: args, allowed: 'an object' });
  }
  const a = args as Record<string, unknown>;
  let unknown: string | undefined;
  try {
    for (const key in a) {
      if (!hasOwn(a, key) || (known !== undefined && !known.includes(key))) {
        unknown = key;
        break;
      }
      // Each value read once here: a getter or proxy trap that throws fails this check, typed,
      // rather than escaping later from the middle of the call.
      void a[key];
    }
  } catch (cause) {
    throw unreadable(`${fn}(args)`, args, cause, 'an object whose own properties can be read');
  }
  if (unknown !== undefined) {
    let value: unknown;
    try {
      value = a[unknown];
    } catch {
      value = undefined; // its getter throws too: the key is what the error names
    }
    throw new InvalidArgumentError({
      code: 'unknown_option',
      path: argPath(fn, unknown),
      value,
      allowed: known === undefined ? 'own keys only (not inherited)' : `one of the keys ${known.join(', ')}`,
    });
  }
  return a;
}

/** An Int32Array holding at least `minLength` elements. */
export function checkInt32Array(fn: string, name: string, value: unknown, minLength: number): Int32Array {
  const path = argPath(fn, name);
  if (!(value instanceof Int32Array)) {
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed: 'Int32Array' });
  }
  if (value.length < minLength) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: `${path}.length`,
      value: value.length,
      allowed: `at least ${minLength} elements`,
    });
  }
  return value;
}

/** A Float32Array of at least `length` elements (`shape` names them in the message). */
export function checkFloat32Array(
  fn: string,
  name: string,
  value: unknown,
  length: number,
  shape: string,
): Float32Array {
  const path = argPath(fn, name);
  if (!(value instanceof Float32Array)) {
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed: 'Float32Array' });
  }
  if (value.length < length) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: `${path}.length`,
      value: value.length,
      allowed: `at least ${shape} = ${length} elements`,
    });
  }
  return value;
}

/**
 * Attention sinks for the CPU references: a Float32Array of at least numHeadsQ logits, each finite
 * or -Infinity (no sink for that head). NaN or +Infinity is an `invalid_value` naming the head.
 */
export function checkSinks(fn: string, value: unknown, numHeadsQ: number): Float32Array {
  const sinks = checkFloat32Array(fn, 'sinks', value, numHeadsQ, `numHeadsQ = ${numHeadsQ}`);
  for (let h = 0; h < numHeadsQ; h++) {
    const v = sinks[h]!;
    if (Number.isNaN(v) || v === Number.POSITIVE_INFINITY) {
      invalidValue(fn, `sinks[${h}]`, v, 'a finite logit, or -Infinity for no sink');
    }
  }
  return sinks;
}

/** A rule between arguments failed (e.g. numHeadsQ not a multiple of numHeadsKv). */
export function invalidValue(fn: string, name: string, value: unknown, allowed: string, fix?: string): never {
  throw new InvalidArgumentError({
    code: 'invalid_value',
    path: argPath(fn, name),
    value,
    allowed,
    ...(fix === undefined ? {} : { fix }),
  });
}

/** A count outside what another argument allows (e.g. seqLens[3] above what the page table holds). */
export function outOfRange(fn: string, name: string, value: unknown, allowed: string, fix?: string): never {
  throw new InvalidArgumentError({
    code: 'out_of_range',
    path: argPath(fn, name),
    value,
    allowed,
    ...(fix === undefined ? {} : { fix }),
  });
}

/** FA3 window `[left, right]`, -1 meaning unbounded on that side; undefined means no window. */
export function checkWindow(fn: string, value: unknown, causal: boolean): [number, number] {
  if (value === undefined) return [-1, -1];
  if (!Array.isArray(value) || value.length !== 2) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: argPath(fn, 'window'),
      value,
      allowed: '[left, right] (integers >= -1, -1 = unbounded)',
    });
  }
  const left = checkArgInt(fn, 'window[0]', value[0], -1, INT32_MAX);
  const right = checkArgInt(fn, 'window[1]', value[1], -1, INT32_MAX);
  // Causal already fixes the right edge at the diagonal; a wider right window contradicts it.
  if (causal && right > 0) invalidValue(fn, 'window[1]', right, '-1 or 0 when causal is true');
  return [left, right];
}
