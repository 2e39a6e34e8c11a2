// Issue 17: random hostile values at every public host function of fa3 and at the argument
// checks of every Attention method (the part that runs before the device). Each call returns a
// valid result or throws a FlashgraphError naming the argument; rejected reference writes leave
// their output arrays unchanged.

import { hostile, hostileArrayLike, hostileRecord, typedOrValid } from '@flashgraph/tooling/hostile';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkForwardArgs, checkScheduleArgs, checkWriteKvCacheArgs } from '../src/call-args.js';
import { resolveOptions } from '../src/options.js';
import {
  decodeE4m3,
  encodeE4m3,
  forwardKernel,
  kvCacheDtypeBytes,
  mergeSplitsReference,
  planSplits,
  referenceAttention,
  tileShape,
  writeKvCacheReference,
} from '../src/reference.js';

const runs = { numRuns: 500 };
const options = {
  numHeadsQ: 4,
  numHeadsKv: 2,
  headDim: 64,
  dtype: 'bf16',
  pageSize: 16,
  numPages: 8,
  maxNumReqs: 4,
  maxNumTokens: 16,
  maxNumPagesPerReq: 4,
  maxNumSplits: 8,
  causal: true,
};
const plan = {
  cuSeqlensQ: Int32Array.of(0, 1, 3),
  seqLens: Int32Array.of(40, 3),
  numReqs: 2,
  numHeadsQ: 4,
  numHeadsKv: 2,
  headDim: 64,
  maxNumSplits: 8,
  numSplits: 0,
  maxSeqlenQ: 2,
  maxSeqlenK: 40,
  smCount: 132,
};
const reference = {
  q: new Float32Array(3 * 2 * 4),
  kCache: new Float32Array(4 * 16 * 1 * 4),
  vCache: new Float32Array(4 * 16 * 1 * 4),
  pageTable: Int32Array.of(0, 1, 2, 3),
  cuSeqlensQ: Int32Array.of(0, 1, 3),
  seqLens: Int32Array.of(20, 3),
  numHeadsQ: 2,
  numHeadsKv: 1,
  headDim: 4,
  pageSize: 16,
  causal: true,
  sinks: Float32Array.of(0.5, Number.NEGATIVE_INFINITY),
};
const hostileTyped = fc.oneof(hostile, hostileArrayLike, fc.constantFrom(new Float32Array(1), new Int32Array(3)));

