import { describe, expect, it } from 'vitest';
import { mergeSplitsReference } from '../src/index.js';
import { expectArgumentError } from './support/expect-error.js';

const NEG = Number.NEGATIVE_INFINITY;

describe('mergeSplitsReference', () => {
  it('merges two splits by their LSE weights', () => {
    // One token, one head, D 2. Weights e^0 / (e^0 + e^ln3) = 1/4 and 3/4.
    const r = mergeSplitsReference({
      outs: [new Float32Array([4, 0]), new Float32Array([0, 4])],
      lses: [new Float32Array([0]), new Float32Array([Math.log(3)])],
      numHeadsQ: 1,
      headDim: 2,
    });
    expect(r.out[0]).toBeCloseTo(1, 6);
    expect(r.out[1]).toBeCloseTo(3, 6);
    expect(r.lse[0]).toBeCloseTo(Math.log(4), 6);
  });

  it('an empty split (-Infinity) has zero weight; all empty gives zeros and -Infinity, never NaN', () => {
    const r = mergeSplitsReference({
      outs: [new Float32Array([5, 6, 0, 0]), new Float32Array([NaN, NaN, NaN, NaN])],
      lses: [new Float32Array([2, NEG]), new Float32Array([NEG, NEG])],
      numHeadsQ: 1,
      headDim: 2,
    });
    expect(Array.from(r.out)).toEqual([5, 6, 0, 0]);
    expect(Array.from(r.lse)).toEqual([2, NEG]);
  });

  it('a sink joins the merge once: weights e^0, e^ln3 over e^0 + e^ln3 + e^ln4; all-empty splits give LSE = sink', () => {
    const r = mergeSplitsReference({
      outs: [new Float32Array([8, 0, 5, 5]), new Float32Array([0, 8, 5, 5])],
      lses: [new Float32Array([0, NEG]), new Float32Array([Math.log(3), NEG])],
      numHeadsQ: 1,
      headDim: 2,
      sinks: new Float32Array([Math.log(4)]),
    });
    expect(r.out[0]).toBeCloseTo(1, 6);
    expect(r.out[1]).toBeCloseTo(3, 6);
    expect(r.lse[0]).toBeCloseTo(Math.log(8), 6);
    expect(Array.from(r.out.subarray(2))).toEqual([0, 0]);
    expect(r.lse[1]).toBeCloseTo(Math.log(4), 6);
  });

  it('rejects mismatched inputs', () => {
    expectArgumentError(
      () => mergeSplitsReference({ outs: [], lses: [], numHeadsQ: 1, headDim: 2 }),
      'out_of_range',
      'mergeSplitsReference.outs.length',
    );
    expectArgumentError(
      () =>
        mergeSplitsReference({ outs: [new Float32Array(3)], lses: [new Float32Array(1)], numHeadsQ: 1, headDim: 2 }),
      'invalid_value',
      'mergeSplitsReference.outs[0].length',
    );
    expectArgumentError(
      () => mergeSplitsReference({ outs: [null as never], lses: [new Float32Array(1)], numHeadsQ: 1, headDim: 2 }),
      'invalid_type',
      'mergeSplitsReference.outs[0]',
    );
  });
});
