// Memory of loading a checkpoint: generates a Llama-shaped checkpoint of a few hundred MB on the
// fly, then reads every tensor (a) as fp32 with readFloat32, one at a time, and (b) as raw chunks
// with readChunksSync (what a device upload does), and reports the high-water mark of the JS heap
// plus ArrayBuffer memory above the baseline against the largest tensor and the checkpoint size.
// GC runs between tensors (not during one), so the high-water mark is what one read holds live.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openCheckpoint, writeTinyModel } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Full GC, then a turn of the event loop so freed ArrayBuffer memory is accounted as freed. */
async function settle(): Promise<void> {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB; // readFloat32's chunk (READ_CHUNK_BYTES)
const used = () => {
  const m = process.memoryUsage();
  if (process.env.DEBUG_MEMORY) console.log(m.heapUsed, m.arrayBuffers);
  return m.heapUsed + m.arrayBuffers;
};
const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

const dir = mkdtempSync(join(tmpdir(), 'flashgraph-bench-ckpt-'));
try {
  const t0 = performance.now();
  await writeTinyModel(dir, {
    architecture: 'LlamaForCausalLM',
    hiddenSize: 1024,
    numHeadsQ: 16,
    numHeadsKv: 4,
    intermediateSize: 4096,
    numLayers: 10,
    shards: 2,
  });
  const writeMs = performance.now() - t0;
  const ckpt = await openCheckpoint(dir);
  const tensors = [...ckpt.tensors.values()];
  const fileBytes = tensors.reduce((n, t) => n + t.byteLength, 0);
  const largest = tensors.reduce((a, t) => (t.byteLength > a.byteLength ? t : a));
  const largestF32 = (largest.byteLength / 2) * 4;
  const onDisk = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
    .map((f) => statSync(join(dir, f)).size)
    .reduce((a, b) => a + b, 0);

  // (a) readFloat32: the tensor's fp32 array plus one chunk buffer.
  await settle();
  const base = used();
  let peakF32 = 0;
  let checksum = 0;
  const t1 = performance.now();
  const readOne = async (name: string) => {
    const values = await ckpt.readFloat32(name);
    peakF32 = Math.max(peakF32, used() - base);
    return values[values.length - 1] ?? 0;
  };
  for (const t of tensors) {
    checksum += await readOne(t.name); // the previous tensor is unreachable before the next read
    await settle();
  }
  const f32Ms = performance.now() - t1;

  // (b) raw chunks, as a device upload streams them: one chunk buffer only.
  await settle();
  const base2 = used();
  let peakChunks = 0;
  const t2 = performance.now();
  for (const t of tensors) {
    ckpt.readChunksSync(t.name, CHUNK, (chunk) => {
      peakChunks = Math.max(peakChunks, used() - base2);
      checksum += chunk[0] ?? 0;
    });
    await settle();
  }
  const chunkMs = performance.now() - t2;
  await ckpt.close();

  const rows = [
    [
      'checkpoint (2 BF16 shards, 10 layers, hidden 1024)',
      fmt(onDisk),
      `${tensors.length} tensors, written in ${(writeMs / 1000).toFixed(1)} s`,
    ],
    ['largest tensor', fmt(largest.byteLength), `${largest.name}; ${fmt(largestF32)} as fp32`],
    [
      'readFloat32, every tensor: heap + ArrayBuffer high-water',
      fmt(peakF32),
      `bound: largest fp32 + chunk = ${fmt(largestF32 + CHUNK)}; ${(fileBytes / MiB / (f32Ms / 1000)).toFixed(0)} MiB/s`,
    ],
    [
      'readChunksSync (4 MiB chunks): high-water',
      fmt(peakChunks),
      `bound: one chunk = ${fmt(CHUNK)}; ${(fileBytes / MiB / (chunkMs / 1000)).toFixed(0)} MiB/s`,
    ],
  ];
  for (const [what, value, note] of rows) console.log(`${what!.padEnd(58)} ${value!.padStart(10)}   ${note}`);
  const ok = peakF32 <= largestF32 + CHUNK + 2 * MiB && peakChunks <= CHUNK + 2 * MiB;
  console.log(
    ok
      ? 'OK: loading holds at most one tensor plus one chunk'
      : 'FAIL: loading held more than one tensor plus one chunk',
  );
  if (!ok) process.exitCode = 1;
  void checksum;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
