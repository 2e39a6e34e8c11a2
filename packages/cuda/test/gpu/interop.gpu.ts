// The interop contract: a kernel from a second, separately built addon (flashgraph_interop_test.node,
// its own static cudart) runs on a Stream from @flashgraph/cuda, eagerly and inside a capture
// mixed with our own kernels, and the captured graph replays correctly.
// Build that addon with `pnpm --filter @flashgraph/cuda build:interop`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeviceBuffer, kernels, Stream } from '@flashgraph/cuda';
import { assertSameBits, randomFloats, rng, skip } from './helpers.js';

interface InteropAddon {
  scaleFloat32(ptr: bigint, n: number, factor: number, stream: bigint): void;
}

function loadInterop(): InteropAddon {
  const file = 'flashgraph_interop_test.node';
  const candidates = [
    process.env.FLASHGRAPH_NATIVE_DIR && join(process.env.FLASHGRAPH_NATIVE_DIR, file),
    join(process.cwd(), 'native/interop-test/build/Release', file),
    join(process.cwd(), '../../native/interop-test/build/Release', file),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `${file} not found (looked in ${candidates.join(', ')}): run \`pnpm --filter @flashgraph/cuda build:interop\` first`,
    );
  }
  return createRequire(import.meta.url)(found) as InteropAddon;
}

test('a second addon launches on our stream, eagerly and inside a captured graph', { skip }, () => {
  const interop = loadInterop();
  const next = rng('interop');
  const n = 10_007;
  using s = Stream.create({ nonBlocking: true });
  using buf = DeviceBuffer.alloc(n * 4);
  using one = DeviceBuffer.alloc(n * 4);
  one.write(new Float32Array(n).fill(1));
  const x = randomFloats(next, n, 3);

  // Eager: their kernel on our stream, ordered with ours.
  buf.write(x);
  interop.scaleFloat32(buf.ptr, n, 0.5, s.handle);
  kernels.addFloat32(buf, one, buf, n, s);
  s.synchronize();
  assertSameBits(
    buf.read(new Float32Array(n)),
    x.map((v) => Math.fround(Math.fround(v * 0.5) + 1)),
    'eager',
  );

  // Captured: their launch becomes a node of our graph.
  buf.write(x);
  s.beginCapture('global');
  interop.scaleFloat32(buf.ptr, n, 1.5, s.handle);
  kernels.addFloat32(buf, one, buf, n, s);
  using graph = s.endCapture();
  assert.equal(graph.nodeCount(), 2);
  using exec = graph.instantiate();
  const expected = Float32Array.from(x);
  for (let r = 0; r < 25; r++) {
    exec.launch(s);
    for (let i = 0; i < n; i++) expected[i] = Math.fround(Math.fround((expected[i] as number) * 1.5) + 1);
  }
  s.synchronize();
  assertSameBits(buf.read(new Float32Array(n)), expected, 'after 25 replays');
});
