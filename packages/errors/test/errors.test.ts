import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  checkArray,
  checkInt,
  checkIntArray,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOptions,
  DisposedError,
  FlashgraphError,
  formatBytes,
  formatValue,
  InvalidArgumentError,
  isFlashgraphError,
} from '../src/index.js';

function caught(fn: () => unknown): FlashgraphError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FlashgraphError) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

describe('FlashgraphError', () => {
  it('has one message shape: path, problem, value, allowed, fix', () => {
    const e = new FlashgraphError({
      code: 'too_big',
      path: 'options.size',
      problem: 'is too big',
      value: 9,
      allowed: 'integer in [1, 8]',
      fix: 'Use a smaller size.',
    });
    expect(e.message).toBe('options.size: is too big (got 9, allowed integer in [1, 8]). Use a smaller size.');
    expect(e.name).toBe('FlashgraphError');
    expect(e.toJSON()).toMatchObject({ code: 'too_big', path: 'options.size', allowed: 'integer in [1, 8]' });
  });

  it('shows an undefined value only when one was given', () => {
    expect(new FlashgraphError({ code: 'x', problem: 'missing', path: 'a', value: undefined }).message).toBe(
      'a: missing (got undefined)',
    );
    expect(new FlashgraphError({ code: 'x', problem: 'failed' }).message).toBe('failed');
  });

  it('subclasses keep their own name and instanceof', () => {
    class ModelError extends FlashgraphError {}
    const e = new ModelError({ code: 'm', problem: 'p' });
    expect(e.name).toBe('ModelError');
    expect(e).toBeInstanceOf(ModelError);
    expect(e).toBeInstanceOf(FlashgraphError);
    expect(e).toBeInstanceOf(Error);
    expect(new FlashgraphError({ code: 'x', problem: 'y' })).not.toBeInstanceOf(ModelError);
    expect(isFlashgraphError(e)).toBe(true);
    expect(isFlashgraphError(new Error('plain'))).toBe(false);
    expect(isFlashgraphError(null)).toBe(false);
  });

  it('instanceof holds across two copies of the package (the ESM and the CJS build)', async () => {
    const cjs = createRequire(import.meta.url)('../dist/index.cjs') as typeof import('../src/index.js');
    const esm = (await import('../dist/index.js' as string)) as typeof import('../src/index.js');
    expect(cjs.FlashgraphError).not.toBe(esm.FlashgraphError);
    const fromCjs = new cjs.InvalidArgumentError({ code: 'out_of_range', path: 'p', value: 1, allowed: 'a' });
    expect(fromCjs).toBeInstanceOf(esm.InvalidArgumentError);
    expect(fromCjs).toBeInstanceOf(esm.FlashgraphError);
    expect(fromCjs).not.toBeInstanceOf(esm.DisposedError);
    expect(esm.isFlashgraphError(fromCjs)).toBe(true);
    expect(new esm.DisposedError('Stream')).toBeInstanceOf(cjs.DisposedError);
  });

  it('DisposedError words every disposed object the same way', () => {
    const e = new DisposedError('Stream', 'Stream.synchronize');
    expect(e.code).toBe('disposed');
    expect(e.message).toBe('Stream.synchronize: Stream was used after dispose(). Create a new Stream.');
  });
});

