// The tile size of the attention kernel: one function shared by the host heuristic, the prepare
// kernel and the forward kernel (a mismatch between them is the classic source of corrupt
// metadata). Mirrors `tileShape` in native/fa3/kernels/scheduling.h; the parity tests check both.
import { checkInt, checkOneOf } from './validate.js';

export interface TileShape {
  /** Packed query rows (query token x query head of one KV head) per work tile. */
  readonly blockM: number;
  /** KV tokens per KV block. */
  readonly blockN: number;
}

/** `tileShape(headDim, qheadsPerKvhead)`; headDim is 64, 128 or 256, qheadsPerKvhead >= 1. */
export function tileShape(headDim: number, qheadsPerKvhead: number): TileShape {
  if (headDim !== 64 && headDim !== 128 && headDim !== 256) {
    checkOneOf('tileShape', 'headDim', headDim, [64, 128, 256]);
  }
  if (!Number.isInteger(qheadsPerKvhead) || qheadsPerKvhead < 1) {
    checkInt('tileShape', 'qheadsPerKvhead', qheadsPerKvhead, 1, 4096);
  }
  // 64 packed rows per tile (four warps of 16 rows); KV blocks of 128 keys at D = 64 and of 64
  // keys at D = 128 and 256 (shared-memory budget of the pipelined K/V stages).
  return { blockM: 64, blockN: headDim <= 64 ? 128 : 64 };
}
