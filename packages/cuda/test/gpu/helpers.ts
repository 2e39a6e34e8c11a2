// Shared by the GPU suites (bundled into each): skip reason, seeded random inputs, exact checks.
import assert from 'node:assert/strict';
import { cudaStatus } from '@flashgraph/cuda';

const status = cudaStatus();
/** `false` when a device is there, else the reason (node:test prints it for skipped tests). */
export const skip: false | string = status.available ? false : `no CUDA device: ${status.reason}`;
export const deviceName = status.devices[0]?.name ?? 'none';

/** A seeded PRNG (mulberry32); the seed is fresh each run and printed so a failure can be replayed. */
export function rng(label: string): () => number {
  let seed = (Number(process.env.FLASHGRAPH_SEED) || Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;
  console.log(`# ${label}: seed ${seed} (set FLASHGRAPH_SEED to replay)`);
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(next: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}

export function randomFloats(next: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

/** Element-wise exact equality (bit patterns for floats), reporting the first mismatch. */
export function assertSameBits(actual: ArrayBufferView, expected: ArrayBufferView, what: string): void {
  assert.equal(actual.byteLength, expected.byteLength, `${what}: byte length`);
  const a = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      const width =
        'BYTES_PER_ELEMENT' in actual ? (actual as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
      const index = Math.floor(i / width);
      const show = (v: ArrayBufferView) =>
        ArrayBuffer.isView(v) && 'length' in v ? String((v as unknown as ArrayLike<number>)[index]) : '?';
      assert.fail(
        `${what}: first mismatch at element ${index} (byte ${i}): got ${show(actual)}, expected ${show(expected)}`,
      );
    }
  }
}
