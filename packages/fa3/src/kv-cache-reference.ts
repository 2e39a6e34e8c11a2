// CPU mirror of the KV-cache write: token t's `[numHeadsKv, headDim]` key and value rows go to
// cache slot slotMapping[t] (= page * pageSize + offset in page); slot -1 is padding, skipped.
import { checkArgs, checkInt, checkInt32Array, INT32_MAX } from './validate.js';

type Elements = Float32Array | Uint16Array | Int16Array | Float64Array | Uint8Array;

/** Writes in place into kCache/vCache (any element type: fp32 values or bf16/fp16 bit patterns). */
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
  const a = checkArgs(fn, args);
  const numHeadsKv = checkInt(fn, 'numHeadsKv', a.numHeadsKv, 1, 1 << 16);
  const headDim = checkInt(fn, 'headDim', a.headDim, 1, 1 << 16);
  const pageSize = checkInt(fn, 'pageSize', a.pageSize, 1, INT32_MAX);
  const slotMapping = checkInt32Array(fn, 'slotMapping', a.slotMapping, 0);
  const numTokens =
    a.numTokens === undefined ? slotMapping.length : checkInt(fn, 'numTokens', a.numTokens, 0, slotMapping.length);
  const row = numHeadsKv * headDim;
  const { key, value, kCache, vCache } = args;
  for (const [name, arr] of [
    ['key', key],
    ['value', value],
    ['kCache', kCache],
    ['vCache', vCache],
  ] as const) {
    if (!ArrayBuffer.isView(arr)) throw new TypeError(`${fn}: ${name} must be a typed array`);
  }
  if (key.length < numTokens * row || value.length < numTokens * row) {
    throw new RangeError(
      `${fn}: key and value must hold numTokens x numHeadsKv x headDim = ${numTokens * row} elements`,
    );
  }
  if (kCache.length !== vCache.length || kCache.length % (pageSize * row) !== 0) {
    throw new RangeError(`${fn}: kCache and vCache must both hold numPages x pageSize x numHeadsKv x headDim elements`);
  }
  const numSlots = kCache.length / row;
  for (let t = 0; t < numTokens; t++) {
    const slot = slotMapping[t]!;
    if (slot === -1) continue;
    if (slot < 0 || slot >= numSlots) {
      throw new RangeError(`${fn}: slotMapping[${t}] = ${slot} is outside [0, ${numSlots}) (or -1 to skip)`);
    }
    kCache.set(key.subarray(t * row, (t + 1) * row) as never, slot * row);
    vCache.set(value.subarray(t * row, (t + 1) * row) as never, slot * row);
  }
}
