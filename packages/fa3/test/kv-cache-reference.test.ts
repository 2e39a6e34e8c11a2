import { describe, expect, it } from 'vitest';
import { writeKvCacheReference } from '../src/index.js';
import { expectArgumentError } from './support/expect-error.js';

describe('writeKvCacheReference', () => {
  // 2 pages x 4 slots x 1 KV head x D 2; tokens carry their index in every element.
  const make = () => ({
    key: Float32Array.from({ length: 3 * 2 }, (_, i) => 1 + Math.floor(i / 2)),
    value: Float32Array.from({ length: 3 * 2 }, (_, i) => -1 - Math.floor(i / 2)),
    kCache: new Float32Array(2 * 4 * 2).fill(9),
    vCache: new Float32Array(2 * 4 * 2).fill(9),
    numHeadsKv: 1,
    headDim: 2,
    pageSize: 4,
  });

  it('writes token t to slot slotMapping[t] and skips slot -1', () => {
    const a = make();
    writeKvCacheReference({ ...a, slotMapping: new Int32Array([5, -1, 0]) });
    expect(Array.from(a.kCache)).toEqual([3, 3, 9, 9, 9, 9, 9, 9, 9, 9, 1, 1, 9, 9, 9, 9]);
    expect(Array.from(a.vCache)).toEqual([-3, -3, 9, 9, 9, 9, 9, 9, 9, 9, -1, -1, 9, 9, 9, 9]);
  });

  it('numTokens limits the tokens written; bf16 bit patterns work too', () => {
    const kCache = new Uint16Array(16);
    const vCache = new Uint16Array(16);
    writeKvCacheReference({
      key: new Uint16Array([7, 7, 8, 8]),
      value: new Uint16Array([1, 1, 2, 2]),
      kCache,
      vCache,
      slotMapping: new Int32Array([1, 2]),
      numTokens: 1,
      numHeadsKv: 1,
      headDim: 2,
      pageSize: 4,
    });
    expect(Array.from(kCache.subarray(0, 6))).toEqual([0, 0, 7, 7, 0, 0]);
    expect(Array.from(vCache.subarray(0, 6))).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it.each([
    [new Int32Array([8, 0, 0]), 0, /got 8, allowed a slot in \[0, 8\), or -1 to skip/],
    [new Int32Array([0, -2, 0]), 1, /got -2/],
  ])('rejects slots outside the cache, before writing any: %s', (slotMapping, bad, message) => {
    const a = make();
    const before = [a.kCache.slice(), a.vCache.slice()];
    expectArgumentError(
      () => writeKvCacheReference({ ...a, slotMapping }),
      'out_of_range',
      `writeKvCacheReference.slotMapping[${bad}]`,
      message,
    );
    expect([a.kCache, a.vCache]).toEqual(before);
  });

  it('rejects short key arrays and ragged caches', () => {
    const a = make();
    expectArgumentError(
      () => writeKvCacheReference({ ...a, key: new Float32Array(2), slotMapping: new Int32Array([0, 1, 2]) }),
      'out_of_range',
      'writeKvCacheReference.key.length',
      /numTokens x numHeadsKv x headDim/,
    );
    expectArgumentError(
      () => writeKvCacheReference({ ...a, kCache: new Float32Array(15), slotMapping: new Int32Array(0) }),
      'invalid_value',
      'writeKvCacheReference.kCache.length',
      /a multiple of pageSize x numHeadsKv x headDim/,
    );
  });
});
