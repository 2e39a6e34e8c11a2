// `flashgraph bench`: decode step time and tokens/s of the synthetic model per batch size and
// mode (eager, piecewise, full), capture time and graph memory; a table, --json, --chart out.svg.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type SyntheticDecoderOptions, syntheticDecoder } from '@flashgraph/engine';
import { type CliCommand, type CliIo, EXIT_OK } from '../command.js';
import { BENCH_MODES, type BenchMode, type DecodeBenchResult, runDecodeBench } from '../decode-bench.js';
import { renderBenchChart } from '../report/bench-chart.js';
import { captureProgressBar } from '../report/progress-bar.js';
import { fmt, formatBytes, formatTable } from '../report/table.js';
import {
  backendAndModel,
  cpuNotice,
  describeMachine,
  describeModel,
  parseChoiceList,
  parseCommandFlags,
  parseIntFlag,
  parseIntList,
} from './shared.js';

const OPTIONS = {
  'batch-sizes': { type: 'string' },
  modes: { type: 'string' },
  context: { type: 'string' },
  steps: { type: 'string' },
  'warmup-steps': { type: 'string' },
  layers: { type: 'string' },
  'heads-q': { type: 'string' },
  'heads-kv': { type: 'string' },
  'head-dim': { type: 'string' },
  'block-size': { type: 'string' },
  'max-num-batched-tokens': { type: 'string' },
  'max-num-splits': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  chart: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const BENCH_HELP = `Usage: flashgraph bench [options]

Decode step time and tokens/s of the synthetic decoder for each batch size and mode: eager (no
graphs), piecewise (graphs between eagerly run attention) and full (one graph per step with
ahead-of-time scheduled attention); capture time and graph memory. On a machine without a CUDA
GPU it runs on the CPU backend with a small model, and says so.

  --batch-sizes <list>           requests per decode step (default 1,8,32,128)
  --modes <list>                 eager,piecewise,full (default all three)
  --context <n>                  prompt tokens per request (default 1024 on CUDA, 32 on CPU)
  --steps <n>                    timed decode steps per batch size (default 20; 5 on CPU)
  --warmup-steps <n>             untimed decode steps first (default 3; 1 on CPU)
  --layers <n>                   model layers (default 32; 2 on CPU)
  --heads-q <n> --heads-kv <n>   attention heads (default 32 and 8; 4 and 2 on CPU)
  --head-dim <n>                 64, 128 or 256 (default 128; 64 on CPU)
  --block-size <n>               KV page size in tokens (default 16)
  --max-num-batched-tokens <n>   prefill chunk budget (default 2048; 1024 on CPU)
  --max-num-splits <n>           split-KV bound of full graphs (default 32)
  --seed <n>                     prompt tokens seed (default 1)
  --backend <auto|cuda|cpu>      default auto
  --json                         print the results as JSON instead of the table
  --chart <file.svg>             also write an SVG chart of the results
  -h, --help                     show this help`;

export interface BenchReport extends DecodeBenchResult {
  tool: 'flashgraph bench';
  date: string;
  machine: string;
  model: SyntheticDecoderOptions;
  context: number;
  steps: number;
  notice?: string;
}

export function formatBench(r: BenchReport): string {
  const eager = new Map(r.rows.filter((x) => x.mode === 'eager').map((x) => [x.batchSize, x.stepMs.p50]));
  const table = formatTable(r.rows, [
    { header: 'batch', value: (x) => String(x.batchSize) },
    { header: 'mode', value: (x) => x.mode, align: 'left' },
    { header: 'ran as', value: (x) => x.ranAs, align: 'left' },
    { header: 'step p50 ms', value: (x) => fmt(x.stepMs.p50, 3) },
    { header: 'p90 ms', value: (x) => fmt(x.stepMs.p90, 3) },
    { header: 'tokens/s', value: (x) => fmt(x.tokensPerSecond, 0) },
    {
      header: 'vs eager',
      value: (x) => (eager.has(x.batchSize) ? `${fmt((eager.get(x.batchSize) as number) / x.stepMs.p50, 2)}x` : '-'),
    },
    { header: 'capture ms', value: (x) => (x.mode === 'eager' ? '-' : fmt(x.captureMs, 1)) },
  ]);
  const lines = [
    `flashgraph bench: ${describeModel(r.model)}, context ${r.context} tokens, ${r.steps} timed decode steps`,
    r.backend === 'cpu' ? `backend: ${r.machine}, ${r.date}` : `backend: CUDA on ${r.machine}, ${r.date}`,
  ];
  if (r.notice) lines.push(r.notice);
  lines.push('', table, '');
  for (const m of r.modes) {
    if (m.mode === 'eager') continue;
    const memory =
      r.backend === 'cpu'
        ? 'no device graph memory on the CPU backend'
        : `graph memory ${formatBytes(m.graphMemoryBytes)}`;
    lines.push(`${m.mode}: captured ${m.graphs} graphs in ${fmt(m.captureMs, 1)} ms, ${memory}`);
  }
  return lines.join('\n');
}

export function benchChart(r: BenchReport): string {
  const modes = BENCH_MODES.filter((m) => r.modes.some((x) => x.mode === m));
  const batchSizes = [...new Set(r.rows.map((x) => x.batchSize))].sort((a, b) => a - b);
  const stepMs: Record<string, number[]> = {};
  for (const m of modes)
    stepMs[m] = batchSizes.map((b) => r.rows.find((x) => x.mode === m && x.batchSize === b)?.stepMs.p50 ?? Number.NaN);
  return renderBenchChart({
    title: `flashgraph bench: decode step of the ${r.model.numLayers}-layer synthetic decoder${r.backend === 'cpu' ? ' (CPU backend, not GPU numbers)' : ''}`,
    subtitle: `${describeModel(r.model)}, context ${r.context}; ${r.machine}; ${r.date}`,
    batchSizes,
    modes,
    stepMs,
  });
}

export const benchCommand: CliCommand = {
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const values = parseCommandFlags(argv, OPTIONS, BENCH_HELP, io);
    if (!values) return EXIT_OK;
    const s = (k: string) => values[k] as string | undefined;
    const { request, planned, gpu, modelOptions } = backendAndModel(values);
    const batchSizes = parseIntList('batch-sizes', s('batch-sizes'), [1, 8, 32, 128], 1, 4096);
    const modes = parseChoiceList<BenchMode>('modes', s('modes'), BENCH_MODES, BENCH_MODES);
    const context = parseIntFlag('context', s('context'), gpu ? 1024 : 32, 1, 1 << 20);
    const steps = parseIntFlag('steps', s('steps'), gpu ? 20 : 5, 1, 100000);
    const warmupSteps = parseIntFlag('warmup-steps', s('warmup-steps'), gpu ? 3 : 1, 0, 1000);
    const blockSize = parseIntFlag('block-size', s('block-size'), 16, 16, 4096);
    const maxNumBatchedTokens = parseIntFlag(
      'max-num-batched-tokens',
      s('max-num-batched-tokens'),
      gpu ? 2048 : 1024,
      1,
      1 << 20,
    );
    const maxNumSplits = parseIntFlag('max-num-splits', s('max-num-splits'), 32, 1, 256);
    const seed = parseIntFlag('seed', s('seed'), 1, 0);
    const chart = s('chart');
    const model = syntheticDecoder(modelOptions);

    const benchOptions = {
      model,
      backend: request,
      batchSizes,
      modes,
      context,
      steps,
      warmupSteps,
      blockSize,
      maxNumBatchedTokens,
      maxNumSplits,
      seed,
    };
    // On the CPU backend the first configurations would otherwise time V8's JIT warming up the
    // reference kernels (eager at batch 1 looked 10-30x slower than graphs): one untimed pass first.
    if (planned.kind === 'cpu') await runDecodeBench({ ...benchOptions, steps: 1, warmupSteps: 1 });
    const result = await runDecodeBench({ ...benchOptions, onProgress: (mode) => captureProgressBar(`${mode}:`) });
    const report: BenchReport = {
      tool: 'flashgraph bench',
      date: new Date().toISOString().slice(0, 10),
      machine: describeMachine(result.backend),
      model: modelOptions,
      context,
      steps,
      ...result,
      ...(result.backend === 'cpu' ? { notice: cpuNotice(planned.why) } : {}),
    };
    io.stdout(values.json ? JSON.stringify(report, null, 2) : formatBench(report));
    if (chart) {
      const path = resolve(io.cwd, chart);
      writeFileSync(path, benchChart(report));
      io.stderr(`chart written to ${path}`);
    }
    return EXIT_OK;
  },
};
