// Element sizes of the attention's tensors: the one owner of the dtype byte counts.
import { checkArgOneOf } from './validate.js';

/** Bytes per element of q, out, key and value (bf16 and fp16 alike), and of a bf16 / fp16 KV cache. */
export const DTYPE_BYTES = 2;

/** The query / output dtypes the kernels are instantiated for. */
export const ATTENTION_DTYPES = ['bf16', 'fp16'] as const;
export type AttentionDtype = (typeof ATTENTION_DTYPES)[number];

/** The KV cache element types: the query dtype, or fp8 e4m3 (one byte, with per-head descales). */
export const KV_CACHE_DTYPES = ['bf16', 'fp16', 'fp8_e4m3'] as const;
export type KvCacheDtype = (typeof KV_CACHE_DTYPES)[number];

/** Bytes per element of a KV cache of `kvDtype`. */
export function kvCacheDtypeBytes(kvDtype: KvCacheDtype): number {
  if (kvDtype === 'fp8_e4m3') return 1;
  if (kvDtype !== 'bf16' && kvDtype !== 'fp16') checkArgOneOf('kvCacheDtypeBytes', 'kvDtype', kvDtype, KV_CACHE_DTYPES);
  return DTYPE_BYTES;
}
