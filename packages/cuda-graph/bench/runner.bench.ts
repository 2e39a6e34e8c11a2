// Benchmark of @flashgraph/cuda-graph on a 32-layer step of small kernels:
// - capture time of all default sizes (256 sequences: 51 sizes) in modes full and full_and_piecewise;
// - host time per run() (median, p99) for a full replay and a piecewise replay;
// - step time of eager vs piecewise vs full at batch 1, 8 and 64.
// Prints a table and one JSON line; without a CUDA device it says so and exits 0.
import { type GraphMode, resolveGraphConfig } from '@flashgraph/config';
import { cudaStatus, DeviceBuffer, kernels, Stream } from '@flashgraph/cuda';
import { createGraphRunner, type GraphRunner, type SegmentedStep, type StepContext } from '@flashgraph/cuda-graph';

const status = cudaStatus();
if (!status.available) {
  console.log(`skipped: no CUDA device (${status.reason ?? 'unavailable'})`);
  console.log(JSON.stringify({ bench: 'cuda-graph/runner', skipped: true, reason: status.reason ?? 'no CUDA device' }));
  process.exit(0);
}

const LAYERS = 32;
const HIDDEN = 256; // floats per token: small kernels, so launch overhead dominates as in decode
const MAX_NUM_SEQS = 256;
const CONTEXT = { maxNumSeqs: MAX_NUM_SEQS, maxNumBatchedTokens: 8192 };
const MAX_TOKENS = 512;

const stream = Stream.create();
const bytes = MAX_TOKENS * HIDDEN * 4;
const x = DeviceBuffer.alloc(bytes);
const h = DeviceBuffer.alloc(bytes);
const a = DeviceBuffer.alloc(bytes);
const weights = Array.from({ length: LAYERS }, () => DeviceBuffer.alloc(bytes));
for (const buf of [x, h, a, ...weights]) buf.fill(0, { stream });
stream.synchronize();

/** Per layer: an MLP-like graph segment (2 kernels) and an attention-like eager segment (1 kernel). */
function makeStep(): SegmentedStep {
  const segments: SegmentedStep['segments'][number][] = [];
  for (let l = 0; l < LAYERS; l++) {
    const w = weights[l]!;
    segments.push({
      kind: 'graph',
      run(ctx: StepContext) {
        const n = ctx.numTokens * HIDDEN;
        kernels.addFloat32(x, w, h, n, stream);
        kernels.addFloat32(h, a, x, n, stream);
      },
    });
    segments.push({
      kind: 'eager',
      run(ctx: StepContext) {
        kernels.copyBytes(a, h, ctx.numTokens * HIDDEN * 4, stream);
      },
    });
  }
  return { segments };
}
const step = makeStep();

function runner(mode: GraphMode): { runner: GraphRunner; captureMs: number; wallMs: number; graphs: number } {
  const config = resolveGraphConfig({ mode }, CONTEXT);
  const r = createGraphRunner({ config, stream, maxNumReqs: MAX_NUM_SEQS });
  const t0 = performance.now();
  const stats = r.capture(step);
  return { runner: r, captureMs: stats.captureMs, wallMs: performance.now() - t0, graphs: stats.graphs };
}

function median(values: number[]): number {
  const s = [...values].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)]!;
}
function percentile(values: number[], p: number): number {
  const s = [...values].sort((q, r) => q - r);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}

/** Host time of each run() call, synchronizing between chunks so the launch queue never fills. */
function hostTimes(r: GraphRunner, numTokens: number, calls: number): number[] {
  const batch = { numTokens, numReqs: numTokens, uniformDecode: true };
  for (let i = 0; i < 100; i++) r.run(batch);
  stream.synchronize();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    r.run(batch);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (i % 64 === 63) stream.synchronize();
  }
  stream.synchronize();
  return times;
}

/** Mean wall time of one step over `steps` back-to-back steps (what a decode loop sees). */
function stepTimeUs(run: () => void, steps: number): number {
  for (let i = 0; i < 20; i++) run();
  stream.synchronize();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) run();
  stream.synchronize();
  return ((performance.now() - t0) * 1000) / steps;
}

const full = runner('full');
const mixed = runner('full_and_piecewise');
const piecewise = runner('piecewise');

const fullHost = hostTimes(full.runner, 8, 20_000);
const piecewiseHost = hostTimes(piecewise.runner, 8, 5_000);

const batches = [1, 8, 64];
const stepRows = batches.map((n) => {
  const batch = { numTokens: n, numReqs: n, uniformDecode: true };
  const ctx = Object.freeze({
    stream,
    numTokens: n,
    numReqs: n,
    uniformDecode: true,
    phase: 'eager' as const,
    graph: 'eager' as const,
    decodeGraph: false,
  });
  const eagerUs = stepTimeUs(() => {
    for (const segment of step.segments) segment.run(ctx);
  }, 500);
  const piecewiseUs = stepTimeUs(() => piecewise.runner.run(batch), 500);
  const fullUs = stepTimeUs(() => full.runner.run(batch), 2000);
  return { batch: n, eagerUs, piecewiseUs, fullUs, fullSpeedup: eagerUs / fullUs };
});

const pad = (s: string | number, w: number) => String(s).padStart(w);
console.log(`step: ${LAYERS} layers x 3 kernels, hidden ${HIDDEN} floats/token`);
console.log('capture (default sizes for 256 sequences)');
for (const [name, c] of [
  ['full', full],
  ['full_and_piecewise', mixed],
  ['piecewise', piecewise],
] as const) {
  console.log(
    `  ${name.padEnd(20)} ${pad(c.graphs, 5)} graphs ${pad(c.captureMs.toFixed(1), 9)} ms (wall ${c.wallMs.toFixed(1)} ms)`,
  );
}
console.log('host time per run() at 8 tokens');
console.log(`  full       median ${median(fullHost).toFixed(2)} us  p99 ${percentile(fullHost, 0.99).toFixed(2)} us`);
console.log(
  `  piecewise  median ${median(piecewiseHost).toFixed(2)} us  p99 ${percentile(piecewiseHost, 0.99).toFixed(2)} us`,
);
console.log('step time (us)      eager  piecewise       full  full vs eager');
for (const row of stepRows) {
  console.log(
    `  batch ${pad(row.batch, 3)} ${pad(row.eagerUs.toFixed(1), 12)} ${pad(row.piecewiseUs.toFixed(1), 10)} ${pad(row.fullUs.toFixed(1), 10)} ${pad(row.fullSpeedup.toFixed(2), 13)}x`,
  );
}
console.log(
  JSON.stringify({
    bench: 'cuda-graph/runner',
    layers: LAYERS,
    hidden: HIDDEN,
    capture: {
      full: { graphs: full.graphs, ms: full.captureMs },
      full_and_piecewise: { graphs: mixed.graphs, ms: mixed.captureMs },
      piecewise: { graphs: piecewise.graphs, ms: piecewise.captureMs },
    },
    runHostUs: {
      full: { median: median(fullHost), p99: percentile(fullHost, 0.99) },
      piecewise: { median: median(piecewiseHost), p99: percentile(piecewiseHost, 0.99) },
    },
    stepUs: stepRows,
    targets: {
      captureAllSizesUnder1s: full.captureMs < 1000,
      runHostUnder10us: median(fullHost) < 10,
      fullAtLeast3xEagerAtBatch1: stepRows[0]!.fullSpeedup >= 3,
    },
  }),
);

for (const r of [full, mixed, piecewise]) r.runner.dispose();
for (const buf of [x, h, a, ...weights]) buf.dispose();
stream.dispose();
