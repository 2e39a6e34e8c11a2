// Every argument check of the TypeScript layer, against a recording fake addon: a bad argument
// must throw TypeError/RangeError naming the argument and the allowed range, before any native
// call. Also: lifetimes (dispose, DisposedError, views), brand checks against forged objects,
// error mapping, and the repair of captures broken by a forbidden call.
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

/** Runs fn, expects `type` with a message matching `message`, and no native call. */
function rejects(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError | typeof DisposedError,
  message: RegExp,
) {
  fake.reset();
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(type);
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
  const sizeCases: [string, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ['negative', -1, RangeError, /byteLength must be an integer in \[0, 9007199254740991\], got -1/],
    ['fractional', 1.5, RangeError, /byteLength must be an integer/],
    ['unsafe', 2 ** 53, RangeError, /byteLength must be an integer in \[0, 9007199254740991\]/],
    ['NaN', Number.NaN, RangeError, /byteLength must be an integer/],
    ['Infinity', Number.POSITIVE_INFINITY, RangeError, /byteLength/],
    ['string', '16', TypeError, /byteLength must be a number/],
    ['bigint', 16n, TypeError, /byteLength must be a number/],
    ['undefined', undefined, TypeError, /byteLength must be a number/],
  ];
  it.each(sizeCases)('DeviceBuffer.alloc rejects a %s size', (_n, size, type, message) => {
    rejects(() => DeviceBuffer.alloc(size as number), type, message);
  });
  it.each(sizeCases)('PinnedHostBuffer.alloc rejects a %s size', (_n, size, type, message) => {
    rejects(() => PinnedHostBuffer.alloc(size as number), type, message);
  });

  it.each([
    [{ device: 1 }, RangeError, /opts.device must be an integer in \[0, 0\], got 1/],
    [{ device: -1 }, RangeError, /opts.device must be an integer in \[0, 0\]/],
    [{ device: '0' }, TypeError, /opts.device must be a number/],
    ['opts', TypeError, /opts must be an options object/],
    [null, TypeError, /opts must be an options object/],
  ] as const)('DeviceBuffer.alloc(16, %j) is rejected', (opts, type, message) => {
    rejects(() => DeviceBuffer.alloc(16, opts as never), type, message);
  });

  it.each([
    [{ nonBlocking: 1 }, TypeError, /opts.nonBlocking must be a boolean/],
    [{ priority: 0.5 }, RangeError, /opts.priority must be an integer/],
    [{ device: 2 }, RangeError, /opts.device must be an integer in \[0, 0\]/],
  ] as const)('Stream.create(%j) is rejected', (opts, type, message) => {
    rejects(() => Stream.create(opts as never), type, message);
  });

  it('Stream.create checks the priority against the device range', () => {
    fake.reset();
    expect(() => Stream.create({ priority: 3 })).toThrow(/opts.priority must be an integer in \[-5, 0\], got 3/);
    expect(callNames()).toEqual(['streamPriorityRange']);
    const s = Stream.create({ priority: -5, nonBlocking: true });
    expect(fake.calls.at(-1)).toEqual({ name: 'streamCreate', args: [0, true, -5] });
    s.dispose();
  });

  it.each([
    [-1n, RangeError, /handle must be a bigint in \[0, 2\^64 - 1\], got -1n/],
    [1n << 64n, RangeError, /handle must be a bigint in \[0, 2\^64 - 1\]/],
    [5, TypeError, /handle must be a bigint, got 5/],
  ] as const)('Stream.fromHandle(%#) is rejected', (handle, type, message) => {
    rejects(() => Stream.fromHandle(handle as bigint), type, message);
  });

  it.each([
    [{ timing: 'yes' }, TypeError, /opts.timing must be a boolean/],
    [{ device: 3 }, RangeError, /opts.device must be an integer in \[0, 0\]/],
  ] as const)('Event.create(%j) is rejected', (opts, type, message) => {
    rejects(() => Event.create(opts as never), type, message);
  });

  it.each([
    ['memGetInfo', () => memGetInfo(7)],
    ['deviceGraphMemory', () => deviceGraphMemory(-1)],
    ['deviceSynchronize', () => deviceSynchronize(0.5)],
  ])('%s rejects a bad device', (_n, fn) => {
    rejects(fn, RangeError, /device must be an integer in \[0, 0\]/);
  });

  it('Graph and GraphExec cannot be constructed directly', () => {
    rejects(
      () => new (Graph as unknown as new (...a: unknown[]) => Graph)(Symbol('x'), 1n, 0),
      TypeError,
      /stream.endCapture/,
    );
    rejects(
      () => new (GraphExec as unknown as new (...a: unknown[]) => GraphExec)(Symbol('x'), 1n, 0),
      TypeError,
      /instantiate/,
    );
  });
});

