import { describe, expect, it } from 'vitest';
import { checkForwardArgs, checkScheduleArgs, checkWriteKvCacheArgs } from '../src/call-args.js';
import { resolveOptions } from '../src/options.js';
import { expectArgumentError } from './support/expect-error.js';

const { options } = resolveOptions({
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 64,
  dtype: 'fp16',
  pageSize: 16,
  numPages: 100,
  maxNumReqs: 8,
  maxNumTokens: 64,
  maxNumPagesPerReq: 10,
  maxNumSplits: 4,
  causal: true,
});

/** A stand-in with the DeviceBuffer fields the checks read. */
const buf = (byteLength: number, ptr = 0x7f0000000000n, device = 0) => ({ ptr, byteLength, device });
const cacheBytes = 100 * 16 * 2 * 64 * 2;

const schedule = {
  stream: 0n,
  cuSeqlensQ: buf(4 * 5),
  seqLens: buf(4 * 4),
  numReqs: 4,
  maxSeqlenQ: 3,
  maxSeqlenK: 160,
  numSplits: 0,
};
const forward = {
  ...schedule,
  q: buf(12 * 8 * 64 * 2),
  out: buf(12 * 8 * 64 * 2),
  lse: buf(4 * 8 * 12),
  kCache: buf(cacheBytes),
  vCache: buf(cacheBytes),
  pageTable: buf(4 * 4 * 10),
};
const write = {
  stream: 5n,
  key: buf(3 * 2 * 64 * 2),
  value: 0x1000n,
  kCache: buf(cacheBytes),
  vCache: 0x2000n,
  slotMapping: buf(12),
  numTokens: 3,
};

