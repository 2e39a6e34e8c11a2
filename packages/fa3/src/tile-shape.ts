// The tile size of each attention kernel: one function shared by the host heuristic, the prepare
// kernel and the forward kernels (a mismatch between them is the classic source of corrupt
// metadata). Mirrors `tile_shape` in native/fa3/kernels/scheduling.h; the parity tests check both.
import type { ForwardKernelName } from './forward-kernel.js';
import { HEAD_DIMS, MAX_NUM_HEADS_Q } from './heads.js';
import { checkArgInt, checkArgOneOf } from './validate.js';

export interface TileShape {
  /** Packed query rows (query token x query head of one KV head) per work tile. */
  readonly blockM: number;
  /** KV tokens per KV block. */
  readonly blockN: number;
}

/**
 * `tileShape(headDim, qheadsPerKvhead, kernel)`; headDim is one of HEAD_DIMS, qheadsPerKvhead >= 1,
 * kernel the one that runs the step (forwardKernel; default 'general').
 */
export function tileShape(headDim: number, qheadsPerKvhead: number, kernel: ForwardKernelName = 'general'): TileShape {
  if (!(HEAD_DIMS as readonly number[]).includes(headDim)) checkArgOneOf('tileShape', 'headDim', headDim, HEAD_DIMS);
  if (!Number.isInteger(qheadsPerKvhead) || qheadsPerKvhead < 1 || qheadsPerKvhead > MAX_NUM_HEADS_Q) {
    checkArgInt('tileShape', 'qheadsPerKvhead', qheadsPerKvhead, 1, MAX_NUM_HEADS_Q);
  }
  if (kernel !== 'general' && kernel !== 'decode' && kernel !== 'wgmma') {
    checkArgOneOf('tileShape', 'kernel', kernel, ['general', 'decode', 'wgmma']);
  }
  // wgmma: 128 rows (two consumer warpgroups of 64) x 128 keys, 64 keys at D = 256. general /
  // decode: 64 packed rows (four warps of 16 rows); KV blocks of 128 keys at D = 64 and of 64 keys
  // at D = 96 to 256 (shared-memory budget of the pipelined K/V stages).
  if (kernel === 'wgmma') return { blockM: 128, blockN: headDim <= 128 ? 128 : 64 };
  return { blockM: 64, blockN: headDim <= 64 ? 128 : 64 };
}
