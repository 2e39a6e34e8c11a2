// CPU mirror of the KV-cache write: token t's `[numHeadsKv, headDim]` key and value rows go to
// cache slot slotMapping[t] (= page * pageSize + offset in page); slot -1 is padding, skipped. With
// kvDtype 'fp8_e4m3' each element is quantized as the KV write kernel does (encodeE4m3: x / descale
// of its KV head, round-to-nearest-even, saturated to +-448).
import { InvalidArgumentError } from '@flashgraph/errors';
import { encodeE4m3 } from './fp8.js';
import {
  checkArgInt,
  checkArgOneOf,
  checkArgs,
  checkFloat32Array,
  checkInt32Array,
  INT32_MAX,
  invalidValue,
  outOfRange,
} from './validate.js';

type Elements = Float32Array | Uint16Array | Int16Array | Float64Array | Uint8Array;

interface KvWriteGeometry {
  /** `[numTokens]`: destination slot of each token, -1 = skip. */
  slotMapping: Int32Array;
  numHeadsKv: number;
  headDim: number;
  pageSize: number;
  /** Default slotMapping.length. */
  numTokens?: number;
}

/** Copies elements as they are: key, value and both caches of one element type. */
export interface WriteKvCacheReferenceArgs<T extends Elements> extends KvWriteGeometry {
  /** `[numTokens, numHeadsKv, headDim]`. */
  key: T;
  value: T;
  /** `[numPages, pageSize, numHeadsKv, headDim]`, modified in place. */
  kCache: T;
  vCache: T;
  kvDtype?: undefined;
}

/** Quantizes fp32 key / value values into caches of e4m3 codes (the fp8 KV write kernel's rounding). */
export interface WriteKvCacheReferenceFp8Args extends KvWriteGeometry {
  key: Float32Array;
  value: Float32Array;
  kCache: Uint8Array;
  vCache: Uint8Array;
  kvDtype: 'fp8_e4m3';
  /** `[numHeadsKv]` descale factors (finite, > 0); element x of KV head h is stored as e4m3(x / kDescale[h]). Default all 1. */
  kDescale?: Float32Array;
  vDescale?: Float32Array;
}

/**
 * Writes in place into kCache/vCache: any element type (fp32 values or bf16/fp16 bit patterns),
 * or with kvDtype 'fp8_e4m3' Float32Array key/value quantized into Uint8Array caches of e4m3 codes.
 * Every argument and every slot is checked before the first write: a rejected call changes nothing.
 */
export function writeKvCacheReference<T extends Elements>(
  args: WriteKvCacheReferenceArgs<T> | WriteKvCacheReferenceFp8Args,
): void {
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
    'kvDtype',
    'kDescale',
    'vDescale',
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
  const key = a.key as Elements;
  const value = a.value as Elements;
  const kCache = a.kCache as Elements;
  const vCache = a.vCache as Elements;
  const fp8 = a.kvDtype !== undefined && checkArgOneOf(fn, 'kvDtype', a.kvDtype, ['fp8_e4m3'] as const) === 'fp8_e4m3';
  if (fp8) {
    if (!(key instanceof Float32Array)) invalidValue(fn, 'key', key, "a Float32Array (kvDtype 'fp8_e4m3')");
    if (!(kCache instanceof Uint8Array))
      invalidValue(fn, 'kCache', kCache, "a Uint8Array of e4m3 codes (kvDtype 'fp8_e4m3')");
    if (value.constructor !== key.constructor) invalidValue(fn, 'value', value, 'a Float32Array, as key');
    if (vCache.constructor !== kCache.constructor) invalidValue(fn, 'vCache', vCache, 'a Uint8Array, as kCache');
  } else if (
    value.constructor !== key.constructor ||
    kCache.constructor !== key.constructor ||
    vCache.constructor !== key.constructor
  ) {
    invalidValue(fn, 'value', value, 'key, value, kCache and vCache of one element type');
  }
  const kDescale = descales(fn, 'kDescale', a.kDescale, fp8, numHeadsKv);
  const vDescale = descales(fn, 'vDescale', a.vDescale, fp8, numHeadsKv);
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
  if (fp8) {
    for (let t = 0; t < numTokens; t++) {
      const slot = slotMapping[t]!;
      if (slot === -1) continue;
      for (let i = 0; i < row; i++) {
        const h = Math.floor(i / headDim);
        kCache[slot * row + i] = encodeE4m3(key[t * row + i]!, kDescale[h]);
        vCache[slot * row + i] = encodeE4m3(value[t * row + i]!, vDescale[h]);
      }
    }
    return;
  }
  for (let t = 0; t < numTokens; t++) {
    const slot = slotMapping[t]!;
    if (slot === -1) continue;
    kCache.set(key.subarray(t * row, (t + 1) * row) as never, slot * row);
    vCache.set(value.subarray(t * row, (t + 1) * row) as never, slot * row);
  }
}

/**
 * The `[numHeadsKv]` descale factors of an fp8 cache (finite, > 0; default all 1); only an fp8
 * cache takes them.
 */
export function descales(fn: string, name: string, value: unknown, fp8: boolean, numHeadsKv: number): Float32Array {
  if (value === undefined) return new Float32Array(numHeadsKv).fill(1);
  if (!fp8) invalidValue(fn, name, value, "absent: only a kvDtype 'fp8_e4m3' cache has descale factors");
  const d = checkFloat32Array(fn, name, value, numHeadsKv, `numHeadsKv = ${numHeadsKv}`);
  for (let h = 0; h < numHeadsKv; h++) {
    if (!(d[h]! > 0) || !Number.isFinite(d[h]!)) outOfRange(fn, `${name}[${h}]`, d[h], 'a finite number > 0');
  }
  return d;
}