describe('hostile input: fa3 host functions', () => {
  it('createAttention options (resolveOptions: everything createAttention checks before the addon)', () => {
    fc.assert(
      fc.property(hostileRecord(options), hostileRecord({ ...options, kvDtype: 'fp8_e4m3' }), (o, o8) => {
        typedOrValid(() => resolveOptions(o));
        typedOrValid(() => resolveOptions(o8));
      }),
      runs,
    );
  });

  it('planSplits, tileShape, forwardKernel', () => {
    fc.assert(
      fc.property(hostileRecord({ ...plan }), hostile, hostile, (a, x, y) => {
        typedOrValid(() => planSplits(a as never));
        typedOrValid(() => tileShape(x as never, y as never));
        typedOrValid(() => forwardKernel(x as never, y as never));
      }),
      runs,
    );
  });

  it('referenceAttention (with and without caller-owned outputs)', () => {
    fc.assert(
      fc.property(hostileRecord(reference), fc.option(hostileTyped, { nil: undefined }), (a, out) => {
        const given = out instanceof Float32Array ? out.slice() : undefined;
        const ok = typedOrValid(() =>
          referenceAttention({ ...(a as object), ...(out === undefined ? {} : { out }) } as never),
        );
        if (!ok && given) expect(out).toEqual(given);
      }),
      runs,
    );
  });

  it('referenceAttention and writeKvCacheReference over an fp8 cache', () => {
    const fp8 = {
      ...reference,
      kCache: new Uint8Array(reference.kCache.length),
      vCache: new Uint8Array(reference.vCache.length),
      kvDtype: 'fp8_e4m3',
      kDescale: Float32Array.of(1),
      vDescale: Float32Array.of(0.5),
    };
    fc.assert(
      fc.property(
        hostileRecord(fp8),
        hostileRecord({ numHeadsKv: 1, headDim: 2, pageSize: 2, kvDtype: 'fp8_e4m3', kDescale: Float32Array.of(2) }),
        (a, w) => {
          typedOrValid(() => referenceAttention(a as never));
          const kCache = new Uint8Array(8);
          const vCache = new Uint8Array(8);
          const key = Float32Array.of(1, 2, 3, 4);
          const ok = typedOrValid(() =>
            writeKvCacheReference({
              key,
              value: key,
              kCache,
              vCache,
              slotMapping: Int32Array.of(0, 3),
              ...(w as object),
            } as never),
          );
          if (!ok) expect([kCache, vCache]).toEqual([new Uint8Array(8), new Uint8Array(8)]);
        },
      ),
      runs,
    );
  });

  it('mergeSplitsReference', () => {
    fc.assert(
      fc.property(
        fc.oneof(hostile, fc.array(fc.oneof(hostileTyped, fc.constant(new Float32Array(8))), { maxLength: 3 })),
        fc.oneof(hostile, fc.array(fc.oneof(hostileTyped, fc.constant(new Float32Array(2))), { maxLength: 3 })),
        hostile,
        (outs, lses, h) => {
          typedOrValid(() => mergeSplitsReference({ outs, lses, numHeadsQ: h, headDim: 4 } as never));
          typedOrValid(() => mergeSplitsReference({ outs, lses, numHeadsQ: 2, headDim: 2 } as never));
          typedOrValid(() => mergeSplitsReference({ outs, lses, numHeadsQ: 2, headDim: 2, sinks: h } as never));
        },
      ),
      runs,
    );
  });

  it('writeKvCacheReference changes nothing when it rejects', () => {
    fc.assert(
      fc.property(
        hostileRecord({ numHeadsKv: 1, headDim: 2, pageSize: 2, numTokens: 2 }),
        fc.oneof(
          hostileTyped,
          fc.array(fc.integer({ min: -3, max: 9 }), { maxLength: 4 }).map((a) => Int32Array.from(a)),
        ),
        (a, slotMapping) => {
          const kCache = new Float32Array(8);
          const vCache = new Float32Array(8);
          const key = Float32Array.of(1, 2, 3, 4);
          const ok = typedOrValid(() =>
            writeKvCacheReference({ key, value: key, kCache, vCache, ...(a as object), slotMapping } as never),
          );
          if (!ok) expect([kCache, vCache]).toEqual([new Float32Array(8), new Float32Array(8)]);
        },
      ),
      runs,
    );
  });
});

