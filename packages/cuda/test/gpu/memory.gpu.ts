// DeviceBuffer and PinnedHostBuffer on the device: round trips at odd sizes and offsets, fills,
// device copies, views, pinned async copies, the tiny kernels, and 10,000 alloc/dispose cycles
// that must leave memGetInfo where it started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DeviceBuffer,
  DisposedError,
  deviceSynchronize,
  kernels,
  memGetInfo,
  PinnedHostBuffer,
  Stream,
} from '@flashgraph/cuda';
import { assertSameBits, randomBytes, randomFloats, rng, skip } from './helpers.js';

const POISON = 0xa5;

test('write/read round trips at odd sizes and offsets, with and without a stream', { skip }, () => {
  const next = rng('round trips');
  using stream = Stream.create();
  for (const size of [1, 3, 7, 255, 4097, 65537, (1 << 20) + 13]) {
    for (const offset of [0, 1, 5, 37]) {
      for (const s of [undefined, stream]) {
        using buf = DeviceBuffer.alloc(size + offset + 11);
        buf.fill(POISON, s ? { stream: s } : undefined);
        const data = randomBytes(next, size);
        buf.write(data, { offset, stream: s });
        const whole = buf.read(new Uint8Array(buf.byteLength), { stream: s });
        const expected = new Uint8Array(buf.byteLength).fill(POISON);
        expected.set(data, offset);
        assertSameBits(whole, expected, `size ${size} offset ${offset} stream ${s ? 'yes' : 'no'}`);
        const part = buf.read(new Uint8Array(size), { offset, stream: s });
        assertSameBits(part, data, `read back size ${size} offset ${offset}`);
      }
    }
  }
});

test('typed arrays of every kind and DataViews cross intact', { skip }, () => {
  const next = rng('typed arrays');
  using buf = DeviceBuffer.alloc(4096);
  const kinds = [
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ];
  for (const Kind of kinds) {
    const bytes = randomBytes(next, 8 * 37);
    const src = new Kind(bytes.buffer as ArrayBuffer, 8, 30);
    buf.write(src, { offset: 3 });
    const dst = buf.read(new Kind(30), { offset: 3 });
    assertSameBits(dst, src, Kind.name);
  }
  const dv = new DataView(randomBytes(next, 64).buffer, 7, 50);
  buf.write(dv, { offset: 1001 });
  assertSameBits(buf.read(new DataView(new ArrayBuffer(50)), { offset: 1001 }), dv, 'DataView');
});

test('fill with ranges, copyFrom with offsets, and views share memory', { skip }, () => {
  const next = rng('fill/copy/views');
  using stream = Stream.create();
  using a = DeviceBuffer.alloc(5000);
  using b = DeviceBuffer.alloc(3001);
  const data = randomBytes(next, 5000);
  a.write(data);
  b.fill(POISON);
  b.fill(0x11, { offset: 2990, byteLength: 11, stream });
  b.copyFrom(a, { srcOffset: 3, dstOffset: 11, byteLength: 1001, stream });
  stream.synchronize();
  const expected = new Uint8Array(3001).fill(POISON);
  expected.fill(0x11, 2990);
  expected.set(data.subarray(3, 1004), 11);
  assertSameBits(b.read(new Uint8Array(3001)), expected, 'copyFrom + fill');

  const v = a.view(1000, 2000);
  assert.equal(v.ptr, a.ptr + 1000n);
  assertSameBits(v.read(new Uint8Array(2000)), data.subarray(1000, 3000), 'view reads the owner');
  v.write(new Uint8Array(16).fill(7), { offset: 1 });
  const seen = a.read(new Uint8Array(16), { offset: 1001 });
  assertSameBits(seen, new Uint8Array(16).fill(7), 'owner sees the view write');
  v.dispose();
  assert.equal(a.read(new Uint8Array(1), { offset: 1001 })[0], 7, 'disposing a view frees nothing');
});

test('pinned buffers copy asynchronously in both directions and detach on dispose', { skip }, () => {
  const next = rng('pinned');
  using stream = Stream.create({ nonBlocking: true });
  const n = (1 << 16) + 3;
  const pin = PinnedHostBuffer.alloc(n);
  const out = PinnedHostBuffer.alloc(n + 8);
  using dev = DeviceBuffer.alloc(n + 5);
  pin.bytes.set(randomBytes(next, n));
  out.bytes.fill(POISON);
  dev.fill(0);
  pin.copyToDevice(dev, { stream, srcOffset: 1, dstOffset: 3, byteLength: n - 1 });
  out.copyFromDevice(dev, { stream, srcOffset: 3, dstOffset: 8, byteLength: n - 1 });
  stream.synchronize();
  assertSameBits(out.bytes.subarray(8, 8 + n - 1), pin.bytes.subarray(1), 'pinned -> device -> pinned');
  assert.equal(out.bytes[7], POISON);
  const f = pin.float32(4, 10);
  assert.equal(f.length, 10);
  pin.dispose();
  assert.equal(f.length, 0, 'views over freed pinned memory are detached');
  assert.throws(() => pin.bytes, DisposedError);
  out.dispose();
});

test('tiny kernels match the CPU', { skip }, () => {
  const next = rng('kernels');
  using stream = Stream.create();
  const n = 100_003;
  using a = DeviceBuffer.alloc(n * 4);
  using b = DeviceBuffer.alloc(n * 4);
  using out = DeviceBuffer.alloc(n * 4);
  const x = randomFloats(next, n, 1000);
  const y = randomFloats(next, n, 1);
  a.write(x);
  b.write(y);
  out.fill(0xff);
  kernels.addFloat32(a, b, out, n, stream);
  stream.synchronize();
  const expected = x.map((v, i) => Math.fround(v + (y[i] as number)));
  assertSameBits(out.read(new Float32Array(n)), expected, 'addFloat32');

  kernels.fillInt32(out.view(8), -123456, n - 2, stream.handle); // bigint stream form
  kernels.copyBytes(b.ptr + 1n, out.ptr + 8n, 4 * (n - 2) - 1, stream);
  stream.synchronize();
  const ints = out.read(new Int32Array(n));
  assert.ok(ints.subarray(2).every((v) => v === -123456));
  const copied = b.read(new Uint8Array(4 * n));
  const filled = new Uint8Array(new Int32Array(n - 2).fill(-123456).buffer);
  assertSameBits(copied.subarray(1, 4 * (n - 2)), filled.subarray(0, 4 * (n - 2) - 1), 'copyBytes');
});

test('10,000 alloc/dispose cycles leave memGetInfo where it started', { skip }, () => {
  deviceSynchronize();
  const before = memGetInfo();
  assert.ok(before.totalBytes > 0 && before.freeBytes <= before.totalBytes);
  for (let i = 0; i < 10_000; i++) {
    const size = (1 << 20) + (i % 13) * 4096 + (i % 3);
    const buf = DeviceBuffer.alloc(size);
    if (i % 1000 === 0) buf.fill(i & 0xff);
    const view = buf.view(1, 100);
    buf.dispose();
    assert.throws(() => view.ptr, DisposedError);
  }
  deviceSynchronize();
  const after = memGetInfo();
  const slack = 2 * 1024 * 1024; // driver bookkeeping granularity
  assert.ok(
    after.freeBytes >= before.freeBytes - slack,
    `free memory went from ${before.freeBytes} to ${after.freeBytes} bytes after 10,000 alloc/dispose cycles`,
  );
});
