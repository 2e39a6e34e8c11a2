// Runtime costs from JavaScript: an empty-kernel launch (raw binding and public API), a graph
// launch, a 1 KiB async write (pinned) and a 1 KiB synchronous write, plus device-to-device copy
// bandwidth (bytes read + written), the ceiling the attention kernels are measured against.
// Medians of many batches. Prints a table and one JSON line.
import { cudaStatus, DeviceBuffer, Event, kernels, PinnedHostBuffer, Stream } from '@flashgraph/cuda';
import { loadNative } from '../src/native.js';

const status = cudaStatus();
if (!status.available) {
  console.log(`skipped: no CUDA device (${status.reason})`);
  process.exit(0);
}
const native = loadNative().addon;
if (!native) throw new Error('flashgraph_cuda.node did not load');
const device = status.devices[0];
console.log(
  `device: ${device?.name} (sm ${device?.computeCapability}, ${device?.multiProcessorCount} SMs), CUDA runtime ${status.runtimeVersion}, driver ${status.driverVersion}`,
);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Median host time per call (µs) of `op`, over `batches` batches of `perBatch` calls; the stream drains between batches. */
function perCallMicros(stream: Stream, op: () => void, batches = 200, perBatch = 200): number {
  for (let i = 0; i < perBatch; i++) op(); // warm-up
  stream.synchronize();
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) op();
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / 1000 / perBatch);
    stream.synchronize();
  }
  return median(samples);
}

const rows: { name: string; value: number; unit: string }[] = [];
using stream = Stream.create({ nonBlocking: true });
using small = DeviceBuffer.alloc(4096);

rows.push({
  name: 'empty kernel launch (binding)',
  value: perCallMicros(stream, () => native.launchEmpty(stream.handle)),
  unit: 'us',
});
rows.push({
  name: 'kernels.fillInt32 launch (public API)',
  value: perCallMicros(stream, () => kernels.fillInt32(small, 0, 1, stream)),
  unit: 'us',
});

stream.beginCapture();
native.launchEmpty(stream.handle);
const graph1 = stream.endCapture();
using exec1 = graph1.instantiate();
graph1.dispose();
exec1.upload(stream);
rows.push({
  name: 'graph launch (1 empty kernel)',
  value: perCallMicros(stream, () => exec1.launch(stream)),
  unit: 'us',
});

stream.beginCapture();
for (let i = 0; i < 64; i++) native.launchEmpty(stream.handle);
const graph64 = stream.endCapture();
using exec64 = graph64.instantiate();
graph64.dispose();
exec64.upload(stream);
rows.push({
  name: 'graph launch (64 empty kernels)',
  value: perCallMicros(stream, () => exec64.launch(stream), 100, 50),
  unit: 'us',
});

const pinned = PinnedHostBuffer.alloc(1024);
pinned.bytes.fill(1);
rows.push({
  name: '1 KiB async write (pinned copyToDevice)',
  value: perCallMicros(stream, () => pinned.copyToDevice(small, { stream })),
  unit: 'us',
});
const jsBytes = new Uint8Array(1024);
rows.push({
  name: '1 KiB write from JS memory (sync)',
  value: perCallMicros(stream, () => small.write(jsBytes, { stream }), 100, 50),
  unit: 'us',
});
pinned.dispose();

// Device-to-device copy bandwidth: bytes read + bytes written per second.
const copyBytes = Math.min(1 << 30, Math.floor((device?.totalMemory ?? 2 ** 31) / 8 / 4096) * 4096);
{
  using a = DeviceBuffer.alloc(copyBytes);
  using b = DeviceBuffer.alloc(copyBytes);
  a.fill(3, { stream });
  using start = Event.create({ timing: true });
  using end = Event.create({ timing: true });
  const gbps: number[] = [];
  for (let r = 0; r < 23; r++) {
    start.record(stream);
    b.copyFrom(a, { stream });
    end.record(stream);
    end.synchronize();
    if (r >= 3) gbps.push((2 * copyBytes) / (start.elapsedMs(end) / 1000) / 1e9);
  }
  rows.push({
    name: `device-to-device copy ${(copyBytes / 2 ** 20).toFixed(0)} MiB (read + write)`,
    value: median(gbps),
    unit: 'GB/s',
  });
}

const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${'measure'.padEnd(width)}  median`);
for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.value.toFixed(r.unit === 'GB/s' ? 1 : 3)} ${r.unit}`);
console.log(
  JSON.stringify({
    bench: 'cuda-runtime',
    device: device?.name,
    runtimeVersion: status.runtimeVersion,
    driverVersion: status.driverVersion,
    results: Object.fromEntries(rows.map((r) => [r.name, { value: Number(r.value.toFixed(4)), unit: r.unit }])),
  }),
);
