// The async waits through the recording fake addon: what reaches the addon, that a handle
// disposed while a wait is in flight is destroyed (or freed) only when the wait ends, and that a
// wait that breaks a capture rejects with CudaError after the capture is repaired.
import { describe, expect, it, vi } from 'vitest';

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

import { CudaError, DeviceBuffer, deviceSynchronizeAsync, Event, Stream } from '../src/index.js';
import * as nativeModule from '../src/native.js';
import type { FakeNative } from './fake-native.js';

const fake = (nativeModule as unknown as { fake: FakeNative }).fake;
const names = () => fake.calls.map((c) => c.name);

describe('async waits', () => {
  it('hand the handle, device, pointer and bytes to the addon', async () => {
    const stream = Stream.create();
    const event = Event.create();
    const buffer = DeviceBuffer.alloc(64);
    fake.reset();
    await stream.synchronizeAsync();
    await event.synchronizeAsync();
    await deviceSynchronizeAsync(0);
    const src = new Float32Array([1, 2]);
    await buffer.writeAsync(src, { offset: 8, stream });
    const dst = new Uint8Array(16);
    expect(await buffer.readAsync(dst, { offset: 48 })).toBe(dst);
    expect(fake.calls.map((c) => [c.name, c.args.filter((a) => !(a instanceof Uint8Array))])).toEqual([
      ['streamSynchronizeAsync', [stream.handle]],
      ['eventSynchronizeAsync', [event.handle]],
      ['deviceSynchronizeAsync', [0]],
      ['memcpyHtoDAsync', [0, buffer.ptr + 8n, stream.handle]],
      ['memcpyDtoHAsync', [0, buffer.ptr + 48n, 0n]],
    ]);
    const bytes = fake.calls[3]?.args[2] as Uint8Array;
    expect([bytes.buffer, bytes.byteLength]).toEqual([src.buffer, 8]);
  });

  it('a stream disposed during synchronizeAsync() is destroyed when the wait ends', async () => {
    const stream = Stream.create();
    const hold = fake.holdNext('streamSynchronizeAsync');
    const wait = stream.synchronizeAsync();
    stream.dispose();
    expect(() => stream.query()).toThrow(expect.objectContaining({ code: 'disposed' }));
    expect(names()).not.toContain('streamDestroy');
    hold.release();
    await wait;
    expect(names().filter((n) => n === 'streamDestroy')).toHaveLength(1);
    stream.dispose(); // idempotent
    expect(names().filter((n) => n === 'streamDestroy')).toHaveLength(1);
  });

  it('an event disposed during synchronizeAsync() is destroyed when the wait ends', async () => {
    const event = Event.create();
    fake.reset();
    const hold = fake.holdNext('eventSynchronizeAsync');
    const wait = event.synchronizeAsync();
    event.dispose();
    expect(names()).toEqual(['eventSynchronizeAsync']);
    hold.release();
    await wait;
    expect(names()).toEqual(['eventSynchronizeAsync', 'eventDestroy']);
  });

  it('a buffer (or its owner) disposed during readAsync() is freed when the copy ends', async () => {
    const owner = DeviceBuffer.alloc(64);
    const view = owner.view(16, 16);
    const ptr = owner.ptr;
    fake.reset();
    const hold = fake.holdNext('memcpyDtoHAsync');
    const reading = view.readAsync(new Uint8Array(16));
    owner.dispose();
    expect(() => view.ptr).toThrow(expect.objectContaining({ code: 'disposed' }));
    expect(names()).toEqual(['memcpyDtoHAsync']);
    hold.release();
    await reading;
    expect(fake.calls.at(-1)).toEqual({ name: 'free', args: [0, ptr, 64] });
  });

  it('a wait that breaks a capture rejects with CudaError, and the capture is ended', async () => {
    const stream = Stream.create();
    stream.beginCapture('thread_local');
    fake.failNext('streamSynchronizeAsync', 'cudaErrorStreamCaptureUnsupported', 900);
    fake.captureStatus.set(stream.handle, 2);
    const error = await stream.synchronizeAsync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CudaError);
    expect(error).toMatchObject({ code: 'cuda_error', cudaName: 'cudaErrorStreamCaptureUnsupported' });
    expect((error as Error).message).toMatch(/invalidated the stream capture/);
    expect(stream.isCapturing()).toBe(false);
  });

  it('argument and lifetime errors reject (never throw synchronously)', async () => {
    const buffer = DeviceBuffer.alloc(8);
    const pending = buffer.readAsync(new Uint8Array(9));
    await expect(pending).rejects.toMatchObject({ code: 'out_of_range', path: 'dst' });
    const stream = Stream.create();
    stream.dispose();
    await expect(stream.synchronizeAsync()).rejects.toMatchObject({ code: 'disposed' });
    await expect(deviceSynchronizeAsync(-1)).rejects.toMatchObject({ code: 'out_of_range', path: 'device' });
  });
});
