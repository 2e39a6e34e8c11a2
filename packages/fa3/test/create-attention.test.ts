import { NoCudaDeviceError } from '@flashgraph/cuda';
import { describe, expect, it } from 'vitest';
import { type AttentionOptions, createAttention } from '../src/index.js';
import { loadNative } from '../src/native.js';
import { resolveOptions } from '../src/options.js';
import { expectArgumentError } from './support/expect-error.js';

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
    ['numHeadsQ 0', { numHeadsQ: 0 }, 'out_of_range', 'numHeadsQ', /got 0, allowed integer in \[1, 4096\]/],
    ['numHeadsQ 1.5', { numHeadsQ: 1.5 }, 'out_of_range', 'numHeadsQ', /got 1\.5/],
    [
      'numHeadsQ as string',
      { numHeadsQ: '32' },
      'invalid_type',
      'numHeadsQ',
      /got "32", allowed integer in \[1, 4096\]/,
    ],
    ['numHeadsKv above numHeadsQ', { numHeadsKv: 64 }, 'out_of_range', 'numHeadsKv', /integer in \[1, 32\]/],
    [
      'Hq not a multiple of Hkv',
      { numHeadsKv: 6 },
      'invalid_value',
      'numHeadsQ',
      /got 32, allowed a multiple of numHeadsKv \(6\)/,
    ],
    ['headDim 80', { headDim: 80 }, 'invalid_value', 'headDim', /got 80, allowed one of 64, 96, 128, 192, 256/],
    ['headDim 512', { headDim: 512 }, 'invalid_value', 'headDim', /got 512, allowed one of 64, 96, 128, 192, 256/],
    ['headDim "128"', { headDim: '128' }, 'invalid_type', 'headDim', /one of 64, 96, 128, 192, 256/],
    ['dtype fp8', { dtype: 'fp8' }, 'invalid_value', 'dtype', /got "fp8", allowed one of "bf16", "fp16"/],
    ['pageSize 24', { pageSize: 24 }, 'out_of_range', 'pageSize', /a multiple of 16/],
    ['pageSize 8', { pageSize: 8 }, 'out_of_range', 'pageSize', /integer in \[16, 65536\]/],
    ['numPages 0', { numPages: 0 }, 'out_of_range', 'numPages', /integer in \[1, /],
    [
      'numPages x pageSize beyond int32 slots',
      { numPages: 2 ** 27 + 1 },
      'out_of_range',
      'numPages',
      /integer in \[1, 134217727\]/,
    ],
    ['maxNumReqs NaN', { maxNumReqs: Number.NaN }, 'out_of_range', 'maxNumReqs', /got NaN/],
    ['maxNumTokens -1', { maxNumTokens: -1 }, 'out_of_range', 'maxNumTokens', /got -1/],
    [
      'maxNumTokens x G beyond 2^30 packed rows',
      { maxNumTokens: 2 ** 28 },
      'out_of_range',
      'maxNumTokens',
      /\[1, 268435455\]/,
    ],
    ['maxNumPagesPerReq 0', { maxNumPagesPerReq: 0 }, 'out_of_range', 'maxNumPagesPerReq', /got 0/],
    ['maxNumSplits 0', { maxNumSplits: 0 }, 'out_of_range', 'maxNumSplits', /got 0, allowed integer in \[1, 256\]/],
    [
      'maxNumSplits 257',
      { maxNumSplits: 257 },
      'out_of_range',
      'maxNumSplits',
      /got 257, allowed integer in \[1, 256\]/,
    ],
    ['causal 1', { causal: 1 }, 'invalid_type', 'causal', /allowed boolean/],
    ['window not a pair', { window: [4] }, 'invalid_type', 'window', /\[left, right\]/],
    ['window left -2', { window: [-2, 0] }, 'out_of_range', 'window[0]', /integer in \[-1, /],
    ['window right 5 with causal', { window: [128, 5] }, 'invalid_value', 'window[1]', /-1 or 0 when causal is true/],
    ['softcap -1', { softcap: -1 }, 'out_of_range', 'softcap', /got -1, allowed finite number in \[0, inf\)/],
    ['softcap Infinity', { softcap: Number.POSITIVE_INFINITY }, 'out_of_range', 'softcap', /Infinity/],
    ['device -1', { device: -1 }, 'out_of_range', 'device', /integer in \[0, 1023\]/],
    [
      'partials not addressable',
      { maxNumTokens: 2 ** 26 - 1, numHeadsQ: 4096, numHeadsKv: 1024, maxNumSplits: 256, headDim: 256 },
      'out_of_range',
      'maxNumTokens',
      /bytes of split partials/,
    ],
    ['an unknown option', { maxNumSeqs: 4 }, 'unknown_option', 'maxNumSeqs', /one of the keys numHeadsQ/],
  ] as const)('%s', (_name, over, code, path, message) => {
    const opts = { ...ok, ...over } as unknown as AttentionOptions;
    expectArgumentError(() => createAttention(opts), code, `createAttention.${path}`, message);
  });

  it('rejects a non-object', () => {
    expectArgumentError(
      () => createAttention(undefined as unknown as AttentionOptions),
      'invalid_type',
      'createAttention(args)',
    );
  });

  it('reads own options only: a polluted prototype is an unknown option', () => {
    const inherited = Object.assign(Object.create({ device: 3 }), ok);
    expectArgumentError(() => createAttention(inherited), 'unknown_option', 'createAttention.device');
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
