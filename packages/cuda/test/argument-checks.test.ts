// Every argument check of the TypeScript layer, against a recording fake addon: a bad argument
// must throw InvalidArgumentError (code invalid_type for the wrong kind of value, out_of_range or
// invalid_value otherwise) naming the argument and the allowed range, before any native call. Also: lifetimes (dispose, DisposedError, views), brand checks against forged objects,
// error mapping, and the repair of captures broken by a forbidden call.
import { totalmem } from 'node:os';
import { type ArgumentErrorCode, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../src/native.js', async () => {
  const { createFakeNative } = await import('./fake-native.js');
  const fake = createFakeNative();
  return {
    ADDON_FILE: 'flashgraph_cuda.node',
    addonCandidates: () => [],
    loadNative: () => ({ addon: fake.addon, path: 'fake' }),
    fake,
  };
});

import {
  CudaError,
  cudaStatus,
  DeviceBuffer,
  DisposedError,
  deviceGraphMemory,
  deviceSynchronize,
  Event,
  Graph,
  GraphExec,
  kernels,
  memGetInfo,
  PinnedHostBuffer,
  Stream,
} from '../src/index.js';
import * as nativeModule from '../src/native.js';
import type { FakeNative } from './fake-native.js';

const fake = (nativeModule as unknown as { fake: FakeNative }).fake;
const callNames = () => fake.calls.map((c) => c.name);

beforeEach(() => fake.reset());

type Expected = ArgumentErrorCode | typeof DisposedError;

/**
 * Runs fn, expects an InvalidArgumentError with `code` (or a DisposedError) whose message matches
 * `message`, and no native call.
 */
function rejects(fn: () => unknown, expected: Expected, message: RegExp) {
  fake.reset();
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isFlashgraphError(thrown), `expected a FlashgraphError, got ${String(thrown)}`).toBe(true);
  if (typeof expected === 'string') {
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).code).toBe(expected);
  } else {
    expect(thrown).toBeInstanceOf(expected);
    expect((thrown as DisposedError).code).toBe('disposed');
  }
  expect((thrown as Error).message).toMatch(message);
  expect(callNames(), 'no native call before the argument check').toEqual([]);
}

const forgedBuffer = () => Object.create(DeviceBuffer.prototype) as DeviceBuffer;
const forgedStream = () => Object.create(Stream.prototype) as Stream;
const plainBuffer = { ptr: 0x1000n, byteLength: 64, device: 0 } as unknown as DeviceBuffer;
const plainStream = { handle: 0x2000n, device: 0 } as unknown as Stream;

describe('status through the fake addon', () => {
  it('reports the device', () => {
    const s = cudaStatus();
    expect(s.available).toBe(true);
    expect(s.devices[0]?.name).toBe('Fake H100');
    expect(s.reason).toBeUndefined();
  });
});

