// Which kernel `forward` launches for a step, and so whose tiles `schedule` numbers. Mirrors
// `choose_forward_kernel` in native/fa3/kernels/scheduling.h (with the FLASHGRAPH_FA3_KERNEL
// request the addon reads); the parity tests check both.
import { InvalidArgumentError } from '@flashgraph/errors';
import { HEAD_DIMS, MAX_NUM_HEADS_Q } from './heads.js';
import { checkArgInt, checkArgOneOf, INT32_MAX } from './validate.js';

/** Packed query rows (query tokens x query heads per KV head) of one MMA slice: the decode kernel's limit. */
export const DECODE_MAX_ROWS = 16;

/** The forward kernels: `general` (mma.sync, 64-row tiles), `decode` (<= 16 rows), `wgmma` (FA3-style prefill, 128-row tiles). */
export type ForwardKernelName = 'general' | 'decode' | 'wgmma';
/** What a caller asks for: `auto` picks by the step's shape. */
export type KernelRequest = 'auto' | ForwardKernelName;

/** Head dims the wgmma kernel is built for (native/fa3/kernels/forward_kernel_list.h); others fall back to `general`. */
export const WGMMA_HEAD_DIMS: readonly number[] = [64, 128, 256];
/** `auto` picks the wgmma kernel for prefill steps at the head dims it has (scheduling.h `kWgmmaByDefault`). */
export const WGMMA_BY_DEFAULT = true;

const REQUESTS = ['auto', 'general', 'decode', 'wgmma'] as const;
let envRequest: KernelRequest | undefined;

/**
 * The request in this process's environment, read once (as the addon reads it):
 * `FLASHGRAPH_FA3_KERNEL=general|wgmma|decode`, else `general` when `FLASHGRAPH_FA3_DECODE=0`
 * (the older switch), else `auto`. Any other value is an InvalidArgumentError naming it.
 */
export function kernelRequestFromEnv(): KernelRequest {
  if (envRequest === undefined) {
    const v = process.env.FLASHGRAPH_FA3_KERNEL;
    if (v === undefined || v === '') envRequest = process.env.FLASHGRAPH_FA3_DECODE === '0' ? 'general' : 'auto';
    else if (v === 'general' || v === 'decode' || v === 'wgmma') envRequest = v;
    else {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: 'FLASHGRAPH_FA3_KERNEL',
        value: v,
        allowed: "one of 'general', 'wgmma', 'decode' (or unset)",
      });
    }
  }
  return envRequest;
}

/**
 * The kernel a step runs: with `request` 'auto', `'decode'` when `maxSeqlenQ x qheadsPerKvhead <=
 * 16` (every request's packed query rows fit one 16-row slice: a decode step), else `'general'`
 * (`'wgmma'` once WGMMA_BY_DEFAULT); a request forces a kernel, and `'wgmma'` falls back to
 * `'general'` at a head dim it lacks. Every kernel is exact for any device data, so this only
 * picks the faster one; an understated `maxSeqlenQ` costs time, never correctness. In a CUDA graph
 * the choice is frozen at capture. `request` defaults to the environment's (kernelRequestFromEnv).
 */
export function forwardKernel(
  maxSeqlenQ: number,
  qheadsPerKvhead: number,
  headDim = 128,
  request: KernelRequest = kernelRequestFromEnv(),
): ForwardKernelName {
  checkArgInt('forwardKernel', 'maxSeqlenQ', maxSeqlenQ, 0, INT32_MAX);
  checkArgInt('forwardKernel', 'qheadsPerKvhead', qheadsPerKvhead, 1, MAX_NUM_HEADS_Q);
  checkArgOneOf('forwardKernel', 'headDim', headDim, HEAD_DIMS);
  checkArgOneOf('forwardKernel', 'request', request, REQUESTS);
  const wgmma = WGMMA_HEAD_DIMS.includes(headDim);
  if (request === 'general' || request === 'decode') return request;
  if (request === 'wgmma') return wgmma ? 'wgmma' : 'general';
  if (maxSeqlenQ * qheadsPerKvhead <= DECODE_MAX_ROWS) return 'decode';
  return WGMMA_BY_DEFAULT && wgmma ? 'wgmma' : 'general';
}
