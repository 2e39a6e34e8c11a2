// `pnpm bench` / device benchmark: `flashgraph bench` with its defaults (32 layers, Llama-8B-like
// attention, batch 1/8/32/128, eager vs piecewise vs full). Prints the table, writes the chart to
// $OUT/engine-bench.svg when $OUT is set, and ends with one JSON line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cudaStatus } from '@flashgraph/cuda';
import { syntheticDecoder } from '@flashgraph/engine';
import { BENCH_SCHEMA_VERSION, type BenchReport, benchChart, formatBench } from '../src/commands/bench.js';
import { describeMachine } from '../src/commands/shared.js';
import { runDecodeBench } from '../src/decode-bench.js';

const status = cudaStatus();
if (!status.available) {
  console.log(`skipped: no CUDA device (${status.reason})`);
  process.exit(0);
}
const modelOptions = { numLayers: 32, numHeadsQ: 32, numHeadsKv: 8, headDim: 128, vocabSize: 32000 };
const context = 1024;
const steps = 20;
const result = await runDecodeBench({
  model: syntheticDecoder(modelOptions),
  backend: 'cuda',
  batchSizes: [1, 8, 32, 128],
  modes: ['eager', 'piecewise', 'full'],
  context,
  steps,
  warmupSteps: 3,
  blockSize: 16,
  maxNumBatchedTokens: 2048,
  maxNumSplits: 32,
  seed: 1,
});
const report: BenchReport = {
  schemaVersion: BENCH_SCHEMA_VERSION,
  tool: 'flashgraph bench',
  date: new Date().toISOString().slice(0, 10),
  machine: describeMachine('cuda'),
  model: modelOptions,
  context,
  steps,
  kvCacheDtype: 'auto',
  ...result,
};
console.log(formatBench(report));
if (process.env.OUT) writeFileSync(join(process.env.OUT, 'engine-bench.svg'), benchChart(report));
console.log(JSON.stringify(report));