describe('validation kit', () => {
  it('checkInt: type, integer, range; -0 becomes 0', () => {
    expect(checkInt('n', 5, { min: 1, max: 8 })).toBe(5);
    expect(Object.is(checkInt('n', -0, { min: 0, max: 8 }), 0)).toBe(true);
    expect(caught(() => checkInt('n', '5', { min: 1, max: 8 })).code).toBe('invalid_type');
    for (const bad of [0, 9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const e = caught(() => checkInt('opts.n', bad, { min: 1, max: 8 }));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect(e.code).toBe('out_of_range');
      expect(e.path).toBe('opts.n');
      expect(e.message).toContain('allowed integer in [1, 8]');
    }
  });

  it('checkNumber: finite, inclusive and exclusive bounds', () => {
    expect(checkNumber('p', 1, { min: 0, minExclusive: true, max: 1 })).toBe(1);
    expect(caught(() => checkNumber('p', 0, { min: 0, minExclusive: true, max: 1 })).message).toContain(
      'allowed finite number in (0, 1]',
    );
    expect(caught(() => checkNumber('t', Number.NaN, { min: 0 })).code).toBe('out_of_range');
    expect(caught(() => checkNumber('t', null)).code).toBe('invalid_type');
  });

  it('checkObject reads own keys only; __proto__ in JSON cannot change the prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"mode": "none"}, "size": 4}');
    const o = checkObject('config', hostile);
    expect(Object.getPrototypeOf(o)).toBeNull();
    expect(o.mode).toBeUndefined();
    expect(Object.keys(o).sort()).toEqual(['__proto__', 'size']);
    expect(caught(() => checkOptions('config', hostile, ['size'])).code).toBe('unknown_option');
    expect(caught(() => checkOptions('config', { constructor: 1 }, ['size'])).path).toBe('config.constructor');
    for (const bad of [null, [], 3, 'x', new Uint8Array(2)]) {
      expect(caught(() => checkObject('o', bad)).code).toBe('invalid_type');
    }
    expect(Object.keys(checkOptions('o', undefined))).toEqual([]);
  });

  it('checkArray accepts arrays and typed arrays only, with bounded lengths', () => {
    expect(checkArray('a', [1, 2], { maxLength: 4 })).toEqual([1, 2]);
    expect(caught(() => checkArray('a', { length: -1 }, { maxLength: 4 })).code).toBe('invalid_type');
    expect(caught(() => checkArray('a', { length: 2 ** 53 }, { maxLength: 4 })).code).toBe('invalid_type');
    const tooLong = caught(() => checkArray('a', new Int32Array(5), { maxLength: 4 }));
    expect(tooLong.code).toBe('out_of_range');
    expect(tooLong.path).toBe('a.length');
    expect(checkIntArray('ids', new Int32Array([3, 4]), { min: 0, max: 9 }, { maxLength: 4 })).toEqual([3, 4]);
    // A Proxy is an array to Array.isArray but may report any length.
    for (const length of [1.5, -1, 2 ** 53, Number.NaN]) {
      const lying = new Proxy([], { get: (target, key) => (key === 'length' ? length : Reflect.get(target, key)) });
      expect(caught(() => checkIntArray('ids', lying, { min: 0, max: 9 }, { maxLength: 4 })).code).toBe('out_of_range');
    }
    expect(caught(() => checkIntArray('ids', [3, 10], { min: 0, max: 9 }, { maxLength: 4 })).path).toBe('ids[1]');
  });

  it('checkOneOf names the allowed set', () => {
    expect(checkOneOf('mode', 'full', ['none', 'full'])).toBe('full');
    const e = caught(() => checkOneOf('mode', 'fast', ['none', 'full']));
    expect(e.code).toBe('invalid_value');
    expect(e.message).toBe('mode: invalid value (got "fast", allowed one of "none", "full")');
    expect(caught(() => checkOneOf('mode', 3, ['none'])).code).toBe('invalid_type');
  });
});

describe('formatting', () => {
  it('formatValue shows what a user typed, briefly', () => {
    expect(formatValue('a')).toBe('"a"');
    expect(formatValue(-0)).toBe('-0');
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(2n)).toBe('2n');
    expect(formatValue(new Int32Array(1000))).toBe('Int32Array(1000)');
    expect(formatValue(Array.from({ length: 100 }, () => 1))).toBe('array(100)');
    expect(formatValue('x'.repeat(200))).toHaveLength(80);
  });

  it('formatBytes: binary units, two decimals', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.00 GiB');
    expect(formatBytes(-1)).toBe('-');
  });
});
