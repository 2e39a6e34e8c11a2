// Hostile input (issue 17): every check of the kit, given any value, returns the checked value or
// throws an InvalidArgumentError naming the path; the formatters never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkArray,
  checkArrayCopy,
  checkBoolean,
  checkFunction,
  checkInt,
  checkIntArray,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOptions,
  checkString,
  formatBytes,
  formatValue,
  InvalidArgumentError,
  isFlashgraphError,
} from '../src/index.js';

const hostile = fc.oneof(
  fc.anything(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 31, 2 ** 53, -(2 ** 53), 0.5, null, undefined),
  fc.constantFrom(
    JSON.parse('{"__proto__": {"polluted": 1}}'),
    { constructor: 1 },
    new Proxy([], { get: (t, k) => (k === 'length' ? 2 ** 53 : Reflect.get(t, k)) }),
    new Int32Array(3),
    new DataView(new ArrayBuffer(4)),
    Symbol('s'),
    10n,
    // Reading this one throws (proxies whose traps throw are in their own test: fast-check
    // itself reads the values it generates).
    Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    }),
    new Map([['a', 1]]),
    new Date(0),
    new Error('e'),
    Promise.resolve(1),
  ),
);

function throwingProxy(target: object): object {
  const trap = () => {
    throw new Error('trap');
  };
  return new Proxy(target, {
    get: trap,
    getPrototypeOf: trap,
    ownKeys: trap,
    getOwnPropertyDescriptor: trap,
    has: trap,
  });
}

function checkedOrTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).path).toMatch(/^p/);
  }
}

/** Every check of the kit on one value: each returns or throws InvalidArgumentError naming the path. */
function everyCheck(value: unknown): void {
  checkedOrTyped(() => checkInt('p', value, { min: 0, max: 10 }));
  checkedOrTyped(() => checkNumber('p', value, { min: 0, max: 1, minExclusive: true }));
  checkedOrTyped(() => checkBoolean('p', value));
  checkedOrTyped(() => checkString('p', value, { maxLength: 4 }));
  checkedOrTyped(() => checkOneOf('p', value, ['a', 'b']));
  checkedOrTyped(() => checkFunction('p', value));
  checkedOrTyped(() => checkObject('p', value));
  checkedOrTyped(() => checkOptions('p', value, ['a']));
  checkedOrTyped(() => checkArray('p', value, { maxLength: 8 }));
  checkedOrTyped(() => checkArrayCopy('p', value, { maxLength: 8 }));
  checkedOrTyped(() => checkIntArray('p', value, { min: 0, max: 9 }, { maxLength: 8 }));
}

describe('hostile input: the validation kit', () => {
  it('every check returns or throws InvalidArgumentError naming the path', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        everyCheck(value);
        expect(typeof formatValue(value)).toBe('string');
        expect(formatValue(value).length).toBeLessThanOrEqual(80);
        expect(typeof formatBytes(value as number)).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it('proxies whose every trap throws: every check throws InvalidArgumentError, formatValue a string', () => {
    for (const value of [throwingProxy({}), throwingProxy([]), throwingProxy([1, 2])]) {
      everyCheck(value);
      expect(formatValue(value)).toBe('[unreadable object]');
    }
  });

  it('a value whose reads throw fails as InvalidArgumentError with the original as cause', () => {
    const getter = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    for (const value of [getter, throwingProxy({})]) {
      let caught: unknown;
      try {
        checkOptions('p', value, ['x']);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).path).toBe('p');
      expect((caught as Error).cause).toBeInstanceOf(Error);
    }
    expect(isFlashgraphError(throwingProxy({}))).toBe(false);
    expect(throwingProxy({}) instanceof InvalidArgumentError).toBe(false);
    expect(formatValue(throwingProxy([]))).toBe('[unreadable object]');
  });

  it('built-ins that keep their data in internal slots are no options object', () => {
    for (const [value, kind] of [
      [new Map([['mode', 'none']]), 'Map'],
      [new Date(0), 'Date'],
      [/re/, 'RegExp'],
      [new Error('e'), 'Error'],
      [Promise.resolve(1), 'Promise'],
      [new String('x'), 'String'],
    ] as const) {
      let caught: unknown;
      try {
        checkObject('p', value);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).code).toBe('invalid_type');
      expect((caught as Error).message).toContain(`got ${kind}`);
    }
  });

  it('checkObject never hands back an inherited or prototype-changing key', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.anything()), (record) => {
        const copy = checkObject('p', record);
        expect(Object.getPrototypeOf(copy)).toBeNull();
        expect(Object.keys(copy).sort()).toEqual(Object.keys(record).sort());
      }),
    );
  });
});
