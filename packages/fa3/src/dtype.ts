// Element sizes of the attention's tensors: the one owner of the dtype byte count.

/** Bytes per element of q, out, the caches, key and value (bf16 and fp16 alike). */
export const DTYPE_BYTES = 2;
