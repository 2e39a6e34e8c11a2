// Graph capture on the device: capture, instantiate, 10,000 replays with exact results, pinned
// inputs/outputs refreshed between replays, upload, exec update (accepted and refused), a
// forbidden call during capture (clear CudaError, stream usable afterwards), graph memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CudaError,
  DeviceBuffer,
  deviceGraphMemory,
  deviceSynchronize,
  kernels,
  PinnedHostBuffer,
  Stream,
} from '@flashgraph/cuda';
import { assertSameBits, randomFloats, rng, skip } from './helpers.js';

test('capture, instantiate and replay 10,000 times with exact results', { skip }, () => {
  const next = rng('replay');
  const n = 4099;
  using s = Stream.create();
  using acc = DeviceBuffer.alloc(n * 4);
  using inc = DeviceBuffer.alloc(n * 4);
  using mirror = DeviceBuffer.alloc(n * 4);
  const x0 = randomFloats(next, n, 10);
  const d = randomFloats(next, n, 1);
  acc.write(x0);
  inc.write(d);
  mirror.fill(0);

  s.beginCapture();
  assert.equal(s.isCapturing(), true);
  kernels.addFloat32(acc, inc, acc, n, s);
  kernels.copyBytes(mirror, acc, n * 4, s);
  const graph = s.endCapture();
  assert.equal(s.isCapturing(), false);
  assert.equal(graph.nodeCount(), 2);
  // Capturing enqueues nothing: the buffers are untouched until the first launch.
  assertSameBits(acc.read(new Float32Array(n)), x0, 'capture does not run the work');

  using exec = graph.instantiate();
  graph.dispose(); // the executable graph is independent of the graph it came from
  exec.upload(s);
  const replays = 10_000;
  for (let i = 0; i < replays; i++) exec.launch(s);
  s.synchronize();

  const expected = Float32Array.from(x0);
  for (let i = 0; i < n; i++) {
    let v = expected[i] as number;
    const step = d[i] as number;
    for (let r = 0; r < replays; r++) v = Math.fround(v + step);
    expected[i] = v;
  }
  assertSameBits(acc.read(new Float32Array(n)), expected, 'accumulator after 10,000 replays');
  assertSameBits(mirror.read(new Float32Array(n)), expected, 'mirror after 10,000 replays');
});

test('replays read fresh pinned inputs and write pinned outputs', { skip }, () => {
  const next = rng('pinned replay');
  const n = 1000;
  using s = Stream.create({ nonBlocking: true });
  const input = PinnedHostBuffer.alloc(n * 4);
  const output = PinnedHostBuffer.alloc(n * 4);
  using devIn = DeviceBuffer.alloc(n * 4);
  using bias = DeviceBuffer.alloc(n * 4);
  using devOut = DeviceBuffer.alloc(n * 4);
  const b = randomFloats(next, n, 5);
  bias.write(b);
  try {
    s.beginCapture('global');
    input.copyToDevice(devIn, { stream: s });
    kernels.addFloat32(devIn, bias, devOut, n, s);
    output.copyFromDevice(devOut, { stream: s });
    using graph = s.endCapture();
    assert.equal(graph.nodeCount(), 3);
    using exec = graph.instantiate();
    for (let r = 0; r < 100; r++) {
      const x = randomFloats(next, n, 100);
      input.float32().set(x);
      output.bytes.fill(0xff);
      exec.launch(s);
      s.synchronize();
      assertSameBits(
        output.float32(),
        x.map((v, i) => Math.fround(v + (b[i] as number))),
        `replay ${r}`,
      );
    }
  } finally {
    input.dispose();
    output.dispose();
  }
});

test('update: same topology is applied in place, a changed topology is refused', { skip }, () => {
  const n = 777;
  using s = Stream.create();
  using buf = DeviceBuffer.alloc(n * 4);
  const captureFill = (value: number, twice = false) => {
    s.beginCapture();
    kernels.fillInt32(buf, value, n, s);
    if (twice) kernels.fillInt32(buf, value + 1, n, s);
    return s.endCapture();
  };
  using g7 = captureFill(7);
  using g9 = captureFill(9);
  using gTwo = captureFill(20, true);
  using exec = g7.instantiate();
  exec.launch(s);
  s.synchronize();
  assert.ok(buf.read(new Int32Array(n)).every((v) => v === 7));

  assert.deepEqual(exec.update(g9), { ok: true });
  exec.launch(s);
  s.synchronize();
  assert.ok(
    buf.read(new Int32Array(n)).every((v) => v === 9),
    'updated parameters are used',
  );

  const refused = exec.update(gTwo);
  assert.equal(refused.ok, false);
  assert.match(refused.reason ?? '', /topology/);
  buf.fill(0);
  exec.launch(s); // still the last good graph
  s.synchronize();
  assert.ok(
    buf.read(new Int32Array(n)).every((v) => v === 9),
    'a refused update leaves the exec as it was',
  );
});

test('a forbidden call during capture fails with a clear CudaError and the stream stays usable', { skip }, () => {
  const n = 256;
  using s = Stream.create();
  using buf = DeviceBuffer.alloc(n * 4);

  // 1. Synchronizing a capturing stream.
  s.beginCapture();
  kernels.fillInt32(buf, 1, n, s);
  assert.throws(
    () => s.synchronize(),
    (err: unknown) => {
      assert.ok(err instanceof CudaError, `got ${String(err)}`);
      assert.equal(err.cudaName, 'cudaErrorStreamCaptureUnsupported');
      assert.equal(err.call, 'cudaStreamSynchronize');
      assert.match(err.message, /^cudaErrorStreamCaptureUnsupported: cudaStreamSynchronize failed: .*usable again/);
      return true;
    },
  );
  assert.equal(s.isCapturing(), false);

  // 2. A synchronous copy from JS memory on the capturing stream.
  s.beginCapture('thread_local');
  assert.throws(
    () => buf.write(new Int32Array(n), { stream: s }),
    (err: unknown) => err instanceof CudaError && /capture/i.test(err.message),
  );
  assert.equal(s.isCapturing(), false);

  // 3. A device-wide synchronize during a global-mode capture (the stream is not even named).
  s.beginCapture('global');
  kernels.fillInt32(buf, 2, n, s);
  assert.throws(
    () => deviceSynchronize(),
    (err: unknown) => err instanceof CudaError && /usable again/.test(err.message),
  );
  assert.equal(s.isCapturing(), false);

  // The stream works eagerly...
  kernels.fillInt32(buf, 5, n, s);
  s.synchronize();
  assert.ok(buf.read(new Int32Array(n)).every((v) => v === 5));
  // ...and captures again.
  s.beginCapture();
  kernels.fillInt32(buf, 6, n, s);
  using g = s.endCapture();
  using exec = g.instantiate();
  exec.launch(s);
  s.synchronize();
  assert.ok(buf.read(new Int32Array(n)).every((v) => v === 6));
});

test('deviceGraphMemory reports graph allocator figures', { skip }, () => {
  const m = deviceGraphMemory();
  for (const key of ['usedBytes', 'highBytes', 'reservedBytes'] as const) {
    assert.ok(Number.isSafeInteger(m[key]) && m[key] >= 0, `${key} = ${m[key]}`);
  }
  assert.ok(m.highBytes >= m.usedBytes);
});
