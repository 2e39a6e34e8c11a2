// CPU mirror of the combine step: merges attention partials computed over disjoint key subsets
// (the KV splits) by their log-sum-exp. m = max LSE_s, LSE = m + log sum exp(LSE_s - m),
// O = sum exp(LSE_s - LSE) O_s. All -inf gives zeros and -inf, never NaN.
import { checkArgs, checkInt } from './validate.js';

export function mergeSplitsReference(args: {
  /** One `[totalQ, numHeadsQ, headDim]` output per split. */
  outs: readonly Float32Array[];
  /** One `[numHeadsQ, totalQ]` natural-log LSE per split (-Infinity = the split saw no key). */
  lses: readonly Float32Array[];
  numHeadsQ: number;
  headDim: number;
}): { out: Float32Array; lse: Float32Array } {
  const fn = 'mergeSplitsReference';
  const a = checkArgs(fn, args);
  const numHeadsQ = checkInt(fn, 'numHeadsQ', a.numHeadsQ, 1, 1 << 16);
  const headDim = checkInt(fn, 'headDim', a.headDim, 1, 1 << 16);
  const outs = args.outs;
  const lses = args.lses;
  if (!Array.isArray(outs) || !Array.isArray(lses) || outs.length === 0 || outs.length !== lses.length) {
    throw new TypeError(`${fn}: outs and lses must be non-empty arrays of the same length`);
  }
  const lseLen = lses[0]!.length;
  if (lseLen % numHeadsQ !== 0) throw new RangeError(`${fn}: lses[0] length ${lseLen} is not a multiple of numHeadsQ`);
  const totalQ = lseLen / numHeadsQ;
  for (let s = 0; s < outs.length; s++) {
    if (!(outs[s] instanceof Float32Array) || outs[s]!.length !== totalQ * numHeadsQ * headDim) {
      throw new RangeError(`${fn}: outs[${s}] must be a Float32Array of ${totalQ * numHeadsQ * headDim} elements`);
    }
    if (!(lses[s] instanceof Float32Array) || lses[s]!.length !== lseLen) {
      throw new RangeError(`${fn}: lses[${s}] must be a Float32Array of ${lseLen} elements`);
    }
  }
  const out = new Float32Array(totalQ * numHeadsQ * headDim);
  const lse = new Float32Array(lseLen);
  for (let h = 0; h < numHeadsQ; h++) {
    for (let t = 0; t < totalQ; t++) {
      let m = Number.NEGATIVE_INFINITY;
      for (const l of lses) m = Math.max(m, l[h * totalQ + t]!);
      if (m === Number.NEGATIVE_INFINITY) {
        lse[h * totalQ + t] = m;
        continue;
      }
      let sum = 0;
      for (const l of lses) sum += Math.exp(l[h * totalQ + t]! - m);
      const total = m + Math.log(sum);
      lse[h * totalQ + t] = total;
      const row = (t * numHeadsQ + h) * headDim;
      for (let s = 0; s < outs.length; s++) {
        const w = Math.exp(lses[s]![h * totalQ + t]! - total);
        if (w === 0) continue;
        const o = outs[s]!;
        for (let d = 0; d < headDim; d++) out[row + d]! += w * o[row + d]!;
      }
    }
  }
  return { out, lse };
}
