// Streams and events on the device: in-order execution on one stream, cross-stream ordering
// through events, query/synchronize, timing, priorities, and wrapping foreign stream handles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceBuffer, Event, kernels, PinnedHostBuffer, Stream } from '@flashgraph/cuda';
import { skip } from './helpers.js';

const N = 1 << 24; // 64 MiB of int32: long enough that a missing dependency would show

test('work on one stream runs in order', { skip }, () => {
  using s = Stream.create();
  using buf = DeviceBuffer.alloc(N * 4);
  const out = PinnedHostBuffer.alloc(N * 4);
  try {
    for (let round = 0; round < 20; round++) {
      for (let v = 1; v <= 5; v++) kernels.fillInt32(buf, round * 10 + v, N, s);
      out.copyFromDevice(buf, { stream: s });
      s.synchronize();
      assert.equal(s.query(), true);
      const ints = out.int32();
      assert.ok(
        ints[0] === round * 10 + 5 && ints[N - 1] === round * 10 + 5,
        `round ${round}: got ${ints[0]}, ${ints[N - 1]}`,
      );
    }
  } finally {
    out.dispose();
  }
});

test('an event orders work across streams', { skip }, () => {
  using producer = Stream.create({ nonBlocking: true });
  using consumer = Stream.create({ nonBlocking: true });
  using src = DeviceBuffer.alloc(N * 4);
  using dst = DeviceBuffer.alloc(N * 4);
  using ready = Event.create();
  const out = PinnedHostBuffer.alloc(N * 4);
  try {
    for (let round = 1; round <= 10; round++) {
      for (let k = 0; k < 4; k++) kernels.fillInt32(src, round * 100 + k, N, producer); // keep the producer busy
      ready.record(producer);
      consumer.waitEvent(ready);
      kernels.copyBytes(dst, src, N * 4, consumer);
      out.copyFromDevice(dst, { stream: consumer });
      consumer.synchronize();
      const ints = out.int32();
      for (const i of [0, N >> 1, N - 1]) assert.equal(ints[i], round * 100 + 3, `round ${round}, element ${i}`);
      assert.equal(ready.query(), true);
    }
  } finally {
    out.dispose();
  }
});

test('timing events measure elapsed time', { skip }, () => {
  using s = Stream.create();
  using buf = DeviceBuffer.alloc(N * 4);
  using start = Event.create({ timing: true });
  using end = Event.create({ timing: true });
  start.record(s);
  for (let k = 0; k < 10; k++) kernels.fillInt32(buf, k, N, s);
  end.record(s);
  end.synchronize();
  assert.equal(end.query(), true);
  const ms = start.elapsedMs(end);
  assert.ok(ms > 0 && ms < 10_000, `elapsed ${ms} ms`);
});

test('priorities, non-blocking streams and wrapped handles', { skip }, () => {
  using high = Stream.create({ priority: -1, nonBlocking: true });
  const wrapped = Stream.fromHandle(high.handle);
  assert.equal(wrapped.device, high.device);
  using buf = DeviceBuffer.alloc(64);
  kernels.fillInt32(buf, 42, 16, wrapped);
  wrapped.synchronize();
  wrapped.dispose(); // not owned: the stream lives on
  kernels.fillInt32(buf, 43, 16, high);
  high.synchronize();
  assert.deepEqual([...buf.read(new Int32Array(16))], new Array(16).fill(43));

  const legacy = Stream.fromHandle(0n); // the legacy default stream
  kernels.fillInt32(buf, 44, 16, legacy);
  legacy.synchronize();
  assert.equal(buf.read(new Int32Array(1))[0], 44);
});
