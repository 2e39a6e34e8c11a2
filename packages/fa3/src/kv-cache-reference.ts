// CPU mirror of the KV-cache write: token t's `[numHeadsKv, headDim]` key and value rows go to
// cache slot slotMapping[t] (= page * pageSize + offset in page); slot -1 is padding, skipped.
import { InvalidArgumentError } from '@flashgraph/errors';
import { checkArgInt, checkArgs, checkInt32Array, INT32_MAX, invalidValue, outOfRange } from './validate.js';

type Elements = Float32Array | Uint16Array | Int16Array | Float64Array | Uint8Array;

/**
 * Writes in place into kCache/vCache (any element type: fp32 values or bf16/fp16 bit patterns).
 * Every argument and every slot is checked before the first write: a rejected call changes nothing.
 */
export function writeKvCacheReference<T extends Elements>(args: {
  /** `[numTokens, numHeadsKv, headDim]`. */
  key: T;
  value: T;
  /** `[numPages, pageSize, numHeadsKv, headDim]`, modified in place. */
  kCache: T;
  vCache: T;
  /** `[numTokens]`: destination slot of each token, -1 = skip. */
  slotMapping: Int32Array;
  numHeadsKv: number;
  headDim: number;
  pageSize: number;
  /** Default slotMapping.length. */
  numTokens?: number;
}): void {
  const fn = 'writeKvCacheReference';
  const a = checkArgs(fn, args, [
    'key',
    'value',
    'kCache',
    'vCache',
    'slotMapping',
    'numHeadsKv',
    'headDim',
    'pageSize',
    'numTokens',
  ]);
  const numHeadsKv = checkArgInt(fn, 'numHeadsKv', a.numHeadsKv, 1, 1 << 16);
  const headDim = checkArgInt(fn, 'headDim', a.headDim, 1, 1 << 16);
  const pageSize = checkArgInt(fn, 'pageSize', a.pageSize, 1, INT32_MAX);
  const slotMapping = checkInt32Array(fn, 'slotMapping', a.slotMapping, 0);
  const numTokens =
    a.numTokens === undefined ? slotMapping.length : checkArgInt(fn, 'numTokens', a.numTokens, 0, slotMapping.length);
  const row = numHeadsKv * headDim;
  const arrays: Record<string, ArrayBufferView & { length: number }> = {};
  for (const name of ['key', 'value', 'kCache', 'vCache'] as const) {
    const arr = a[name];
    if (
      !ArrayBuffer.isView(arr) ||
      arr instanceof DataView ||
      arr instanceof BigInt64Array ||
      arr instanceof BigUint64Array
    ) {
      throw new InvalidArgumentError({
        code: 'invalid_type',
        path: `${fn}.${name}`,
        value: arr,
        allowed: 'a typed array (Float32Array, Uint16Array, ...)',
      });
    }
    arrays[name] = arr as ArrayBufferView & { length: number };
  }
  const key = a.key as T;
  const value = a.value as T;
  const kCache = a.kCache as T;
  const vCache = a.vCache as T;
  if (
    value.constructor !== key.constructor ||
    kCache.constructor !== key.constructor ||
    vCache.constructor !== key.constructor
  ) {
    invalidValue(fn, 'value', value, 'key, value, kCache and vCache of one element type');
  }
  for (const name of ['key', 'value'] as const) {
    if (arrays[name]!.length < numTokens * row) {
      outOfRange(
        fn,
        `${name}.length`,
        arrays[name]!.length,
        `at least numTokens x numHeadsKv x headDim = ${numTokens * row}`,
      );
    }
  }
  if (kCache.length % (pageSize * row) !== 0) {
    invalidValue(
      fn,
      'kCache.length',
      kCache.length,
      `a multiple of pageSize x numHeadsKv x headDim = ${pageSize * row}`,
    );
  }
  if (vCache.length !== kCache.length)
    invalidValue(fn, 'vCache.length', vCache.length, `kCache.length (${kCache.length})`);
  const numSlots = kCache.length / row;
  for (let t = 0; t < numTokens; t++) {
    const slot = slotMapping[t]!;
    if (slot !== -1 && (slot < 0 || slot >= numSlots)) {
      outOfRange(fn, `slotMapping[${t}]`, slot, `a slot in [0, ${numSlots}), or -1 to skip`);
    }
  }
  for (let t = 0; t < numTokens; t++) {
    const slot = slotMapping[t]!;
    if (slot === -1) continue;
    kCache.set(key.subarray(t * row, (t + 1) * row) as never, slot * row);
    vCache.set(value.subarray(t * row, (t + 1) * row) as never, slot * row);
  }
}
