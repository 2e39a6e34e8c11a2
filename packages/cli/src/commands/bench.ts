// `flashgraph bench`: decode step time and tokens/s of the synthetic model per batch size and
// mode (eager, piecewise, full), capture time and graph memory; a table, --json, --chart out.svg.
import { writeFileSync } from 'node:fs';
import type { BackendKind, SyntheticDecoderOptions } from '@flashgraph/engine';
import { formatBytes } from '@flashgraph/errors';
import { type CliCommand, type CliIo, EXIT_OK, UsageError } from '../command.js';
import {
  BENCH_MODES,
  type BenchMode,
  checkDecodeBenchSizes,
  type DecodeBenchPhase,
  type DecodeBenchResult,
  type DecodeBenchRow,
  runDecodeBench,
} from '../decode-bench.js';
import { renderBenchChart } from '../report/bench-chart.js';
import { engineProgress, progressBar, progressLine } from '../report/progress-line.js';
import { type Column, fmt, tableStream } from '../report/table.js';
import {
  backendAndModel,
  cpuNotice,
  describeMachine,
  describeModel,
  engineOptionsFromFlags,
  outputFileFlag,
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
  'kv-cache-dtype': { type: 'string' },
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
GPU it runs on the CPU backend with a small model, and says so. Each row prints as soon as it is
measured; on a terminal a status line on stderr shows the phase (capture, warm-up, timing).

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
  --kv-cache-dtype <dtype>       auto (the model's dtype, default) or fp8_e4m3 (CUDA only)
  --seed <n>                     prompt tokens seed (default 1)
  --backend <auto|cuda|cpu>      default auto
  --json                         print the results as JSON instead of the table
  --chart <file.svg>             also write an SVG chart of the results
  -h, --help                     show this help`;

export interface BenchReport extends DecodeBenchResult {
  /** Bumped when a field changes meaning or goes away (new fields keep the version). */
  schemaVersion: typeof BENCH_SCHEMA_VERSION;
  tool: 'flashgraph bench';
  date: string;
  machine: string;
  model: SyntheticDecoderOptions;
  context: number;
  steps: number;
  /** The KV cache's element type (`auto`: the model's dtype). */
  kvCacheDtype: 'auto' | 'fp8_e4m3';
  notice?: string;
}

export const BENCH_SCHEMA_VERSION = 1;

/** The flags that size the engines' caches and batches. */
const SIZE_FLAGS = '--batch-sizes/--context/--steps/--warmup-steps/--block-size/--max-num-batched-tokens';

/** What the header says before anything is measured. */
interface BenchHeading {
  backend: BackendKind;
  machine: string;
  date: string;
  model: SyntheticDecoderOptions;
  context: number;
  steps: number;
  kvCacheDtype: 'auto' | 'fp8_e4m3';
  notice?: string;
}

/** The table's columns; `eagerMs` holds the eager p50 of each batch size measured so far. */
function benchColumns(eagerMs: ReadonlyMap<number, number>): Column<DecodeBenchRow>[] {
  return [
    { header: 'batch', value: (x) => String(x.batchSize), width: 5 },
    { header: 'mode', value: (x) => x.mode, align: 'left', width: 9 },
    { header: 'ran as', value: (x) => x.ranAs, align: 'left', width: 9 },
    { header: 'step p50 ms', value: (x) => fmt(x.stepMs.p50, 3) },
    { header: 'p90 ms', value: (x) => fmt(x.stepMs.p90, 3), width: 8 },
    { header: 'tokens/s', value: (x) => fmt(x.tokensPerSecond, 0), width: 9 },
    {
      header: 'vs eager',
      value: (x) => {
        const eager = eagerMs.get(x.batchSize);
        return eager === undefined ? '-' : `${fmt(eager / x.stepMs.p50, 2)}x`;
      },
    },
    { header: 'capture ms', value: (x) => (x.mode === 'eager' ? '-' : fmt(x.captureMs, 1)) },
  ];
}

function headingLines(h: BenchHeading): string[] {
  const lines = [
    `flashgraph bench: ${describeModel(h.model, h.backend)}${h.kvCacheDtype === 'fp8_e4m3' ? ', fp8 e4m3 KV cache' : ''}, context ${h.context} tokens, ${h.steps} timed decode steps`,
    h.backend === 'cpu' ? `backend: ${h.machine}, ${h.date}` : `backend: CUDA on ${h.machine}, ${h.date}`,
  ];
  if (h.notice) lines.push(h.notice);
  return lines;
}

function modeSummaryLines(r: { backend: BackendKind; modes: DecodeBenchResult['modes'] }): string[] {
  const lines: string[] = [];
  for (const m of r.modes) {
    if (m.mode === 'eager') continue;
    const memory =
      r.backend === 'cpu'
        ? 'no device graph memory on the CPU backend'
        : `graph memory ${formatBytes(m.graphMemoryBytes)}`;
    lines.push(`${m.mode}: captured ${m.graphs} graphs in ${fmt(m.captureMs, 1)} ms, ${memory}`);
  }
  return lines;
}

/** The whole text report at once (what the streamed output adds up to). */
export function formatBench(r: BenchReport): string {
  const eagerMs = new Map(r.rows.filter((x) => x.mode === 'eager').map((x) => [x.batchSize, x.stepMs.p50]));
  const table = tableStream(benchColumns(eagerMs));
  return [
    ...headingLines(r),
    '',
    table.header,
    ...r.rows.map((row) => table.row(row)),
    '',
    ...modeSummaryLines(r),
  ].join('\n');
}

export function benchChart(r: BenchReport): string {
  const modes = BENCH_MODES.filter((m) => r.modes.some((x) => x.mode === m));
  const batchSizes = [...new Set(r.rows.map((x) => x.batchSize))].sort((a, b) => a - b);
  const stepMs: Record<string, number[]> = {};
  for (const m of modes)
    stepMs[m] = batchSizes.map((b) => r.rows.find((x) => x.mode === m && x.batchSize === b)?.stepMs.p50 ?? Number.NaN);
  const cpu = r.backend === 'cpu';
  return renderBenchChart({
    title: `flashgraph bench: decode step of the ${r.model.numLayers}-layer synthetic decoder${cpu ? ' (CPU backend, not GPU numbers)' : ''}`,
    subtitle: [
      `${describeModel(r.model, r.backend)}, context ${r.context}, ${r.steps} timed steps; ${r.date}`,
      cpu
        ? `${r.machine}. The CPU backend runs fp32 reference kernels; bf16 kernels and CUDA graphs run only on CUDA.`
        : r.machine,
    ],
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
    // Every flag is checked here, before the first engine starts (exit 2 without any work).
    const { request, planned, gpu, modelOptions, model } = backendAndModel(values);
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
    const [kvCacheDtype] = parseChoiceList('kv-cache-dtype', s('kv-cache-dtype'), ['auto', 'fp8_e4m3'] as const, [
      'auto',
    ]);
    if (kvCacheDtype === 'fp8_e4m3' && planned.kind === 'cpu') {
      throw new UsageError({
        flag: '--kv-cache-dtype',
        problem: 'an fp8 KV cache needs the CUDA backend',
        value: kvCacheDtype,
        allowed: 'auto on the CPU backend',
      });
    }
    const seed = parseIntFlag('seed', s('seed'), 1, 0);
    const chartPath = outputFileFlag('chart', s('chart'), io.cwd);
    const json = values.json === true;

    const heading: BenchHeading = {
      backend: planned.kind,
      machine: describeMachine(planned.kind),
      date: new Date().toISOString().slice(0, 10),
      model: modelOptions,
      context,
      steps,
      kvCacheDtype: kvCacheDtype!,
      ...(planned.kind === 'cpu' ? { notice: cpuNotice(planned.why) } : {}),
    };
    // The header goes out before anything is measured, each row as soon as it is (a CPU
    // configuration can take many minutes), and a status line on a terminal covers the rest.
    const line = progressLine(io.progress ?? { write: () => {} });
    const print = (text: string) => {
      line.clear();
      io.stdout(text);
    };
    const eagerMs = new Map<number, number>();
    const table = tableStream(benchColumns(eagerMs));

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
      ...(kvCacheDtype === 'fp8_e4m3' ? { kvCacheDtype } : {}),
    };
    let shownPhase = '';
    const phaseText = (label: string) => (e: DecodeBenchPhase) => {
      const phase = `${label}${e.mode} batch ${e.batchSize}: ${e.phase}`;
      // A new phase is always drawn; steps within one are drawn at most ten times a second.
      line.update(
        `${phase} ${progressBar(e.done / Math.max(1, e.total))} ${e.done}/${e.total} steps`,
        phase !== shownPhase,
      );
      shownPhase = phase;
    };
    // Sizes the engine rejects are the flags' fault: found before the header and any measurement.
    await engineOptionsFromFlags(SIZE_FLAGS, () => checkDecodeBenchSizes(benchOptions));
    if (!json) print([...headingLines(heading), '', table.header].join('\n'));
    if (planned.kind === 'cpu') {
      // On the CPU backend the first configuration would otherwise time V8's JIT warming up the
      // reference kernels (eager at batch 1 looked 10-30x slower than graphs). Every mode runs a
      // few untimed steps of a small batch first: the same kernels, seconds instead of a second
      // pass over the whole grid.
      await engineOptionsFromFlags(SIZE_FLAGS, () =>
        runDecodeBench({
          ...benchOptions,
          batchSizes: [Math.min(...batchSizes)],
          context: Math.min(context, 16),
          steps: 2,
          warmupSteps: 1,
          onProgress: (mode) => engineProgress(line, `JIT warm-up, ${mode}:`),
          onPhase: phaseText('JIT warm-up, '),
        }),
      );
    }
    let measured = 0;
    const measure = () =>
      runDecodeBench({
        ...benchOptions,
        onProgress: (mode) => engineProgress(line, `${mode}:`),
        onPhase: phaseText(''),
        onRow: (row) => {
          measured++;
          if (row.mode === 'eager') eagerMs.set(row.batchSize, row.stepMs.p50);
          if (!json) print(table.row(row));
        },
      });
    // The first engine is created before anything is measured: sizes it rejects are the flags' fault.
    const result = await engineOptionsFromFlags(SIZE_FLAGS, measure).catch((err: unknown) => {
      if (measured > 0 && err instanceof UsageError) throw (err as Error).cause ?? err;
      throw err;
    });
    line.clear();
    const report: BenchReport = {
      schemaVersion: BENCH_SCHEMA_VERSION,
      tool: 'flashgraph bench',
      ...heading,
      machine: describeMachine(result.backend),
      ...result,
      ...(result.backend === 'cpu' ? { notice: cpuNotice(planned.why) } : {}),
    };
    io.stdout(json ? JSON.stringify(report, null, 2) : ['', ...modeSummaryLines(report)].join('\n'));
    if (chartPath) {
      writeFileSync(chartPath, benchChart(report));
      io.stderr(`chart written to ${chartPath}`);
    }
    return EXIT_OK;
  },
};
