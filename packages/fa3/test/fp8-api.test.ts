// The fp8 e4m3 KV cache in the API, checked without a GPU: createAttention's kvDtype option and
// what it passes the addon, attentionCaps, the argument checks of forward / writeKvCache (cache
// sizes in fp8 bytes, descale buffers), and the addon's own caps and descale checks.
import { describe, expect, it } from 'vitest';
import { checkForwardArgs, checkWriteKvCacheArgs } from '../src/call-args.js';
import {
  type AttentionOptions,
  attentionCaps,
  createAttention,
  KV_CACHE_DTYPES,
  kvCacheDtypeBytes,
} from '../src/index.js';
import { type Caps, loadNative } from '../src/native.js';
import { resolveOptions } from '../src/options.js';
import { expectArgumentError } from './support/expect-error.js';

const base: AttentionOptions = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 64,
  dtype: 'bf16',
  kvDtype: 'fp8_e4m3',
  pageSize: 16,
  numPages: 100,
  maxNumReqs: 8,
  maxNumTokens: 64,
  maxNumPagesPerReq: 10,
  maxNumSplits: 4,
  causal: true,
};
const buf = (byteLength: number, ptr = 0x7f0000000000n, device = 0) => ({ ptr, byteLength, device });
const fp8CacheBytes = 100 * 16 * 2 * 64; // one byte per element

describe('createAttention kvDtype', () => {
  it('defaults to the query dtype and passes fp8_e4m3 to the addon caps', () => {
    const { kvDtype: _, ...noKv } = base;
    expect(resolveOptions(noKv).options.kvDtype).toBe('bf16');
    expect(resolveOptions({ ...noKv, dtype: 'fp16' }).caps.kvDtype).toBe('fp16');
    const { options, caps } = resolveOptions(base);
    expect(options.kvDtype).toBe('fp8_e4m3');
    expect(caps).toMatchObject({ dtype: 'bf16', kvDtype: 'fp8_e4m3' });
    expect(resolveOptions({ ...base, dtype: 'fp16' }).caps).toMatchObject({ dtype: 'fp16', kvDtype: 'fp8_e4m3' });
  });

  it.each([
    ['a cache of the other 16-bit type', { kvDtype: 'fp16' }, /got "fp16", allowed one of "bf16", "fp8_e4m3"/],
    ['fp8 e5m2 (not supported)', { kvDtype: 'fp8_e5m2' }, /one of "bf16", "fp8_e4m3"/],
    ['a number', { kvDtype: 1 }, /one of/],
  ] as const)('rejects %s before any device work', (_name, over, message) => {
    const err = expectArgumentError(
      () => createAttention({ ...base, ...over } as unknown as AttentionOptions),
      (over.kvDtype as unknown) === 1 ? 'invalid_type' : 'invalid_value',
      'createAttention.kvDtype',
      message,
    );
    expect(err.value).toBe(over.kvDtype);
  });

  it('attentionCaps lists what is supported', () => {
    expect(attentionCaps.kvCacheDtypes).toEqual(['bf16', 'fp16', 'fp8_e4m3']);
    expect(attentionCaps.kvCacheDtypes).toEqual(KV_CACHE_DTYPES);
    expect(Object.isFrozen(attentionCaps.kvCacheDtypes)).toBe(true);
    expect(attentionCaps.dtypes).toEqual(['bf16', 'fp16']);
    expect(Object.isFrozen(attentionCaps)).toBe(true);
    expect(KV_CACHE_DTYPES.map(kvCacheDtypeBytes)).toEqual([2, 2, 1]);
  });
});

