// Hostile values for every package's property tests (issue 17): every kind of wrong number, wrong
// type, bad array-like and prototype trick a caller could pass, plus a few valid small values so
// that some calls succeed and must then leave a usable object behind.
import fc from 'fast-check';
import { expect } from 'vitest';

// @flashgraph/errors' brand (its README: a Symbol.for key holding the class chain), read directly:
// tooling cannot depend on errors, which builds with tooling's presets.
const BRAND = Symbol.for('@flashgraph/errors.brand');
function isFlashgraphError(err: unknown): err is Error & { code: string; path?: string } {
  return err instanceof Error && Array.isArray((err as unknown as Record<symbol, unknown>)[BRAND]);
}

// Inherited keys that the packages' options and arguments use: reading them would be a bug.
const polluted = Object.create({
  numBlocks: 4,
  blockSize: 4,
  maxNumSeqs: 2,
  promptTokens: [1],
  maxNewTokens: 1,
  numHeadsQ: 4,
  numReqs: 1,
  smCount: 3,
  numSplits: 1,
  maxNumReqs: 4,
  requests: [],
  padToTokens: 3,
  numNewTokens: 1,
});

export const hostileScalar = fc.oneof(
  fc.constantFrom<unknown>(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    -1,
    -2,
    0.5,
    1.5,
    2 ** 31,
    2 ** 31 - 1,
    2 ** 32,
    2 ** 53,
    2 ** 53 - 1,
    -(2 ** 31),
    Number.MAX_VALUE,
    null,
    undefined,
    '3',
    '',
    true,
    false,
    10n,
    Symbol('hostile'),
    () => 1,
    {},
    [],
    polluted,
    JSON.parse('{"__proto__": {"mode": "none"}, "constructor": 1}'),
  ),
  fc.integer({ min: -5, max: 20 }),
  // Non-integers only: the integer extremes are listed above, and a large integer double could be
  // a valid (multi-GiB) size.
  fc.double().filter((x) => !Number.isInteger(x)),
);

/** Array-likes with lengths that lie, and arrays that are too long. */
export const hostileArrayLike = fc.constantFrom<unknown>(
  { length: -1 },
  { length: -2 },
  { length: 1.5 },
  { length: 2 ** 32 },
  { length: 2 ** 53 },
  { length: Number.NaN },
  { length: '3' },
  new Proxy([], { get: (t, k) => (k === 'length' ? -1 : Reflect.get(t, k)) }),
  new Proxy([1], { get: (t, k) => (k === 'length' ? 1.5 : Reflect.get(t, k)) }),
  new Proxy([1], { get: (t, k) => (k === 'length' ? 2 ** 53 : Reflect.get(t, k)) }),
  new Int32Array(1 << 20),
  new Array(1 << 20),
  new BigInt64Array(2),
  new DataView(new ArrayBuffer(8)),
  new Float64Array([Number.NaN, 1]),
  [1, Number.NaN],
  [1.5],
  [-1],
  [2 ** 31],
  'abc',
  null,
);

export const hostile = fc.oneof(hostileScalar, hostileArrayLike);

/** A record whose keys get hostile (or valid) values; sometimes with a key the function does not know. */
export function hostileRecord(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    hostile,
    fc
      .tuple(
        fc.array(fc.tuple(fc.constantFrom(...keys), hostile), { maxLength: 3 }),
        fc.option(fc.constantFrom('__proto__', 'constructor', 'typo'), { nil: undefined }),
      )
      .map(([overrides, extra]) => {
        const out: Record<string, unknown> = { ...valid };
        for (const [key, value] of overrides) out[key] = value;
        if (extra !== undefined) Object.defineProperty(out, extra, { value: 1, enumerable: true });
        return out;
      }),
  );
}

/**
 * Runs `fn`: it returns (a valid result, given to `onResult`) or throws a FlashgraphError that
 * names where the problem is (a path, or the call for state errors). Anything else fails the test.
 */
export function typedOrValid<T>(fn: () => T, onResult?: (value: T) => void): boolean {
  let value: T;
  try {
    value = fn();
  } catch (err) {
    if (!isFlashgraphError(err)) throw new Error(`not a FlashgraphError: ${String(err)}`, { cause: err });
    expect(typeof err.code).toBe('string');
    expect(err.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(typeof err.path === 'string' && err.path.length > 0).toBe(true);
    return false;
  }
  onResult?.(value);
  return true;
}

/** Throws from a getter or a proxy trap: what `throwingProxy` and hand-made getters call. */
export function trap(): never {
  throw new Error('trap');
}

/**
 * A proxy whose every trap throws (reads, keys, prototype, `in`): no check may let its error
 * through. Not for fast-check's generators, which read the values they hold.
 */
export function throwingProxy(target: object = {}): object {
  return new Proxy(target, {
    get: trap,
    ownKeys: trap,
    getPrototypeOf: trap,
    getOwnPropertyDescriptor: trap,
    has: trap,
  });
}

/** The name of what `call` throws ('returned' if nothing): printing the error would print the proxy it holds. */
export function nameOfThrown(call: () => unknown): string {
  try {
    call();
    return 'returned';
  } catch (error) {
    return (error as Error).name;
  }
}