describe('allocation and creation arguments', () => {
  const sizeCases: [string, unknown, Expected, RegExp][] = [
    ['negative', -1, 'out_of_range', /byteLength: out of range \(got -1, allowed integer in \[0, 9007199254740991\]\)/],
    ['fractional', 1.5, 'out_of_range', /byteLength: out of range/],
    [
      'unsafe',
      2 ** 53,
      'out_of_range',
      /byteLength: out of range \(got .*, allowed integer in \[0, 9007199254740991\]\)/,
    ],
    ['NaN', Number.NaN, 'out_of_range', /byteLength: out of range/],
    ['Infinity', Number.POSITIVE_INFINITY, 'out_of_range', /byteLength/],
    ['string', '16', 'invalid_type', /byteLength: wrong type/],
    ['bigint', 16n, 'invalid_type', /byteLength: wrong type/],
    ['undefined', undefined, 'invalid_type', /byteLength: wrong type/],
  ];
  it.each(sizeCases)('DeviceBuffer.alloc rejects a %s size', (_n, size, type, message) => {
    rejects(() => DeviceBuffer.alloc(size as number), type, message);
  });
  it.each(sizeCases)('PinnedHostBuffer.alloc rejects a %s size', (_n, size, type, message) => {
    // The ceiling is the host's memory (os.totalmem()), not 2^53 - 1.
    const ceiling = new RegExp(message.source.replace('9007199254740991', '\\d+'));
    rejects(() => PinnedHostBuffer.alloc(size as number), type, ceiling);
  });

  it('allocations are bounded by the memory that could hold them', () => {
    rejects(
      () => DeviceBuffer.alloc(80e9 + 1),
      'out_of_range',
      /byteLength: out of range \(got 80000000001, allowed integer in \[0, 80000000000\]\)/,
    );
    rejects(() => PinnedHostBuffer.alloc(totalmem() + 1), 'out_of_range', /byteLength: out of range/);
  });

  it.each([
    [{ device: 1 }, 'out_of_range', /options.device: out of range \(got 1, allowed integer in \[0, 0\]\)/],
    [{ device: -1 }, 'out_of_range', /options.device: out of range \(got .*, allowed integer in \[0, 0\]\)/],
    [{ device: '0' }, 'invalid_type', /options.device: wrong type/],
    ['opts', 'invalid_type', /options: wrong type/],
    [null, 'invalid_type', /options: wrong type/],
  ] as const)('DeviceBuffer.alloc(16, %j) is rejected', (opts, type, message) => {
    rejects(() => DeviceBuffer.alloc(16, opts as never), type, message);
  });

  it.each([
    [{ nonBlocking: 1 }, 'invalid_type', /options.nonBlocking: wrong type \(got .*, allowed boolean\)/],
    [{ priority: 0.5 }, 'out_of_range', /options.priority: out of range/],
    [{ device: 2 }, 'out_of_range', /options.device: out of range \(got .*, allowed integer in \[0, 0\]\)/],
  ] as const)('Stream.create(%j) is rejected', (opts, type, message) => {
    rejects(() => Stream.create(opts as never), type, message);
  });

  it('Stream.create checks the priority against the device range', () => {
    fake.reset();
    expect(() => Stream.create({ priority: 3 })).toThrow(
      /options.priority: out of range \(got 3, allowed integer in \[-5, 0\]\)/,
    );
    expect(callNames()).toEqual(['streamPriorityRange']);
    const s = Stream.create({ priority: -5, nonBlocking: true });
    expect(fake.calls.at(-1)).toEqual({ name: 'streamCreate', args: [0, true, -5] });
    s.dispose();
  });

  it.each([
    [-1n, 'out_of_range', /handle: out of range \(got -1n, allowed bigint in \[0, 2\^64 - 1\]\)/],
    [1n << 64n, 'out_of_range', /handle: out of range \(got .*, allowed bigint in \[0, 2\^64 - 1\]\)/],
    [5, 'invalid_type', /handle: wrong type \(got 5, allowed bigint/],
  ] as const)('Stream.fromHandle(%#) is rejected', (handle, type, message) => {
    rejects(() => Stream.fromHandle(handle as bigint), type, message);
  });

  it.each([
    [{ timing: 'yes' }, 'invalid_type', /options.timing: wrong type \(got .*, allowed boolean\)/],
    [{ device: 3 }, 'out_of_range', /options.device: out of range \(got .*, allowed integer in \[0, 0\]\)/],
  ] as const)('Event.create(%j) is rejected', (opts, type, message) => {
    rejects(() => Event.create(opts as never), type, message);
  });

  it.each([
    ['memGetInfo', () => memGetInfo(7)],
    ['deviceGraphMemory', () => deviceGraphMemory(-1)],
    ['deviceSynchronize', () => deviceSynchronize(0.5)],
  ])('%s rejects a bad device', (_n, fn) => {
    rejects(fn, 'out_of_range', /device: out of range \(got .*, allowed integer in \[0, 0\]\)/);
  });

  it('Graph and GraphExec cannot be constructed directly', () => {
    rejects(
      () => new (Graph as unknown as new (...a: unknown[]) => Graph)(Symbol('x'), 1n, 0),
      'invalid_value',
      /stream.endCapture/,
    );
    rejects(
      () => new (GraphExec as unknown as new (...a: unknown[]) => GraphExec)(Symbol('x'), 1n, 0),
      'invalid_value',
      /instantiate/,
    );
  });
});

describe('DeviceBuffer copies', () => {
  const buf = () => DeviceBuffer.alloc(64);

  it.each([
    ['a number', 5, 'invalid_type', /src: wrong type \(got 5, allowed TypedArray or DataView\)/],
    [
      'an ArrayBuffer',
      new ArrayBuffer(4),
      'invalid_type',
      /src: wrong type \(got \{\}, allowed TypedArray or DataView\)/,
    ],
    ['an array', [1, 2], 'invalid_type', /src: wrong type/],
    [
      'too long',
      new Uint8Array(65),
      'out_of_range',
      /src: 65 bytes at offset 0 do not fit in 64 bytes \(got .*, allowed offset \+ byteLength <= 64\)/,
    ],
  ] as const)('write rejects %s', (_n, src, type, message) => {
    const b = buf();
    rejects(() => b.write(src as never), type, message);
  });

  it.each([
    [
      'offset -1',
      { offset: -1 },
      'out_of_range',
      /options.offset: out of range \(got -1, allowed integer in \[0, 64\]\)/,
    ],
    [
      'offset 65',
      { offset: 65 },
      'out_of_range',
      /options.offset: out of range \(got 65, allowed integer in \[0, 64\]\)/,
    ],
    ['offset 61', { offset: 61 }, 'out_of_range', /src: 4 bytes at offset 61 do not fit in 64 bytes/],
    ['offset 1.5', { offset: 1.5 }, 'out_of_range', /options.offset: out of range/],
    [
      'a plain-object stream',
      { stream: plainStream },
      'invalid_type',
      /options.stream: wrong type \(got .*, allowed a Stream/,
    ],
    [
      'a forged stream',
      { stream: forgedStream() },
      'invalid_type',
      /options.stream: wrong type \(got .*, allowed a Stream/,
    ],
    ['a bigint stream', { stream: 0n }, 'invalid_type', /options.stream: wrong type \(got .*, allowed a Stream/],
  ] as const)('write(Float32Array(1)) with %s is rejected', (_n, opts, type, message) => {
    const b = buf();
    rejects(() => b.write(new Float32Array(1), opts as never), type, message);
  });

  it('write and read hand the exact byte range to the addon', () => {
    const b = buf();
    const backing = new Float32Array(8);
    const src = new Float32Array(backing.buffer, 4, 3); // offset view of 12 bytes
    fake.reset();
    b.write(src, { offset: 52 });
    expect(fake.calls).toHaveLength(1);
    const [device, dst, bytes, stream] = (fake.calls[0]?.args ?? []) as [number, bigint, Uint8Array, bigint];
    expect([device, dst, stream]).toEqual([0, b.ptr + 52n, 0n]);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([bytes.buffer, bytes.byteOffset, bytes.byteLength]).toEqual([backing.buffer, 4, 12]);
    const view = new DataView(new ArrayBuffer(16), 2, 8);
    expect(b.read(view, { offset: 56 })).toBe(view);
    expect(fake.calls[1]?.name).toBe('memcpyDtoH');
    expect(fake.calls[1]?.args[2]).toBe(b.ptr + 56n);
    expect(() => b.read(new Uint8Array(9), { offset: 56 })).toThrow(InvalidArgumentError);
  });

  it('zero-length copies make no native call', () => {
    const b = buf();
    fake.reset();
    b.write(new Uint8Array(0), { offset: 64 });
    b.read(new Uint8Array(0));
    b.fill(0, { offset: 64 });
    expect(callNames()).toEqual([]);
  });

  it.each([
    [256, undefined, 'out_of_range', /byte: out of range \(got 256, allowed integer in \[0, 255\]\)/],
    [-1, undefined, 'out_of_range', /byte: out of range \(got .*, allowed integer in \[0, 255\]\)/],
    ['a', undefined, 'invalid_type', /byte: wrong type/],
    [
      0,
      { offset: 10, byteLength: 60 },
      'out_of_range',
      /options.byteLength: 60 bytes at offset 10 do not fit in 64 bytes/,
    ],
    [
      0,
      { byteLength: 65 },
      'out_of_range',
      /options.byteLength: out of range \(got .*, allowed integer in \[0, 64\]\)/,
    ],
  ] as const)('fill(%j, %j) is rejected', (byte, opts, type, message) => {
    const b = buf();
    rejects(() => b.fill(byte as number, opts as never), type, message);
  });

  it('fill is asynchronous only with a stream', () => {
    const b = buf();
    const s = Stream.create();
    fake.reset();
    b.fill(7, { offset: 8, byteLength: 8 });
    b.fill(9, { stream: s });
    expect(fake.calls.map((c) => c.args)).toEqual([
      [0, b.ptr + 8n, 7, 8, 0n, true],
      [0, b.ptr, 9, 64, s.handle, false],
    ]);
  });

  it.each<[string, () => unknown, Expected, RegExp]>([
    ['a plain object', () => plainBuffer, 'invalid_type', /src: wrong type \(got .*, allowed a DeviceBuffer/],
    ['a forged DeviceBuffer', forgedBuffer, 'invalid_type', /src: wrong type \(got .*, allowed a DeviceBuffer/],
    ['a bigint', () => 0x1000n, 'invalid_type', /src: wrong type \(got .*, allowed a DeviceBuffer/],
  ])('copyFrom rejects %s', (_n, src, type, message) => {
    const b = buf();
    rejects(() => b.copyFrom(src() as DeviceBuffer), type, message);
  });

  it('copyFrom checks both ranges', () => {
    const dst = DeviceBuffer.alloc(16);
    const src = DeviceBuffer.alloc(32);
    rejects(
      () => dst.copyFrom(src),
      'out_of_range',
      /options.byteLength \(destination range\): 32 bytes at offset 0 do not fit in 16 bytes/,
    );
    rejects(() => dst.copyFrom(src, { srcOffset: 30, byteLength: 4 }), 'out_of_range', /source range/);
    rejects(
      () => dst.copyFrom(src, { dstOffset: 17 }),
      'out_of_range',
      /options.dstOffset: out of range \(got .*, allowed integer in \[0, 16\]\)/,
    );
    fake.reset();
    dst.copyFrom(src, { srcOffset: 16 });
    expect(fake.calls[0]).toEqual({ name: 'memcpyDtoD', args: [0, dst.ptr, src.ptr + 16n, 16, 0n, true] });
  });

  it('views share memory, check bounds and nest', () => {
    const b = DeviceBuffer.alloc(100);
    rejects(() => b.view(101), 'out_of_range', /byteOffset: out of range \(got .*, allowed integer in \[0, 100\]\)/);
    rejects(() => b.view(50, 51), 'out_of_range', /byteLength: 51 bytes at offset 50 do not fit in 100 bytes/);
    const ownerPtr = b.ptr;
    const v = b.view(10, 50);
    const w = v.view(5);
    expect([v.ptr - b.ptr, v.byteLength, w.ptr - b.ptr, w.byteLength]).toEqual([10n, 50, 15n, 45]);
    rejects(() => w.write(new Uint8Array(46)), 'out_of_range', /46 bytes at offset 0 do not fit in 45 bytes/);
    fake.reset();
    w.dispose(); // a view frees nothing
    expect(callNames()).toEqual([]);
    expect(() => w.ptr).toThrow(DisposedError);
    expect(v.byteLength).toBe(50);
    b.dispose(); // the owner frees, and its views are disposed with it
    expect(fake.calls).toEqual([{ name: 'free', args: [0, ownerPtr, 100] }]);
    expect(() => v.read(new Uint8Array(1))).toThrow(DisposedError);
  });

  it('dispose frees once, with the byte count, and use after dispose throws DisposedError', () => {
    const b = DeviceBuffer.alloc(48);
    const ptr = b.ptr;
    fake.reset();
    b.dispose();
    b.dispose();
    b[Symbol.dispose]();
    expect(fake.calls).toEqual([{ name: 'free', args: [0, ptr, 48] }]);
    for (const use of [
      () => b.ptr,
      () => b.byteLength,
      () => b.write(new Uint8Array(1)),
      () => b.fill(0),
      () => b.view(0),
    ]) {
      rejects(use, DisposedError, /DeviceBuffer was used after dispose\(\)/);
    }
    const other = DeviceBuffer.alloc(48);
    rejects(() => other.copyFrom(b), DisposedError, /src: DeviceBuffer was used after dispose/);
  });

  it('a zero-byte buffer has ptr 0n and never calls malloc or free', () => {
    fake.reset();
    const b = DeviceBuffer.alloc(0);
    expect(b.ptr).toBe(0n);
    b.dispose();
    expect(callNames()).toEqual([]);
  });
});

describe('PinnedHostBuffer', () => {
  it('typed views check alignment and length', () => {
    const p = PinnedHostBuffer.alloc(64);
    expect(p.bytes.byteLength).toBe(64);
    expect(p.int32().length).toBe(16);
    expect(p.float32(8, 2).length).toBe(2);
    rejects(
      () => p.int32(2),
      'invalid_value',
      /offsetBytes: misaligned \(got 2, allowed a multiple of 4 for a Int32Array\)/,
    );
    rejects(() => p.float32(0, 17), 'out_of_range', /length: out of range \(got 17, allowed integer in \[0, 16\]\)/);
    rejects(() => p.float32(68), 'out_of_range', /offsetBytes: out of range \(got .*, allowed integer in \[0, 64\]\)/);
    p.dispose();
    expect(() => p.bytes).toThrow(DisposedError);
  });

  it('copies need a stream, a DeviceBuffer and ranges that fit', () => {
    const p = PinnedHostBuffer.alloc(64);
    const d = DeviceBuffer.alloc(32);
    const s = Stream.create();
    rejects(
      () => p.copyToDevice(d, {} as never),
      'invalid_type',
      /options.stream: required: pinned copies are asynchronous/,
    );
    rejects(
      () => p.copyToDevice(d, undefined as never),
      'invalid_type',
      /options.stream: required: pinned copies are asynchronous/,
    );
    rejects(
      () => p.copyToDevice(plainBuffer, { stream: s }),
      'invalid_type',
      /dst: wrong type \(got .*, allowed a DeviceBuffer/,
    );
    rejects(
      () => p.copyToDevice(d, { stream: plainStream }),
      'invalid_type',
      /options.stream: wrong type \(got .*, allowed a Stream/,
    );
    rejects(
      () => p.copyToDevice(d, { stream: s }),
      'out_of_range',
      /options.byteLength \(destination range\): 64 bytes at offset 0 do not fit in 32 bytes/,
    );
    rejects(
      () => p.copyFromDevice(d, { stream: s, dstOffset: 40 }),
      'out_of_range',
      /options.byteLength \(destination range\): 32 bytes at offset 40 do not fit in 64 bytes/,
    );
    fake.reset();
    p.copyToDevice(d, { stream: s, srcOffset: 8, dstOffset: 4, byteLength: 28 });
    p.copyFromDevice(d, { stream: s, srcOffset: 16, dstOffset: 48 });
    expect(fake.calls.map((c) => c.args)).toEqual([
      [0, p.ptr + 8n, d.ptr + 4n, 28, true, s.handle],
      [0, p.ptr + 48n, d.ptr + 16n, 16, false, s.handle],
    ]);
  });
});

describe('streams, events and graphs', () => {
  it('dispose of an owned stream destroys it; a wrapped stream is only forgotten', () => {
    const owned = Stream.create();
    const wrapped = Stream.fromHandle(0xabcn, { device: 0 });
    fake.reset();
    owned.dispose();
    wrapped.dispose();
    owned.dispose();
    expect(callNames()).toEqual(['streamDestroy']);
    rejects(() => owned.synchronize(), DisposedError, /Stream was used after dispose/);
    rejects(() => wrapped.handle, DisposedError, /Stream/);
  });

  it('fromHandle asks the driver for the device when none is given', () => {
    fake.reset();
    const s = Stream.fromHandle(0n);
    expect(s.device).toBe(0);
    expect(callNames()).toEqual(['streamGetDevice']);
  });

  it('beginCapture checks the mode', () => {
    const s = Stream.create();
    rejects(
      () => s.beginCapture('local' as never),
      'invalid_value',
      /mode: invalid value \(got "local", allowed one of "global", "thread_local", "relaxed"\)/,
    );
    fake.reset();
    s.beginCapture();
    expect(fake.calls[0]).toEqual({ name: 'streamBeginCapture', args: [0, s.handle, 1] });
    expect(s.isCapturing()).toBe(true);
    const g = s.endCapture();
    expect(g).toBeInstanceOf(Graph);
    expect(g.nodeCount()).toBe(3);
  });

  it('graph calls check their arguments', () => {
    const s = Stream.create();
    s.beginCapture('global');
    const g = s.endCapture();
    const exec = g.instantiate();
    rejects(() => exec.launch(plainStream), 'invalid_type', /stream: wrong type \(got .*, allowed a Stream/);
    rejects(() => exec.upload(forgedStream()), 'invalid_type', /stream: wrong type \(got .*, allowed a Stream/);
    rejects(() => exec.update({} as Graph), 'invalid_type', /graph: wrong type \(got .*, allowed a Graph/);
    expect(exec.update(g)).toEqual({ ok: false, reason: 'cudaGraphExecUpdate: topology changed' });
    g.dispose();
    rejects(() => exec.update(g), DisposedError, /graph: Graph was used after dispose/);
    exec.dispose();
    rejects(() => exec.launch(s), DisposedError, /GraphExec was used after dispose/);
  });

  it('events check their arguments', () => {
    const e = Event.create();
    const t1 = Event.create({ timing: true });
    const t2 = Event.create({ timing: true });
    rejects(() => e.record(plainStream), 'invalid_type', /stream: wrong type \(got .*, allowed a Stream/);
    rejects(
      () => e.elapsedMs(t1),
      'invalid_value',
      /this.timing: elapsedMs\(\) needs two events created with Event.create\(\{ timing: true \}\)/,
    );
    rejects(() => t1.elapsedMs({} as Event), 'invalid_type', /end: wrong type \(got .*, allowed an Event/);
    expect(t1.elapsedMs(t2)).toBe(1.5);
    const s = Stream.create();
    rejects(() => s.waitEvent({} as Event), 'invalid_type', /event: wrong type \(got .*, allowed an Event/);
  });
});

describe('kernels', () => {
  it.each([
    [
      'a null pointer',
      () => kernels.fillInt32(0n, 1, 4, 0n),
      'out_of_range',
      /buf: out of range \(got 0n, allowed bigint in \[1, 2\^64 - 1\]\)/,
    ],
    [
      'a misaligned pointer',
      () => kernels.fillInt32(0x1002n, 1, 4, 0n),
      'invalid_value',
      /buf: misaligned \(got 4098n, allowed a 4-byte aligned address\)/,
    ],
    [
      'a non-int32 value',
      () => kernels.fillInt32(0x1000n, 2 ** 31, 4, 0n),
      'out_of_range',
      /value: out of range \(got .*, allowed integer in \[-2147483648, 2147483647\]\)/,
    ],
    [
      'a negative count',
      () => kernels.fillInt32(0x1000n, 1, -4, 0n),
      'out_of_range',
      /count: out of range \(got .*, allowed integer in \[0, /,
    ],
    [
      'a plain-object stream',
      () => kernels.fillInt32(0x1000n, 1, 4, plainStream),
      'invalid_type',
      /stream: wrong type \(got .*, allowed a Stream or a bigint cudaStream_t\)/,
    ],
    [
      'a number stream',
      () => kernels.copyBytes(0x1000n, 0x2000n, 4, 0 as never),
      'invalid_type',
      /stream: wrong type \(got .*, allowed a Stream or a bigint cudaStream_t\)/,
    ],
    [
      'a forged buffer',
      () => kernels.addFloat32(forgedBuffer(), 0x1000n, 0x1000n, 1, 0n),
      'invalid_type',
      /a: wrong type \(got .*, allowed a DeviceBuffer or a bigint device pointer\)/,
    ],
  ] as const)('rejects %s', (_n, fn, type, message) => {
    rejects(fn, type, message);
  });

  it('checks counts against DeviceBuffer sizes', () => {
    const a = DeviceBuffer.alloc(16);
    rejects(
      () => kernels.fillInt32(a, 1, 5, 0n),
      'out_of_range',
      /buf: too small for 5 int32 values \(got 16, allowed at least 20 bytes\)/,
    );
    rejects(
      () => kernels.addFloat32(a, a, a.view(4), 4, 0n),
      'out_of_range',
      /out: too small for 4 float32 values \(got 12, allowed at least 16 bytes\)/,
    );
    rejects(() => kernels.fillInt32(a.view(2), 1, 1, 0n), 'invalid_value', /buf: misaligned/);
    const s = Stream.create();
    fake.reset();
    kernels.addFloat32(a, a, a, 4, s);
    expect(fake.calls[0]).toEqual({ name: 'addFloat32', args: [0, a.ptr, a.ptr, a.ptr, 4, s.handle] });
  });
});

describe('errors from the addon', () => {
  it('become CudaError with name, code and call', () => {
    fake.failNext('malloc', 'cudaErrorMemoryAllocation', 2);
    let err: unknown;
    try {
      DeviceBuffer.alloc(1 << 30);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CudaError);
    expect(err).toMatchObject({
      code: 'cuda_error',
      cudaCode: 2,
      cudaName: 'cudaErrorMemoryAllocation',
      call: 'malloc',
      name: 'CudaError',
    });
    expect(isFlashgraphError(err)).toBe(true);
    expect((err as Error).message).toMatch(/^cudaErrorMemoryAllocation: malloc failed/);
  });

  it('a forbidden call during capture ends the broken capture and leaves the stream usable', () => {
    const s = Stream.create();
    s.beginCapture('thread_local');
    fake.reset();
    fake.failNext('streamSynchronize', 'cudaErrorStreamCaptureUnsupported', 900);
    fake.captureStatus.set(s.handle, 2); // the driver invalidates the capture
    let err: unknown;
    try {
      s.synchronize();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CudaError);
    expect((err as CudaError).cudaName).toBe('cudaErrorStreamCaptureUnsupported');
    expect((err as Error).message).toMatch(
      /invalidated the stream capture on stream 0x[0-9a-f]+; the capture was ended .* usable again/,
    );
    expect(callNames()).toEqual(['streamSynchronize', 'streamCaptureStatus', 'streamAbandonCapture']);
    expect(s.isCapturing()).toBe(false);
    s.beginCapture(); // a new capture can start
    s.endCapture();
  });

  it('an error that leaves the capture active does not end it', () => {
    const s = Stream.create();
    s.beginCapture();
    fake.failNext('fillInt32', 'cudaErrorInvalidValue', 1);
    expect(() => kernels.fillInt32(0x1000n, 0, 1, s)).toThrow(/^cudaErrorInvalidValue: fillInt32 failed/);
    expect(s.isCapturing()).toBe(true);
    s.endCapture();
  });
});
