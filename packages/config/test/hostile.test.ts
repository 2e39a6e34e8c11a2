// Hostile input (issue 17): every public function gets random hostile values and must answer with
// a typed FlashgraphError naming the argument, or a valid result; never a crash, a hang (the test
// timeout bounds each case) or a structure sized by a token count.
import { FlashgraphError, INT32_MAX, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  captureSizeIndex,
  captureSizeLookup,
  decodeGraphSizes,
  defaultCaptureSizes,
  estimateSplitWorkspaceBytes,
  graphConfigLimits,
  padToCaptureSize,
  resolveGraphConfig,
} from '../src/index.js';

const HUGE = [2 ** 31, 2 ** 31 - 1, 2 ** 53, 2 ** 53 - 1, Number.MAX_VALUE] as const;

/** Numbers and non-numbers a hostile caller would try. */
const hostileNumber = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, -1, 0.5, 1e-300, ...HUGE),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double(),
);
const hostileValue = fc.oneof(
  hostileNumber,
  fc.constantFrom(null, undefined, '', '8', true, 8n, Symbol('s'), () => 8, [], {}),
  fc.constantFrom({ length: 2 ** 32 - 1 }, new Array(2 ** 32 - 1), new Uint32Array(3)),
  fc.anything(),
);
const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty');

/** A plain object with own prototype keys, as JSON.parse builds it from a config file. */
const withProtoKeys = (base: Record<string, unknown>, key: string, value: unknown) =>
  Object.assign(JSON.parse(JSON.stringify({ [key]: 0 }).replace('0', JSON.stringify(value) ?? 'null')), base);

function expectTyped(call: () => unknown): unknown {
  try {
    return call();
  } catch (error) {
    expect(isFlashgraphError(error)).toBe(true);
    expect(error).toBeInstanceOf(FlashgraphError);
    return error;
  }
}