describe('forward / writeKvCache arguments over an fp8 cache', () => {
  const { options } = resolveOptions(base);
  const { options: bf16 } = resolveOptions({ ...base, kvDtype: 'bf16' });
  const forward = {
    stream: 0n,
    cuSeqlensQ: buf(4 * 5),
    seqLens: buf(4 * 4),
    numReqs: 4,
    maxSeqlenQ: 1,
    maxSeqlenK: 160,
    numSplits: 0,
    q: buf(4 * 8 * 64 * 2),
    out: buf(4 * 8 * 64 * 2),
    kCache: buf(fp8CacheBytes),
    vCache: buf(fp8CacheBytes),
    pageTable: buf(4 * 4 * 10),
  };
  const write = {
    stream: 0n,
    key: buf(3 * 2 * 64 * 2),
    value: buf(3 * 2 * 64 * 2),
    kCache: buf(fp8CacheBytes),
    vCache: buf(fp8CacheBytes),
    slotMapping: buf(12),
    numTokens: 3,
  };

  it('sizes the caches in fp8 bytes and names the kvDtype', () => {
    expect(checkForwardArgs('f', options, forward)).toMatchObject({ kDescale: 0n, vDescale: 0n });
    expectArgumentError(
      () => checkForwardArgs('f', options, { ...forward, vCache: buf(fp8CacheBytes - 1) }),
      'out_of_range',
      'f.vCache.byteLength',
      /at least \[numPages, pageSize, Hkv, D\] = \[100, 16, 2, 64\] fp8_e4m3 = 204800 bytes/,
    );
    // The same buffers are too small for a bf16 cache.
    expectArgumentError(() => checkForwardArgs('f', bf16, forward), 'out_of_range', 'f.kCache.byteLength', /409600/);
  });

  it('takes fp32 [Hkv] descale buffers (or raw pointers) in forward and writeKvCache', () => {
    const f = checkForwardArgs('f', options, { ...forward, kDescale: buf(8, 0x1000n), vDescale: 0x2000n });
    expect(f).toMatchObject({ kDescale: 0x1000n, vDescale: 0x2000n });
    const w = checkWriteKvCacheArgs('w', options, { ...write, kDescale: 0x3000n, vDescale: buf(8, 0x4000n) });
    expect(w).toMatchObject({ kDescale: 0x3000n, vDescale: 0x4000n });
  });

  it('rejects short, misaligned or null descales, and descales for a 16-bit cache', () => {
    expectArgumentError(
      () => checkForwardArgs('f', options, { ...forward, kDescale: buf(4) }),
      'out_of_range',
      'f.kDescale.byteLength',
      /fp32 \[Hkv\] = \[2\] = 8 bytes/,
    );
    expectArgumentError(
      () => checkWriteKvCacheArgs('w', options, { ...write, vDescale: 0x1002n }),
      'invalid_value',
      'w.vDescale',
      /4-byte aligned/,
    );
    expectArgumentError(
      () => checkWriteKvCacheArgs('w', options, { ...write, kDescale: 0n }),
      'out_of_range',
      'w.kDescale',
    );
    const bf16Forward = { ...forward, kCache: buf(2 * fp8CacheBytes), vCache: buf(2 * fp8CacheBytes) };
    expectArgumentError(
      () => checkForwardArgs('f', bf16, { ...bf16Forward, vDescale: buf(8) }),
      'invalid_value',
      'f.vDescale',
      /only a kvDtype 'fp8_e4m3' cache has descale factors/,
    );
  });
});

const native = loadNative().addon;
describe.skipIf(!native)('the addon checks kvDtype and descales too', () => {
  const caps = (over: Partial<Caps>): Caps => ({ ...resolveOptions(base).caps, ...over });
  it('accepts the dtype itself or fp8_e4m3, rejects the other 16-bit type', () => {
    expect(native!.workspaceLayout(caps({})).totalBytes).toBeGreaterThan(0);
    expect(native!.workspaceLayout(caps({ kvDtype: 'bf16' })).totalBytes).toBeGreaterThan(0);
    expect(() => native!.workspaceLayout(caps({ kvDtype: 'fp16' }))).toThrow(/caps\.kvDtype must be caps\.dtype/);
    expect(() => native!.workspaceLayout(caps({ kvDtype: 'fp8' as never }))).toThrow(/'bf16', 'fp16' or 'fp8_e4m3'/);
    // Absent: the dtype (callers that predate the option).
    const { kvDtype: _, ...old } = caps({});
    expect(native!.workspaceLayout(old).totalBytes).toBeGreaterThan(0);
  });
});
