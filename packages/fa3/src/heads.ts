// The head rules of fa3, in one place: createAttention, planSplits and the addon's validate_caps
// (native/fa3/kernels/api.cu) accept the same head counts and head dims.
import { checkArgInt, checkArgOneOf, invalidValue } from './validate.js';

/**
 * Head dims the kernels are instantiated for (the general and decode kernels' entries of
 * native/fa3/kernels/forward_kernel_list.h; the wgmma kernel has WGMMA_HEAD_DIMS and falls back to
 * the general kernel at the others).
 */
export const HEAD_DIMS = [64, 96, 128, 192, 256] as const;
export type HeadDim = (typeof HEAD_DIMS)[number];

/** Query heads at most (`caps.numHeadsQ` in the addon). */
export const MAX_NUM_HEADS_Q = 4096;
/** KV heads at most (`caps.numHeadsKv` in the addon). */
export const MAX_NUM_HEADS_KV = 1024;

export interface Heads {
  readonly numHeadsQ: number;
  readonly numHeadsKv: number;
  readonly headDim: HeadDim;
  /** numHeadsQ / numHeadsKv (G, the GQA group size). */
  readonly qheadsPerKvhead: number;
}

/** numHeadsQ in [1, 4096], numHeadsKv in [1, min(numHeadsQ, 1024)] dividing it, headDim one of HEAD_DIMS. */
export function checkHeads(fn: string, a: Readonly<Record<string, unknown>>): Heads {
  const numHeadsQ = checkArgInt(fn, 'numHeadsQ', a.numHeadsQ, 1, MAX_NUM_HEADS_Q);
  const numHeadsKv = checkArgInt(fn, 'numHeadsKv', a.numHeadsKv, 1, Math.min(numHeadsQ, MAX_NUM_HEADS_KV));
  if (numHeadsQ % numHeadsKv !== 0) {
    invalidValue(fn, 'numHeadsQ', numHeadsQ, `a multiple of numHeadsKv (${numHeadsKv})`);
  }
  const headDim = checkArgOneOf(fn, 'headDim', a.headDim, HEAD_DIMS);
  return { numHeadsQ, numHeadsKv, headDim, qheadsPerKvhead: numHeadsQ / numHeadsKv };
}