describe('resolveGraphConfig under hostile input', () => {
  it.each(HUGE)('maxCaptureSize / maxNumBatchedTokens %d: a ConfigError at once, no V8 fatal error', (size) => {
    const error = expectTyped(() =>
      resolveGraphConfig({ maxCaptureSize: size }, { maxNumSeqs: 256, maxNumBatchedTokens: size }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path);
    expect(paths.some((p) => p === 'maxCaptureSize' || p === 'context.maxNumBatchedTokens')).toBe(true);
  });

  it('a default ladder above the size limit is one issue naming the largest allowed max', () => {
    const error = expectTyped(() =>
      resolveGraphConfig({ maxCaptureSize: INT32_MAX }, { maxNumSeqs: 256, maxNumBatchedTokens: INT32_MAX }),
    ) as ConfigError;
    expect(error.issues.map((i) => [i.code, i.path])).toEqual([['too_many_capture_sizes', 'maxCaptureSize']]);
    // The largest max it names does resolve, with exactly the limit of sizes.
    const max = Number(/at most (\d+)/.exec(error.issues[0]!.fix)![1]);
    const ok = resolveGraphConfig({ maxCaptureSize: max }, { maxNumSeqs: 256, maxNumBatchedTokens: INT32_MAX });
    expect(ok.captureSizes).toHaveLength(graphConfigLimits.maxNumCaptureSizes);
    expect(() =>
      resolveGraphConfig({ maxCaptureSize: max + 16 }, { maxNumSeqs: 256, maxNumBatchedTokens: INT32_MAX }),
    ).toThrow(ConfigError);
  });

  it('capture sizes [1, 2^31 - 1] resolve and pad without a per-token table; 2^31 is rejected', () => {
    const context = { maxNumSeqs: 256, maxNumBatchedTokens: INT32_MAX };
    const resolved = resolveGraphConfig({ captureSizes: [1, INT32_MAX] }, context);
    expect(resolved.captureSizes).toEqual([1, INT32_MAX]);
    expect(padToCaptureSize(resolved, 2)).toBe(INT32_MAX);
    expect(padToCaptureSize(resolved, INT32_MAX)).toBe(INT32_MAX);
    expect(padToCaptureSize(resolved, 2 ** 53 - 1)).toBeUndefined();
    const error = expectTyped(() => resolveGraphConfig({ captureSizes: [1, 2 ** 31] }, context)) as ConfigError;
    expect(error.issues.map((i) => i.path)).toEqual(['captureSizes[1]']);
  });

  it('a huge or sparse captureSizes array is refused by its length, before any element is read', () => {
    const sparse = new Array(2 ** 32 - 1);
    const error = expectTyped(() =>
      resolveGraphConfig({ captureSizes: sparse }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 }),
    ) as ConfigError;
    expect(error.issues.map((i) => [i.code, i.path])).toEqual([['invalid_value', 'captureSizes']]);
    const array = new Array(graphConfigLimits.maxNumCaptureSizes + 1).fill(8);
    expect(() => resolveGraphConfig({ captureSizes: array }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 })).toThrow(
      ConfigError,
    );
  });

  it('every problem in one error: an invalid entry and the maxCaptureSize mismatch together', () => {
    const error = expectTyped(() =>
      resolveGraphConfig(
        { captureSizes: [4, 0, 16], maxCaptureSize: 512 },
        { maxNumSeqs: 8, maxNumBatchedTokens: 1024 },
      ),
    ) as ConfigError;
    expect(error.issues.map((i) => [i.code, i.path])).toEqual([
      ['invalid_value', 'captureSizes[1]'],
      ['max_capture_size_mismatch', 'maxCaptureSize'],
    ]);
  });

  it('prototype keys never become options: __proto__ from a JSON file, inherited keys, constructor', () => {
    const context = { maxNumSeqs: 8, maxNumBatchedTokens: 64 };
    // Object.assign from JSON.parse output sets the prototype: the mode must not be inherited.
    const assigned = Object.assign({}, JSON.parse('{ "__proto__": { "mode": "none" } }'));
    expect(resolveGraphConfig(assigned, context).mode).toBe('full_and_piecewise');
    // The own key itself is an unknown option, never a prototype.
    const parsed = JSON.parse('{ "__proto__": { "mode": "none" } }');
    const own = expectTyped(() => resolveGraphConfig(parsed, context)) as ConfigError;
    expect(own.issues.map((i) => [i.code, i.path])).toEqual([['unknown_option', '__proto__']]);
    const inherited = Object.create({ maxNumSeqs: 8, maxNumBatchedTokens: 64 });
    const ctxError = expectTyped(() => resolveGraphConfig({}, inherited)) as ConfigError;
    expect(ctxError.issues.map((i) => i.path)).toEqual(['context.maxNumSeqs', 'context.maxNumBatchedTokens']);
    const ctor = expectTyped(() => resolveGraphConfig({ constructor: 1 } as never, context)) as ConfigError;
    expect(ctor.issues.map((i) => [i.code, i.path])).toEqual([['unknown_option', 'constructor']]);
    expect(ctor.message).not.toMatch(/native code/);
  });

  it('property: any input and context give a frozen config or one ConfigError', () => {
    const field = fc.oneof(hostileValue, fc.integer({ min: 1, max: 4096 }));
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(fc.constantFrom('mode', 'captureSizes', 'maxCaptureSize', 'numWarmups'), protoKeys),
          field,
        ),
        fc.record(
          { maxNumSeqs: field, maxNumBatchedTokens: field, uniformDecodeQueryLen: field, backend: hostileValue },
          { requiredKeys: [] },
        ),
        protoKeys,
        (input, context, key) => {
          const result = expectTyped(() => resolveGraphConfig(withProtoKeys(input, key, 'none'), context as never));
          if (result instanceof Error) {
            expect(result).toBeInstanceOf(ConfigError);
            expect((result as ConfigError).code).toBe('invalid_config');
          } else {
            const config = result as ReturnType<typeof resolveGraphConfig>;
            expect(Object.isFrozen(config)).toBe(true);
            expect(config.captureSizes.length).toBeLessThanOrEqual(graphConfigLimits.maxNumCaptureSizes);
            expect(config.maxNumBatchedTokens).toBeLessThanOrEqual(INT32_MAX);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the other public functions under hostile input', () => {
  const resolved = resolveGraphConfig({}, { maxNumSeqs: 256, maxNumBatchedTokens: 8192 });

  it('defaultCaptureSizes: a ladder of at most 51 sizes or a ConfigError', () => {
    fc.assert(
      fc.property(hostileValue, hostileValue, hostileValue, (maxNumSeqs, maxNumBatchedTokens, k) => {
        const result = expectTyped(() =>
          defaultCaptureSizes({ maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen: k } as never),
        );
        if (result instanceof Error) expect(result).toBeInstanceOf(ConfigError);
        else expect((result as number[]).length).toBeLessThanOrEqual(51);
      }),
      { numRuns: 300 },
    );
    expect(defaultCaptureSizes({ maxNumSeqs: 2 ** 31 - 1, maxNumBatchedTokens: 2 ** 31 - 1 })).toHaveLength(51);
  });

  it('padToCaptureSize, captureSizeIndex, captureSizeLookup: a size / index, or InvalidArgumentError naming numTokens', () => {
    const lookup = captureSizeLookup(resolved);
    fc.assert(
      fc.property(hostileValue, (numTokens) => {
        const result = expectTyped(() => padToCaptureSize(resolved, numTokens as number));
        const index = expectTyped(() => captureSizeIndex(resolved, numTokens as number));
        const looked = expectTyped(() => lookup(numTokens as number));
        if (result instanceof Error) {
          expect(result).toBeInstanceOf(InvalidArgumentError);
          expect((result as InvalidArgumentError).path).toBe('numTokens');
          expect([(index as Error).message, (looked as Error).message]).toEqual([result.message, result.message]);
        } else {
          if (result !== undefined) expect(resolved.captureSizes).toContain(result);
          expect(index).toBe(looked);
        }
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(hostileValue, (config) => {
        const result = expectTyped(() => padToCaptureSize(config as never, 1));
        if (result instanceof Error) expect((result as InvalidArgumentError).path).toMatch(/^resolved/);
      }),
    );
  });

  it('estimateSplitWorkspaceBytes: a safe integer or InvalidArgumentError naming the field', () => {
    const field = fc.oneof(hostileValue, fc.integer({ min: 1, max: 300 }));
    fc.assert(
      fc.property(
        fc.record({ maxNumSplits: field, numHeadsQ: field, maxNumTokens: field, headDim: field }, { requiredKeys: [] }),
        (shape) => {
          const result = expectTyped(() => estimateSplitWorkspaceBytes(shape as never));
          if (result instanceof Error) expect((result as InvalidArgumentError).path).toMatch(/^shape/);
          else expect(Number.isSafeInteger(result)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    const inherited = Object.create({ maxNumSplits: 1, numHeadsQ: 1, maxNumTokens: 1, headDim: 1 });
    expect(() => estimateSplitWorkspaceBytes(inherited)).toThrow(
      expect.objectContaining({ path: 'shape.maxNumSplits' }),
    );
  });

  it('ConfigError: built from a hostile issue list, a FlashgraphError either way', () => {
    fc.assert(
      fc.property(fc.oneof(hostileValue, fc.array(hostileValue, { maxLength: 4 })), (issues) => {
        const made = expectTyped(() => new ConfigError(issues as never));
        expect(made).toBeInstanceOf(FlashgraphError);
      }),
      { numRuns: 300 },
    );
    const error = new ConfigError([{ code: 'x', path: 'p', value: Symbol('s'), rule: 'r', fix: 'f' }]);
    expect(error.message).toContain('p = Symbol(s)');
  });

  it('decodeGraphSizes: sizes of the config, or InvalidArgumentError naming the argument', () => {
    fc.assert(
      fc.property(hostileValue, (maxNumReqs) => {
        const result = expectTyped(() => decodeGraphSizes(resolved, maxNumReqs as number));
        if (result instanceof Error) expect((result as InvalidArgumentError).path).toBe('maxNumReqs');
        else for (const size of result as number[]) expect(resolved.captureSizes).toContain(size);
      }),
      { numRuns: 300 },
    );
    expect(decodeGraphSizes(resolved, 2 ** 31 - 1)).toEqual(decodeGraphSizes(resolved));
    const huge = resolveGraphConfig(
      { captureSizes: [1, INT32_MAX] },
      { maxNumSeqs: INT32_MAX, maxNumBatchedTokens: INT32_MAX },
    );
    expect(decodeGraphSizes(huge)).toEqual([1, INT32_MAX]);
    expect(() => decodeGraphSizes(null as never)).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'resolved' }),
    );
  });

  it('decodeGraphSizes rejects unsorted or repeated sizes (the reachability walk needs them ascending)', () => {
    const base = { mode: 'full', uniformDecodeQueryLen: 1, maxNumSeqs: 8 } as const;
    expect(decodeGraphSizes({ ...base, captureSizes: [1, 2, 4, 8] })).toEqual([1, 2, 4, 8]);
    for (const [sizes, index] of [
      [[8, 4, 2, 1], 1],
      [[4, 4], 1],
      [[1, 2, 2, 8], 2],
    ] as const) {
      expect(() => decodeGraphSizes({ ...base, captureSizes: sizes as unknown as number[] })).toThrow(
        expect.objectContaining({ code: 'invalid_value', path: `resolved.captureSizes[${index}]` }),
      );
    }
  });

  it('pad lookups never answer from a table of a config the caller has changed since', () => {
    const mutable = { captureSizes: [1, 2, 4] };
    expect(padToCaptureSize(mutable, 3)).toBe(4);
    mutable.captureSizes = [8, 16];
    expect(padToCaptureSize(mutable, 3)).toBe(8);
    mutable.captureSizes.length = 0;
    expect(padToCaptureSize(mutable, 3)).toBeUndefined();
    // resolveGraphConfig's frozen result keeps its cached table.
    expect(padToCaptureSize(resolved, 1)).toBe(resolved.captureSizes[0]);
  });

  it('pad lookups bound the number of sizes before allocating anything', () => {
    expect(() => padToCaptureSize({ captureSizes: new Array(2 ** 32 - 1) }, 1)).toThrow(
      expect.objectContaining({ code: 'out_of_range', path: 'resolved.captureSizes.length' }),
    );
  });

  it('resolveGraphConfig rejects built-ins whose data is not in own properties', () => {
    for (const input of [new Map([['mode', 'none']]), new Date(0), /re/, new Error('e'), new String('')]) {
      const error = expectTyped(() => resolveGraphConfig(input as never, { maxNumSeqs: 8, maxNumBatchedTokens: 64 }));
      expect(isFlashgraphError(error)).toBe(true);
    }
  });

  it('a config whose getters or proxy traps throw gives a typed error, not the trap', () => {
    const trap = () => {
      throw new Error('trap');
    };
    const proxy = new Proxy({}, { get: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap });
    const getter = Object.defineProperty({}, 'mode', { enumerable: true, get: trap });
    for (const input of [proxy, getter]) {
      expect(
        isFlashgraphError(
          expectTyped(() => resolveGraphConfig(input as never, { maxNumSeqs: 8, maxNumBatchedTokens: 64 })),
        ),
      ).toBe(true);
      expect(isFlashgraphError(expectTyped(() => padToCaptureSize(resolved, input as never)))).toBe(true);
    }
  });
});
