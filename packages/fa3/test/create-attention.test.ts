import { NoCudaDeviceError } from '@flashgraph/cuda';
import { describe, expect, it } from 'vitest';
import { type AttentionOptions, createAttention } from '../src/index.js';
import { loadNative } from '../src/native.js';
import { resolveOptions } from '../src/options.js';

const ok: AttentionOptions = {
  numHeadsQ: 32,
  numHeadsKv: 8,
  headDim: 128,
  dtype: 'bf16',
  pageSize: 16,
  numPages: 4096,
  maxNumReqs: 256,
  maxNumTokens: 2048,
  maxNumPagesPerReq: 2048,
  maxNumSplits: 32,
  causal: true,
};

describe('createAttention option checks (before any device work)', () => {
  it.each([
    ['numHeadsQ 0', { numHeadsQ: 0 }, RangeError, /numHeadsQ must be an integer in \[1, 1024\], got 0/],
    ['numHeadsQ 1.5', { numHeadsQ: 1.5 }, TypeError, /numHeadsQ must be an integer/],
    ['numHeadsQ as string', { numHeadsQ: '32' }, TypeError, /numHeadsQ must be an integer in \[1, 1024\], got "32"/],
    ['numHeadsKv above numHeadsQ', { numHeadsKv: 64 }, RangeError, /numHeadsKv must be an integer in \[1, 32\]/],
    [
      'Hq not a multiple of Hkv',
      { numHeadsKv: 6 },
      RangeError,
      /numHeadsQ \(32\) must be a multiple of numHeadsKv \(6\)/,
    ],
    ['headDim 96', { headDim: 96 }, RangeError, /headDim must be one of 64, 128, 256, got 96/],
    ['headDim "128"', { headDim: '128' }, TypeError, /headDim must be one of 64, 128, 256/],
    ['dtype fp8', { dtype: 'fp8' }, RangeError, /dtype must be one of "bf16", "fp16", got "fp8"/],
    ['pageSize 24', { pageSize: 24 }, RangeError, /pageSize must be a positive multiple of 16/],
    ['pageSize 8', { pageSize: 8 }, RangeError, /pageSize must be an integer in \[16, 65536\]/],
    ['numPages 0', { numPages: 0 }, RangeError, /numPages must be an integer in \[1, /],
    [
      'numPages x pageSize beyond int32 slots',
      { numPages: 2 ** 27 + 1 },
      RangeError,
      /numPages must be an integer in \[1, 134217727\]/,
    ],
    ['maxNumReqs NaN', { maxNumReqs: Number.NaN }, TypeError, /maxNumReqs must be an integer/],
    ['maxNumTokens -1', { maxNumTokens: -1 }, RangeError, /maxNumTokens must be an integer in \[1, 2147483647\]/],
    ['maxNumPagesPerReq 0', { maxNumPagesPerReq: 0 }, RangeError, /maxNumPagesPerReq/],
    ['maxNumSplits 0', { maxNumSplits: 0 }, RangeError, /maxNumSplits must be an integer in \[1, 256\], got 0/],
    ['maxNumSplits 257', { maxNumSplits: 257 }, RangeError, /maxNumSplits must be an integer in \[1, 256\], got 257/],
    ['causal 1', { causal: 1 }, TypeError, /causal must be a boolean/],
    ['window not a pair', { window: [4] }, TypeError, /window must be \[left, right\]/],
    ['window left -2', { window: [-2, 0] }, RangeError, /window\[0\] \(left\) must be an integer in \[-1, /],
    [
      'window right 5 with causal',
      { window: [128, 5] },
      RangeError,
      /window\[1\] \(right\) must be -1 or 0 when causal is true/,
    ],
    ['softcap -1', { softcap: -1 }, RangeError, /softcap must be a finite number >= 0, got -1/],
    ['softcap Infinity', { softcap: Number.POSITIVE_INFINITY }, RangeError, /softcap/],
    ['device -1', { device: -1 }, RangeError, /device must be an integer/],
    [
      'partials not addressable',
      { maxNumTokens: 2 ** 31 - 1, numHeadsQ: 1024, numHeadsKv: 8, maxNumSplits: 256, headDim: 256 },
      RangeError,
      /split partials would need/,
    ],
  ] as const)('%s', (_name, over, Err, message) => {
    const opts = { ...ok, ...over } as unknown as AttentionOptions;
    expect(() => createAttention(opts)).toThrow(Err);
    expect(() => createAttention(opts)).toThrow(message);
  });

  it('rejects a non-object', () => {
    expect(() => createAttention(undefined as unknown as AttentionOptions)).toThrow(
      /createAttention: expected an options object/,
    );
  });

  it('resolves defaults and freezes the options', () => {
    const { options, caps } = resolveOptions({ ...ok, causal: false, window: [64, 8], softcap: 30 });
    expect(options).toMatchObject({ window: [64, 8], softcap: 30, device: 0 });
    expect(Object.isFrozen(options)).toBe(true);
    expect(caps).toMatchObject({ windowLeft: 64, windowRight: 8, softcap: 30, maxNumSplits: 32, dtype: 'bf16' });
    expect(resolveOptions(ok).caps).toMatchObject({ windowLeft: -1, windowRight: -1, softcap: 0 });
  });

  it('without the addon or a device, valid options fail with a clear error (never at import)', () => {
    const native = loadNative();
    if (native.addon?.status().available) return; // a GPU machine: covered by the GPU suite
    const expected = native.addon
      ? /no CUDA device available: createAttention: /
      : /flashgraph_fa3\.node is not available/;
    expect(() => createAttention(ok)).toThrow(NoCudaDeviceError);
    expect(() => createAttention(ok)).toThrow(expected);
  });
});