describe('hostile input: Attention method arguments (checked before any device work)', () => {
  const { options: resolved } = resolveOptions(options);
  const buf = (byteLength: number) => ({ ptr: 0x7f0000000000n, byteLength, device: 0 });
  const schedule = {
    stream: 0n,
    cuSeqlensQ: buf(64),
    seqLens: buf(64),
    numReqs: 2,
    maxSeqlenQ: 2,
    maxSeqlenK: 40,
    numSplits: 0,
  };
  const forward = {
    ...schedule,
    q: buf(1 << 20),
    out: buf(1 << 20),
    kCache: buf(1 << 20),
    vCache: buf(1 << 20),
    pageTable: buf(1 << 10),
    sinks: buf(64),
  };
  const write = {
    stream: 0n,
    key: buf(1 << 16),
    value: buf(1 << 16),
    kCache: buf(1 << 20),
    vCache: buf(1 << 20),
    slotMapping: buf(64),
    numTokens: 2,
  };

  it('schedule, forward, writeKvCache', () => {
    fc.assert(
      fc.property(hostileRecord(schedule), hostileRecord(forward), hostileRecord(write), (s, f, w) => {
        typedOrValid(() => checkScheduleArgs('Attention.schedule', resolved, s));
        typedOrValid(() => checkForwardArgs('Attention.forward', resolved, f));
        typedOrValid(() => checkWriteKvCacheArgs('Attention.writeKvCache', resolved, w));
      }),
      runs,
    );
  });

  it('forward, writeKvCache over an fp8 cache (descales included)', () => {
    const { options: fp8 } = resolveOptions({ ...options, kvDtype: 'fp8_e4m3' });
    const descales = { kDescale: buf(8), vDescale: buf(8) };
    fc.assert(
      fc.property(hostileRecord({ ...forward, ...descales }), hostileRecord({ ...write, ...descales }), (f, w) => {
        typedOrValid(() => checkForwardArgs('Attention.forward', fp8, f));
        typedOrValid(() => checkWriteKvCacheArgs('Attention.writeKvCache', fp8, w));
        // The same descales on a 16-bit cache: rejected by name, or absent.
        typedOrValid(() => checkForwardArgs('Attention.forward', resolved, f));
      }),
      runs,
    );
  });

  it('fp8 codecs, kvCacheDtypeBytes and tileShape check every argument', () => {
    const typed = (call: () => unknown, path: string) =>
      expect(call).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', path }));
    for (const code of [300, -1, 0.5, Number.NaN, 'abc', 1n, Symbol('s'), undefined]) {
      typed(() => decodeE4m3(code as never), 'decodeE4m3.code');
    }
    expect(decodeE4m3(0x38)).toBe(1);
    for (const value of ['abc', 1n, Symbol('s'), null]) typed(() => encodeE4m3(value as never), 'encodeE4m3.value');
    for (const scale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '2', null]) {
      typed(() => encodeE4m3(1, scale as never), 'encodeE4m3.scale');
    }
    // NaN and infinite values quantize as the kernel does (NaN code, saturation).
    expect(encodeE4m3(Number.NaN)).toBe(0x7f);
    expect(encodeE4m3(Number.POSITIVE_INFINITY)).toBe(0x7e);
    for (const dtype of ['fp32', undefined, 2, {}])
      typed(() => kvCacheDtypeBytes(dtype as never), 'kvCacheDtypeBytes.kvDtype');
    expect(kvCacheDtypeBytes('fp8_e4m3')).toBe(1);
    expect(kvCacheDtypeBytes('fp16')).toBe(2);
    for (const g of [2 ** 31, 1e308, 2 ** 53, 4097]) typed(() => tileShape(128, g), 'tileShape.qheadsPerKvhead');
    expect(tileShape(128, 4096)).toEqual(tileShape(128, 1));
  });

  it('arguments whose getters or proxy traps throw: InvalidArgumentError, never the trap', () => {
    const trap = () => {
      throw new Error('trap');
    };
    const proxy = new Proxy(
      {},
      { get: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap, has: trap },
    );
    // The caught error's name and code only: printing the error would print the proxy it holds.
    const outcome = (call: () => unknown): string => {
      try {
        call();
        return 'returned';
      } catch (error) {
        return `${(error as Error).name} ${(error as { code?: string }).code}`;
      }
    };
    const getter = (key: string) => Object.defineProperty({}, key, { enumerable: true, get: trap });
    expect(outcome(() => planSplits(proxy as never))).toBe('InvalidArgumentError invalid_value');
    expect(outcome(() => planSplits(getter('numReqs') as never))).toBe('InvalidArgumentError invalid_value');
    expect(outcome(() => resolveOptions(proxy))).toBe('InvalidArgumentError invalid_value');
    expect(outcome(() => resolveOptions(getter('numHeadsQ')))).toBe('InvalidArgumentError invalid_value');
    // An unknown key is named as such, even when reading it throws too.
    expect(outcome(() => resolveOptions(getter('typo')))).toBe('InvalidArgumentError unknown_option');
  });
});
