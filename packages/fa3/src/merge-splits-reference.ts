// CPU mirror of the combine step: merges attention partials computed over disjoint key subsets
// (the KV splits) by their log-sum-exp. m = max LSE_s, LSE = m + log sum exp(LSE_s - m),
// O = sum exp(LSE_s - LSE) O_s. All -inf gives zeros and -inf, never NaN. With attention sinks the
// sink joins the sum once, here (split partials exclude it, as fa3's fused merge does):
// LSE = log(exp(sink) + sum exp(LSE_s)), so the weights sum to less than 1.
import { InvalidArgumentError } from '@flashgraph/errors';
import { checkArgInt, checkArgs, checkFloat32Array, checkSinks, invalidValue } from './validate.js';

/** Splits the merge accepts (fa3's split capacity is at most 256; the reference allows more). */
const MAX_SPLITS = 4096;

export function mergeSplitsReference(args: {
  /** One `[totalQ, numHeadsQ, headDim]` output per split. */
  outs: readonly Float32Array[];
  /** One `[numHeadsQ, totalQ]` natural-log LSE per split (-Infinity = the split saw no key). */
  lses: readonly Float32Array[];
  numHeadsQ: number;
  headDim: number;
  /** `[numHeadsQ]` sink logits (referenceAttention's `sinks`), applied once; absent = none. */
  sinks?: Float32Array;
}): { out: Float32Array; lse: Float32Array } {
  const fn = 'mergeSplitsReference';
  const a = checkArgs(fn, args, ['outs', 'lses', 'numHeadsQ', 'headDim', 'sinks']);
  const numHeadsQ = checkArgInt(fn, 'numHeadsQ', a.numHeadsQ, 1, 1 << 16);
  const sinks = a.sinks === undefined ? undefined : checkSinks(fn, a.sinks, numHeadsQ);
  const headDim = checkArgInt(fn, 'headDim', a.headDim, 1, 1 << 16);
  const outs = a.outs;
  const lses = a.lses;
  for (const [name, list] of [
    ['outs', outs],
    ['lses', lses],
  ] as const) {
    if (!Array.isArray(list)) {
      throw new InvalidArgumentError({
        code: 'invalid_type',
        path: `${fn}.${name}`,
        value: list,
        allowed: 'an array of Float32Array (one per split)',
      });
    }
    if (list.length < 1 || list.length > MAX_SPLITS) {
      throw new InvalidArgumentError({
        code: 'out_of_range',
        path: `${fn}.${name}.length`,
        value: list.length,
        allowed: `[1, ${MAX_SPLITS}]`,
      });
    }
  }
  const outList = outs as unknown[];
  const lseList = lses as unknown[];
  if (outList.length !== lseList.length) {
    invalidValue(fn, 'lses.length', lseList.length, `outs.length (${outList.length}): one LSE per split output`);
  }
  const first = checkFloat32Array(fn, 'lses[0]', lseList[0], 0, 'numHeadsQ x totalQ');
  const lseLen = first.length;
  if (lseLen % numHeadsQ !== 0) invalidValue(fn, 'lses[0].length', lseLen, `a multiple of numHeadsQ (${numHeadsQ})`);
  const totalQ = lseLen / numHeadsQ;
  const outLen = totalQ * numHeadsQ * headDim;
  for (let s = 0; s < outList.length; s++) {
    const o = checkFloat32Array(fn, `outs[${s}]`, outList[s], outLen, `totalQ x numHeadsQ x headDim = ${outLen}`);
    if (o.length !== outLen)
      invalidValue(fn, `outs[${s}].length`, o.length, `${outLen} (totalQ x numHeadsQ x headDim)`);
    const l = checkFloat32Array(fn, `lses[${s}]`, lseList[s], lseLen, `the length of lses[0] = ${lseLen}`);
    if (l.length !== lseLen) invalidValue(fn, `lses[${s}].length`, l.length, `${lseLen} (the length of lses[0])`);
  }
  const splitOuts = outList as Float32Array[];
  const splitLses = lseList as Float32Array[];
  const out = new Float32Array(totalQ * numHeadsQ * headDim);
  const lse = new Float32Array(lseLen);
  for (let h = 0; h < numHeadsQ; h++) {
    const sink = sinks === undefined ? Number.NEGATIVE_INFINITY : sinks[h]!;
    for (let t = 0; t < totalQ; t++) {
      let m = sink;
      for (const l of splitLses) m = Math.max(m, l[h * totalQ + t]!);
      if (m === Number.NEGATIVE_INFINITY) {
        lse[h * totalQ + t] = m;
        continue;
      }
      let sum = sink === Number.NEGATIVE_INFINITY ? 0 : Math.exp(sink - m);
      for (const l of splitLses) sum += Math.exp(l[h * totalQ + t]! - m);
      const total = m + Math.log(sum);
      lse[h * totalQ + t] = total;
      const row = (t * numHeadsQ + h) * headDim;
      for (let s = 0; s < splitOuts.length; s++) {
        const w = Math.exp(splitLses[s]![h * totalQ + t]! - total);
        if (w === 0) continue;
        const o = splitOuts[s]!;
        for (let d = 0; d < headDim; d++) out[row + d]! += w * o[row + d]!;
      }
    }
  }
  return { out, lse };
}