describe('schedule / forward argument checks', () => {
  it('sinks: an fp32 [Hq] device buffer, taken with no opt-in (they have run on a GPU under the sanitizers)', () => {
    expect(checkForwardArgs('Attention.forward', options, { ...forward, sinks: buf(32) }).sinks).toBe(0x7f0000000000n);
  });

  it('accepts buffers and raw pointers and fills defaults', () => {
    const f = checkForwardArgs('f', options, { ...forward, q: 0x10000n });
    expect(f).toMatchObject({
      numReqs: 4,
      numSplits: 0,
      pageTableStride: 10,
      softmaxScale: 1 / 8,
      q: 0x10000n,
      stream: 0n,
    });
    expect(checkForwardArgs('f', options, { ...forward, lse: undefined }).lse).toBe(0n);
    // Sinks: none by default (0n for the addon), else fp32 [Hq] = 32 bytes.
    expect(checkForwardArgs('f', options, forward).sinks).toBe(0n);
    expect(checkForwardArgs('f', options, { ...forward, sinks: null }).sinks).toBe(0n);
    expect(checkForwardArgs('f', options, { ...forward, sinks: buf(32, 0x7f0000000100n) }).sinks).toBe(0x7f0000000100n);
    expect(checkForwardArgs('f', options, { ...forward, sinks: 0x7f0000000204n }).sinks).toBe(0x7f0000000204n);
    const s = checkScheduleArgs('s', options, { ...schedule, stream: { handle: 42n } });
    expect(s.stream).toBe(42n);
  });

  it.each([
    ['numReqs above maxNumReqs', { numReqs: 9 }, 'out_of_range', 'numReqs', /got 9, allowed integer in \[1, 8\]/],
    ['numReqs 0', { numReqs: 0 }, 'out_of_range', 'numReqs', /allowed integer in \[1, 8\]/],
    [
      'numSplits above maxNumSplits (never clamped)',
      { numSplits: 5 },
      'out_of_range',
      'numSplits',
      /got 5, allowed integer in \[0, 4\]/,
    ],
    ['numSplits missing', { numSplits: undefined }, 'invalid_type', 'numSplits', /allowed integer in \[0, 4\]/],
    ['numSplits negative', { numSplits: -1 }, 'out_of_range', 'numSplits', /got -1/],
    ['maxSeqlenQ above maxNumTokens', { maxSeqlenQ: 65 }, 'out_of_range', 'maxSeqlenQ', /\[0, 64\]/],
    ['maxSeqlenK above the page table', { maxSeqlenK: 161 }, 'out_of_range', 'maxSeqlenK', /\[0, 160\]/],
    ['stream as number', { stream: 0 }, 'invalid_type', 'stream', /a Stream or a bigint/],
    [
      'cuSeqlensQ too small',
      { cuSeqlensQ: buf(16) },
      'out_of_range',
      'cuSeqlensQ.byteLength',
      /got 16, allowed at least int32 \[numReqs \+ 1\] = \[5\] = 20 bytes/,
    ],
    ['seqLens null pointer', { seqLens: 0n }, 'out_of_range', 'seqLens', /non-null device pointer/],
    ['seqLens misaligned', { seqLens: 0x1002n }, 'invalid_value', 'seqLens', /4-byte aligned/],
    ['seqLens a number', { seqLens: 4096 }, 'invalid_type', 'seqLens', /a DeviceBuffer or a bigint/],
    ['buffer on another device', { seqLens: buf(16, 0x1000n, 1) }, 'invalid_value', 'seqLens.device', /got 1/],
  ] as const)('schedule: %s', (_n, over, code, path, message) => {
    expectArgumentError(
      () => checkScheduleArgs('Attention.schedule', options, { ...schedule, ...over }),
      code,
      `Attention.schedule.${path}`,
      message,
    );
  });

  it.each([
    // min(maxNumTokens 64, numReqs 4 x maxSeqlenQ 3) = 12 tokens x 8 heads x 64 x 2 bytes.
    [
      'q too small',
      { q: buf(12 * 8 * 64 * 2 - 2) },
      'out_of_range',
      'q.byteLength',
      /\[min\(maxNumTokens, numReqs x maxSeqlenQ\), Hq, D\] = \[12, 8, 64\] fp16 = 12288 bytes/,
    ],
    ['out misaligned', { out: 0x1008n }, 'invalid_value', 'out', /16-byte aligned/],
    ['lse too small', { lse: buf(4 * 8 * 12 - 4) }, 'out_of_range', 'lse.byteLength', /fp32 \[Hq, /],
    ['sinks too small', { sinks: buf(28) }, 'out_of_range', 'sinks.byteLength', /fp32 \[Hq\] = \[8\] = 32 bytes/],
    ['sinks misaligned', { sinks: 0x1002n }, 'invalid_value', 'sinks', /4-byte aligned/],
    ['sinks a number', { sinks: 4096 }, 'invalid_type', 'sinks', /a DeviceBuffer or a bigint/],
    [
      'kCache too small',
      { kCache: buf(cacheBytes - 1) },
      'out_of_range',
      'kCache.byteLength',
      /\[numPages, pageSize, Hkv, D\] = \[100, 16, 2, 64\] fp16/,
    ],
    ['vCache missing', { vCache: undefined }, 'invalid_type', 'vCache', /a DeviceBuffer or a bigint/],
    [
      'pageTable too small',
      { pageTable: buf(4 * 4 * 10 - 4) },
      'out_of_range',
      'pageTable.byteLength',
      /int32 \[numReqs, pageTableStride\] = \[4, 10\]/,
    ],
    [
      'pageTableStride below maxNumPagesPerReq',
      { pageTableStride: 9 },
      'out_of_range',
      'pageTableStride',
      /integer in \[10, 2147483647\]/,
    ],
    [
      'wider stride needs a bigger table',
      { pageTableStride: 16 },
      'out_of_range',
      'pageTable.byteLength',
      /= \[4, 16\] .* = 232 bytes/,
    ],
    ['softmaxScale 0', { softmaxScale: 0 }, 'out_of_range', 'softmaxScale', /finite number in \(0, inf\)/],
    ['softmaxScale NaN', { softmaxScale: Number.NaN }, 'out_of_range', 'softmaxScale', /got NaN/],
  ] as const)('forward: %s', (_n, over, code, path, message) => {
    expectArgumentError(
      () => checkForwardArgs('Attention.forward', options, { ...forward, ...over }),
      code,
      `Attention.forward.${path}`,
      message,
    );
  });

  it('a wider page-table stride is accepted; the last row needs only maxNumPagesPerReq entries', () => {
    const f = checkForwardArgs('f', options, { ...forward, pageTableStride: 16, pageTable: buf(4 * (3 * 16 + 10)) });
    expect(f.pageTableStride).toBe(16);
  });
});

describe('writeKvCache argument checks', () => {
  it('accepts a valid call', () => {
    expect(checkWriteKvCacheArgs('w', options, write)).toMatchObject({ numTokens: 3, value: 0x1000n, stream: 5n });
  });
  it.each([
    ['numTokens above maxNumTokens', { numTokens: 65 }, 'out_of_range', 'numTokens', /integer in \[0, 64\]/],
    [
      'key too small',
      { key: buf(100) },
      'out_of_range',
      'key.byteLength',
      /\[numTokens, Hkv, D\] = \[3, 2, 64\] fp16 = 768 bytes/,
    ],
    [
      'slotMapping too small',
      { slotMapping: buf(8) },
      'out_of_range',
      'slotMapping.byteLength',
      /int32 \[numTokens\] = \[3\] = 12 bytes/,
    ],
    ['kCache null', { kCache: 0n }, 'out_of_range', 'kCache', /non-null device pointer/],
  ] as const)('%s', (_n, over, code, path, message) => {
    expectArgumentError(
      () => checkWriteKvCacheArgs('Attention.writeKvCache', options, { ...write, ...over }),
      code,
      `Attention.writeKvCache.${path}`,
      message,
    );
  });
});
