// Which kernel `forward` launches for a step. Mirrors `decode_kernel_fits` in
// native/fa3/kernels/scheduling.h; the parity tests check both.
import { checkInt, INT32_MAX } from './validate.js';

/** Packed query rows (query tokens x query heads per KV head) of one MMA slice: the decode kernel's limit. */
export const DECODE_MAX_ROWS = 16;

/**
 * `'decode'` when `maxSeqlenQ x qheadsPerKvhead <= 16` (every request's packed query rows fit one
 * 16-row slice: a decode step), else `'general'`. Both kernels are exact for any device data, so
 * this only picks the faster one; an understated `maxSeqlenQ` costs time, never correctness. In a
 * CUDA graph the choice is frozen at capture. `FLASHGRAPH_FA3_DECODE=0` makes `forward` launch the
 * general kernel whatever this says.
 */
export function forwardKernel(maxSeqlenQ: number, qheadsPerKvhead: number): 'decode' | 'general' {
  checkInt('forwardKernel', 'maxSeqlenQ', maxSeqlenQ, 0, INT32_MAX);
  checkInt('forwardKernel', 'qheadsPerKvhead', qheadsPerKvhead, 1, 4096);
  return maxSeqlenQ * qheadsPerKvhead <= DECODE_MAX_ROWS ? 'decode' : 'general';
}