describe('DeviceBuffer copies', () => {
  const buf = () => DeviceBuffer.alloc(64);

  it.each([
    ['a number', 5, TypeError, /src must be a TypedArray or DataView, got 5/],
    ['an ArrayBuffer', new ArrayBuffer(4), TypeError, /src must be a TypedArray or DataView, got a ArrayBuffer/],
    ['an array', [1, 2], TypeError, /src must be a TypedArray or DataView/],
    ['too long', new Uint8Array(65), RangeError, /write: 65 bytes at offset 0 do not fit in 64 bytes/],
  ] as const)('write rejects %s', (_n, src, type, message) => {
    const b = buf();
    rejects(() => b.write(src as never), type, message);
  });

  it.each([
    ['offset -1', { offset: -1 }, RangeError, /opts.offset must be an integer in \[0, 64\], got -1/],
    ['offset 65', { offset: 65 }, RangeError, /opts.offset must be an integer in \[0, 64\], got 65/],
    ['offset 61', { offset: 61 }, RangeError, /write: 4 bytes at offset 61 do not fit in 64 bytes/],
    ['offset 1.5', { offset: 1.5 }, RangeError, /opts.offset must be an integer/],
    ['a plain-object stream', { stream: plainStream }, TypeError, /opts.stream must be a Stream/],
    ['a forged stream', { stream: forgedStream() }, TypeError, /opts.stream must be a Stream/],
    ['a bigint stream', { stream: 0n }, TypeError, /opts.stream must be a Stream/],
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
    expect(() => b.read(new Uint8Array(9), { offset: 56 })).toThrow(RangeError);
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
    [256, undefined, RangeError, /byte must be an integer in \[0, 255\], got 256/],
    [-1, undefined, RangeError, /byte must be an integer in \[0, 255\]/],
    ['a', undefined, TypeError, /byte must be a number/],
    [0, { offset: 10, byteLength: 60 }, RangeError, /fill: 60 bytes at offset 10 do not fit in 64 bytes/],
    [0, { byteLength: 65 }, RangeError, /opts.byteLength must be an integer in \[0, 64\]/],
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

  it.each([
    ['a plain object', () => plainBuffer, TypeError, /src must be a DeviceBuffer/],
    ['a forged DeviceBuffer', forgedBuffer, TypeError, /src must be a DeviceBuffer/],
    ['a bigint', () => 0x1000n, TypeError, /src must be a DeviceBuffer/],
  ])('copyFrom rejects %s', (_n, src, type, message) => {
    const b = buf();
    rejects(() => b.copyFrom(src() as DeviceBuffer), type, message);
  });

  it('copyFrom checks both ranges', () => {
    const dst = DeviceBuffer.alloc(16);
    const src = DeviceBuffer.alloc(32);
    rejects(
      () => dst.copyFrom(src),
      RangeError,
      /copyFrom \(destination range\): 32 bytes at offset 0 do not fit in 16 bytes/,
    );
    rejects(() => dst.copyFrom(src, { srcOffset: 30, byteLength: 4 }), RangeError, /source range/);
    rejects(() => dst.copyFrom(src, { dstOffset: 17 }), RangeError, /opts.dstOffset must be an integer in \[0, 16\]/);
    fake.reset();
    dst.copyFrom(src, { srcOffset: 16 });
    expect(fake.calls[0]).toEqual({ name: 'memcpyDtoD', args: [0, dst.ptr, src.ptr + 16n, 16, 0n, true] });
  });

  it('views share memory, check bounds and nest', () => {
    const b = DeviceBuffer.alloc(100);
    rejects(() => b.view(101), RangeError, /byteOffset must be an integer in \[0, 100\]/);
    rejects(() => b.view(50, 51), RangeError, /view: 51 bytes at offset 50 do not fit in 100 bytes/);
    const ownerPtr = b.ptr;
    const v = b.view(10, 50);
    const w = v.view(5);
    expect([v.ptr - b.ptr, v.byteLength, w.ptr - b.ptr, w.byteLength]).toEqual([10n, 50, 15n, 45]);
    rejects(() => w.write(new Uint8Array(46)), RangeError, /46 bytes at offset 0 do not fit in 45 bytes/);
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
    rejects(() => other.copyFrom(b), DisposedError, /src \(DeviceBuffer\) was used after dispose/);
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
    rejects(() => p.int32(2), RangeError, /offsetBytes must be a multiple of 4 for a Int32Array, got 2/);
    rejects(() => p.float32(0, 17), RangeError, /length must be an integer in \[0, 16\], got 17/);
    rejects(() => p.float32(68), RangeError, /offsetBytes must be an integer in \[0, 64\]/);
    p.dispose();
    expect(() => p.bytes).toThrow(DisposedError);
  });

  it('copies need a stream, a DeviceBuffer and ranges that fit', () => {
    const p = PinnedHostBuffer.alloc(64);
    const d = DeviceBuffer.alloc(32);
    const s = Stream.create();
    rejects(() => p.copyToDevice(d, {} as never), TypeError, /opts.stream is required/);
    rejects(() => p.copyToDevice(d, undefined as never), TypeError, /opts.stream is required/);
    rejects(() => p.copyToDevice(plainBuffer, { stream: s }), TypeError, /dst must be a DeviceBuffer/);
    rejects(() => p.copyToDevice(d, { stream: plainStream }), TypeError, /opts.stream must be a Stream/);
    rejects(
      () => p.copyToDevice(d, { stream: s }),
      RangeError,
      /copyToDevice \(destination range\): 64 bytes at offset 0 do not fit in 32 bytes/,
    );
    rejects(
      () => p.copyFromDevice(d, { stream: s, dstOffset: 40 }),
      RangeError,
      /copyFromDevice \(destination range\): 32 bytes at offset 40 do not fit in 64 bytes/,
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
      TypeError,
      /mode must be one of 'global', 'thread_local', 'relaxed', got "local"/,
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
    rejects(() => exec.launch(plainStream), TypeError, /stream must be a Stream/);
    rejects(() => exec.upload(forgedStream()), TypeError, /stream must be a Stream/);
    rejects(() => exec.update({} as Graph), TypeError, /graph must be a Graph/);
    expect(exec.update(g)).toEqual({ ok: false, reason: 'cudaGraphExecUpdate: topology changed' });
    g.dispose();
    rejects(() => exec.update(g), DisposedError, /graph \(Graph\) was used after dispose/);
    exec.dispose();
    rejects(() => exec.launch(s), DisposedError, /GraphExec was used after dispose/);
  });

  it('events check their arguments', () => {
    const e = Event.create();
    const t1 = Event.create({ timing: true });
    const t2 = Event.create({ timing: true });
    rejects(() => e.record(plainStream), TypeError, /stream must be a Stream/);
    rejects(
      () => e.elapsedMs(t1),
      TypeError,
      /elapsedMs\(\) needs two events created with Event.create\(\{ timing: true \}\)/,
    );
    rejects(() => t1.elapsedMs({} as Event), TypeError, /end must be an Event/);
    expect(t1.elapsedMs(t2)).toBe(1.5);
    const s = Stream.create();
    rejects(() => s.waitEvent({} as Event), TypeError, /event must be an Event/);
  });
});

describe('kernels', () => {
  it.each([
    ['a null pointer', () => kernels.fillInt32(0n, 1, 4, 0n), RangeError, /buf must be a bigint in \[1, 2\^64 - 1\]/],
    [
      'a misaligned pointer',
      () => kernels.fillInt32(0x1002n, 1, 4, 0n),
      RangeError,
      /buf must be 4-byte aligned, got 0x1002/,
    ],
    [
      'a non-int32 value',
      () => kernels.fillInt32(0x1000n, 2 ** 31, 4, 0n),
      RangeError,
      /value must be an integer in \[-2147483648, 2147483647\]/,
    ],
    ['a negative count', () => kernels.fillInt32(0x1000n, 1, -4, 0n), RangeError, /count must be an integer in \[0, /],
    [
      'a plain-object stream',
      () => kernels.fillInt32(0x1000n, 1, 4, plainStream),
      TypeError,
      /stream \(a Stream or a bigint handle\) must be a Stream/,
    ],
    [
      'a number stream',
      () => kernels.copyBytes(0x1000n, 0x2000n, 4, 0 as never),
      TypeError,
      /stream \(a Stream or a bigint handle\) must be a Stream/,
    ],
    [
      'a forged buffer',
      () => kernels.addFloat32(forgedBuffer(), 0x1000n, 0x1000n, 1, 0n),
      TypeError,
      /a \(a DeviceBuffer or a bigint pointer\) must be a DeviceBuffer/,
    ],
  ])('rejects %s', (_n, fn, type, message) => {
    rejects(fn, type, message);
  });

  it('checks counts against DeviceBuffer sizes', () => {
    const a = DeviceBuffer.alloc(16);
    rejects(() => kernels.fillInt32(a, 1, 5, 0n), RangeError, /buf holds 16 bytes but 5 int32 values needs 20/);
    rejects(
      () => kernels.addFloat32(a, a, a.view(4), 4, 0n),
      RangeError,
      /out holds 12 bytes but 4 float32 values needs 16/,
    );
    rejects(() => kernels.fillInt32(a.view(2), 1, 1, 0n), RangeError, /buf must be 4-byte aligned/);
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
    expect(err).toMatchObject({ code: 2, cudaName: 'cudaErrorMemoryAllocation', call: 'malloc', name: 'CudaError' });
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
