// Waiting for the GPU off the event loop (issue 18): while synchronizeAsync(), the async copies
// and deviceSynchronizeAsync() wait, a 1 ms timer keeps firing; the blocking forms starve it.
// Also: async copies are exact, a handle disposed during a wait is destroyed after it, and a wait
// that a capture forbids rejects with CudaError and leaves the stream usable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CudaError,
  DeviceBuffer,
  deviceSynchronizeAsync,
  Event,
  kernels,
  memGetInfo,
  type Stream,
  Stream as StreamClass,
} from '@flashgraph/cuda';
import { randomBytes, rng, skip } from './helpers.js';

const HALF = 256 << 20; // two 256 MiB halves of one buffer: each copyBytes launch moves 256 MiB

/** Enqueues `launches` device copies on `stream`: GPU work that keeps it busy for a while. */
function busy(stream: Stream, buffer: DeviceBuffer, launches: number): void {
  for (let i = 0; i < launches; i++) kernels.copyBytes(buffer.view(HALF, HALF), buffer.view(0, HALF), HALF, stream);
}

/** How many launches keep the GPU busy for at least `ms` milliseconds (measured, doubling). */
function calibrate(stream: Stream, buffer: DeviceBuffer, ms: number): number {
  let launches = 4;
  for (;;) {
    const started = performance.now();
    busy(stream, buffer, launches);
    stream.synchronize();
    const took = performance.now() - started;
    if (took >= ms || launches >= 1 << 14) return launches;
    launches = Math.max(launches * 2, Math.ceil((launches * ms * 1.2) / Math.max(took, 1)));
  }
}

/** Runs `wait` while a 1 ms interval counts its ticks; returns the ticks and the wall time. */
async function ticksDuring(wait: () => Promise<unknown> | unknown): Promise<{ ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = performance.now();
  try {
    await wait();
  } finally {
    clearInterval(timer);
  }
  return { ticks, ms: performance.now() - started };
}

test('a timer keeps firing while synchronizeAsync() waits; synchronize() starves it', { skip }, async () => {
  using stream = StreamClass.create();
  using buffer = DeviceBuffer.alloc(2 * HALF);
  const launches = calibrate(stream, buffer, 300);
  busy(stream, buffer, launches);
  const blocking = await ticksDuring(() => stream.synchronize());
  busy(stream, buffer, launches);
  const awaited = await ticksDuring(() => stream.synchronizeAsync());
  console.log(
    `# ${launches} launches: synchronize() ${blocking.ms.toFixed(0)} ms, ${blocking.ticks} ticks; ` +
      `synchronizeAsync() ${awaited.ms.toFixed(0)} ms, ${awaited.ticks} ticks`,
  );
  assert.ok(awaited.ms >= 150, `the GPU work should take a while, took ${awaited.ms} ms`);
  assert.equal(blocking.ticks, 0, 'the blocking wait lets no timer run');
  assert.ok(awaited.ticks >= awaited.ms / 10, `only ${awaited.ticks} ticks in ${awaited.ms} ms`);
  assert.equal(stream.query(), true);
});

test('event.synchronizeAsync() and deviceSynchronizeAsync() let timers run too', { skip }, async () => {
  using stream = StreamClass.create();
  using buffer = DeviceBuffer.alloc(2 * HALF);
  using done = Event.create();
  const launches = calibrate(stream, buffer, 200);
  busy(stream, buffer, launches);
  done.record(stream);
  const onEvent = await ticksDuring(() => done.synchronizeAsync());
  busy(stream, buffer, launches);
  const onDevice = await ticksDuring(() => deviceSynchronizeAsync());
  console.log(
    `# event: ${onEvent.ms.toFixed(0)} ms, ${onEvent.ticks} ticks; device: ${onDevice.ms.toFixed(0)} ms, ${onDevice.ticks} ticks`,
  );
  for (const r of [onEvent, onDevice]) assert.ok(r.ms >= 100 && r.ticks >= r.ms / 10, JSON.stringify(r));
  assert.equal(done.query(), true);
});

test('writeAsync() / readAsync() copy exactly, at offsets and on a stream, while timers run', { skip }, async () => {
  const next = rng('async copies');
  using stream = StreamClass.create();
  const bytes = 192 << 20;
  using buffer = DeviceBuffer.alloc(bytes + 4096);
  const src = randomBytes(next, bytes);
  const write = await ticksDuring(() => buffer.writeAsync(src, { offset: 4096, stream }));
  const dst = new Uint8Array(bytes);
  const read = await ticksDuring(() => buffer.readAsync(dst, { offset: 4096 }));
  console.log(
    `# 192 MiB: writeAsync ${write.ms.toFixed(0)} ms (${write.ticks} ticks), readAsync ${read.ms.toFixed(0)} ms (${read.ticks} ticks)`,
  );
  assert.ok(Buffer.from(dst.buffer).equals(Buffer.from(src.buffer)), 'read back what was written');
  assert.ok(write.ticks + read.ticks > 0, 'a timer fired during the copies');
  // A typed view at an odd offset and a DataView work too.
  const floats = new Float32Array([1.5, -2, 3.25]);
  await buffer.writeAsync(floats, { offset: 8 });
  const back = new DataView(new ArrayBuffer(12));
  await buffer.readAsync(back, { offset: 8 });
  assert.deepEqual([back.getFloat32(0, true), back.getFloat32(4, true), back.getFloat32(8, true)], [1.5, -2, 3.25]);
});

test('a stream, event or buffer disposed during a wait is destroyed after it', { skip }, async () => {
  const stream = StreamClass.create();
  const event = Event.create();
  const big = DeviceBuffer.alloc(2 * HALF);
  const launches = calibrate(stream, big, 100);
  busy(stream, big, launches);
  event.record(stream);
  const waits = [stream.synchronizeAsync(), event.synchronizeAsync()];
  stream.dispose();
  event.dispose();
  assert.throws(() => stream.query(), { code: 'disposed' });
  await Promise.all(waits); // the handles lived until the waits ended
  const freeBefore = memGetInfo().freeBytes;
  const data = DeviceBuffer.alloc(HALF);
  data.fill(7);
  const out = new Uint8Array(HALF);
  const reading = data.readAsync(out);
  data.dispose(); // freed when the copy ends
  await reading;
  assert.equal(out[0], 7);
  assert.equal(out[HALF - 1], 7);
  assert.ok(memGetInfo().freeBytes >= freeBefore - (64 << 20), 'the buffer was freed after the copy');
  big.dispose();
});

test('synchronizeAsync() during a capture rejects with CudaError and the stream stays usable', { skip }, async () => {
  using stream = StreamClass.create();
  using buffer = DeviceBuffer.alloc(1024);
  stream.beginCapture('thread_local');
  kernels.fillInt32(buffer, 1, 256, stream);
  await assert.rejects(stream.synchronizeAsync(), (error: unknown) => {
    assert.ok(error instanceof CudaError, String(error));
    assert.equal(error.code, 'cuda_error');
    assert.match(error.cudaName, /^cudaErrorStreamCapture/);
    return true;
  });
  assert.equal(stream.isCapturing(), false, 'the broken capture was ended');
  kernels.fillInt32(buffer, 5, 256, stream);
  await stream.synchronizeAsync();
  const out = await buffer.readAsync(new Int32Array(256));
  assert.equal(out[255], 5);
});
