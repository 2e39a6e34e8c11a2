// `flashgraph simulate`: N requests with seeded random prompt and output lengths through one
// engine per graph mode, stepped in turn; throughput, per-step latency percentiles and padding waste.
import { type GraphMode, graphModes } from '@flashgraph/config';
import {
  createEngine,
  type Engine,
  type LatencySummary,
  type RunStats,
  type SyntheticDecoderOptions,
} from '@flashgraph/engine';
import { type CliCommand, type CliIo, EXIT_OK, UsageError } from '../command.js';
import { engineProgress, progressLine } from '../report/progress-line.js';
import { type Column, fmt, tableStream } from '../report/table.js';
import { runInterleaved } from './interleaved-run.js';
import {
  backendAndModel,
  cpuNotice,
  describeMachine,
  describeModel,
  engineOptionsFromFlags,
  parseChoiceList,
  parseCommandFlags,
  parseIntFlag,
} from './shared.js';

const OPTIONS = {
  requests: { type: 'string' },
  seed: { type: 'string' },
  'min-prompt': { type: 'string' },
  'max-prompt': { type: 'string' },
  'min-output': { type: 'string' },
  'max-output': { type: 'string' },
  modes: { type: 'string' },
  'max-num-seqs': { type: 'string' },
  'max-num-batched-tokens': { type: 'string' },
  'block-size': { type: 'string' },
  layers: { type: 'string' },
  'heads-q': { type: 'string' },
  'heads-kv': { type: 'string' },
  'head-dim': { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const SIMULATE_HELP = `Usage: flashgraph simulate [options]

Runs a workload of N requests with random prompt and output lengths (seeded) through one engine
per graph mode and reports throughput, per-step latency percentiles and the padding waste of graph
replays. The modes run interleaved (one step of each in turn) after an untimed warm-up, so the
order of --modes does not change the result; all their engines are alive at once. Without a CUDA
GPU it runs on the CPU backend with a small model.

  --requests <n>                 requests (default 64; 16 on CPU)
  --seed <n>                     workload seed (default 1)
  --min-prompt <n> --max-prompt <n>   prompt lengths (default 16..512; 4..48 on CPU)
  --min-output <n> --max-output <n>   output lengths (default 16..128; 2..16 on CPU)
  --modes <list>                 graph modes (default none,piecewise,full,full_and_piecewise)
  --max-num-seqs <n>             requests per step (default 32; 8 on CPU)
  --max-num-batched-tokens <n>   tokens per step (default 1024; 64 on CPU)
  --block-size <n>               KV page size (default 16)
  --layers, --heads-q, --heads-kv, --head-dim   model shape (as in flashgraph bench)
  --backend <auto|cuda|cpu>      default auto
  --json                         print the results as JSON
  -h, --help                     show this help`;

export interface SimulateRun {
  mode: GraphMode;
  stats: RunStats;
  /** Host CPU time per step (see interleaved-run.ts): comparable between modes on a loaded machine. */
  hostCpuMs: LatencySummary;
  /** Requests whose output equals the first mode's. */
  sameOutputsAsFirst: number;
}

export const SIMULATE_SCHEMA_VERSION = 1;

export interface SimulateReport {
  /** Bumped when a field changes meaning or goes away (new fields keep the version). */
  schemaVersion: typeof SIMULATE_SCHEMA_VERSION;
  tool: 'flashgraph simulate';
  date: string;
  backend: string;
  backendReason: string;
  machine: string;
  model: SyntheticDecoderOptions;
  requests: number;
  seed: number;
  promptTokens: number;
  outputTokens: number;
  /** Untimed requests each mode ran before its timed run (the first ones of the workload, outputs capped). */
  warmup: { requests: number; maxNewTokens: number };
  runs: SimulateRun[];
  notice?: string;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function simulatedWorkload(
  n: number,
  seed: number,
  prompt: [number, number],
  output: [number, number],
  vocab: number,
) {
  const r = rng(seed);
  const between = ([lo, hi]: [number, number]) => lo + Math.floor(r() * (hi - lo + 1));
  return Array.from({ length: n }, () => ({
    promptTokens: Array.from({ length: between(prompt) }, () => Math.floor(r() * vocab)),
    maxNewTokens: between(output),
  }));
}

const pct = (x: number) => `${fmt(100 * x, 1)}%`;

const SIMULATE_COLUMNS: readonly Column<SimulateRun>[] = [
  { header: 'mode', value: (x) => x.mode, align: 'left', width: 18 },
  { header: 'steps', value: (x) => String(x.stats.steps), width: 6 },
  { header: 'busy s', value: (x) => fmt(x.stats.elapsedMs / 1000, 2), width: 7 },
  { header: 'out tok/s', value: (x) => fmt(x.stats.outputTokensPerSecond, 0) },
  { header: 'all tok/s', value: (x) => fmt(x.stats.tokensPerSecond, 0) },
  { header: 'step p50 ms', value: (x) => fmt(x.stats.stepLatencyMs.p50, 3) },
  { header: 'p90', value: (x) => fmt(x.stats.stepLatencyMs.p90, 3), width: 7 },
  { header: 'p99', value: (x) => fmt(x.stats.stepLatencyMs.p99, 3), width: 7 },
  {
    header: 'full steps (pad)',
    value: (x) => `${x.stats.byMode.full.steps} (${pct(x.stats.byMode.full.paddingWaste)})`,
  },
  {
    header: 'piecewise (pad)',
    value: (x) => `${x.stats.byMode.piecewise.steps} (${pct(x.stats.byMode.piecewise.paddingWaste)})`,
  },
  { header: 'eager', value: (x) => String(x.stats.byMode.eager.steps), width: 5 },
];

type SimulateHeading = Omit<SimulateReport, 'runs' | 'schemaVersion' | 'tool' | 'backendReason'>;

function simulateHeadingLines(r: SimulateHeading): string[] {
  const lines = [
    `flashgraph simulate: ${r.requests} requests (seed ${r.seed}), ${r.promptTokens} prompt + ${r.outputTokens} output tokens; ${describeModel(r.model, r.backend === 'cuda' ? 'cuda' : 'cpu')}`,
    r.backend === 'cpu' ? `backend: ${r.machine}, ${r.date}` : `backend: CUDA on ${r.machine}, ${r.date}`,
  ];
  if (r.notice) lines.push(r.notice);
  return lines;
}

function simulateFooterLines(r: Pick<SimulateReport, 'runs' | 'requests' | 'warmup'>): string[] {
  const lines = [
    `Modes ran interleaved (one step of each in turn), after ${r.warmup.requests} untimed warm-up requests each (outputs capped at ${r.warmup.maxNewTokens} tokens); busy s is the sum of each mode's own step times.`,
    'pad = padding tokens / tokens launched in that kind of step (graph replays pad to the capture size).',
  ];
  const first = r.runs[0];
  for (const run of r.runs.slice(1)) {
    if (run.sameOutputsAsFirst !== r.requests) {
      lines.push(
        `${run.mode}: ${r.requests - run.sameOutputsAsFirst} of ${r.requests} requests differ from ${first?.mode} (split-KV bounds differ between graph and eager steps, so bf16 rounding can flip a sampled token).`,
      );
    }
  }
  return lines;
}

/** The whole text report at once (what the streamed output adds up to). */
export function formatSimulate(r: SimulateReport): string {
  const table = tableStream(SIMULATE_COLUMNS);
  return [
    ...simulateHeadingLines(r),
    '',
    table.header,
    ...r.runs.map((run) => table.row(run)),
    '',
    ...simulateFooterLines(r),
  ].join('\n');
}

/** The most prompt + output tokens a simulated workload may hold. */
const MAX_WORKLOAD_TOKENS = 2 ** 24;

/** Untimed warm-up requests: the workload's first ones, as many as run at once, outputs capped. */
const WARMUP_MAX_NEW_TOKENS = 8;

export const simulateCommand: CliCommand = {
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const values = parseCommandFlags(argv, OPTIONS, SIMULATE_HELP, io);
    if (!values) return EXIT_OK;
    const s = (k: string) => values[k] as string | undefined;
    // Every flag is checked here, before the first engine starts (exit 2 without any work).
    const { request, planned, gpu, modelOptions, model } = backendAndModel(values);
    const n = parseIntFlag('requests', s('requests'), gpu ? 64 : 16, 1, 1 << 20);
    const seed = parseIntFlag('seed', s('seed'), 1, 0);
    const minPrompt = parseIntFlag('min-prompt', s('min-prompt'), gpu ? 16 : 4, 1);
    const maxPrompt = parseIntFlag('max-prompt', s('max-prompt'), Math.max(minPrompt, gpu ? 512 : 48), minPrompt);
    const minOutput = parseIntFlag('min-output', s('min-output'), gpu ? 16 : 2, 1);
    const maxOutput = parseIntFlag('max-output', s('max-output'), Math.max(minOutput, gpu ? 128 : 16), minOutput);
    const modes = parseChoiceList<GraphMode>('modes', s('modes'), graphModes as readonly GraphMode[], [
      'none',
      'piecewise',
      'full',
      'full_and_piecewise',
    ]);
    const maxNumSeqs = parseIntFlag('max-num-seqs', s('max-num-seqs'), gpu ? 32 : 8, 1, 1 << 16);
    const maxNumBatchedTokens = parseIntFlag(
      'max-num-batched-tokens',
      s('max-num-batched-tokens'),
      gpu ? 1024 : 64,
      maxNumSeqs,
      1 << 20,
    );
    const blockSize = parseIntFlag('block-size', s('block-size'), 16, 16, 4096);
    // The workload is built in memory before anything runs: bound it (2^24 tokens, 128 MiB of ids).
    if (n * (maxPrompt + maxOutput) > MAX_WORKLOAD_TOKENS) {
      throw new UsageError({
        flag: '--requests/--max-prompt/--max-output',
        problem: `the workload could reach ${n * (maxPrompt + maxOutput)} tokens`,
        allowed: `requests x (max-prompt + max-output) <= ${MAX_WORKLOAD_TOKENS}`,
      });
    }
    const workload = simulatedWorkload(n, seed, [minPrompt, maxPrompt], [minOutput, maxOutput], model.shape.vocabSize);
    const maxLen = maxPrompt + maxOutput;
    const blocksPerReq = Math.ceil(maxLen / blockSize);

    const warmupWorkload = workload
      .slice(0, maxNumSeqs)
      .map((w) => ({ ...w, maxNewTokens: Math.min(w.maxNewTokens, WARMUP_MAX_NEW_TOKENS) }));
    const json = values.json === true;
    const heading: SimulateHeading = {
      date: new Date().toISOString().slice(0, 10),
      backend: planned.kind,
      machine: describeMachine(planned.kind),
      model: modelOptions,
      requests: n,
      seed,
      promptTokens: workload.reduce((a, w) => a + w.promptTokens.length, 0),
      outputTokens: workload.reduce((a, w) => a + w.maxNewTokens, 0),
      warmup: { requests: warmupWorkload.length, maxNewTokens: WARMUP_MAX_NEW_TOKENS },
      ...(planned.kind === 'cpu' ? { notice: cpuNotice(planned.why) } : {}),
    };
    const line = progressLine(io.progress ?? { write: () => {} });
    const print = (text: string) => {
      line.clear();
      io.stdout(text);
    };
    const table = tableStream(SIMULATE_COLUMNS);

    const engines: Engine[] = [];
    const runs: SimulateRun[] = [];
    try {
      for (const mode of modes) {
        engines.push(
          await engineOptionsFromFlags(
            '--max-num-seqs/--max-num-batched-tokens/--max-prompt/--max-output/--block-size',
            () =>
              createEngine({
                model,
                graph: { mode },
                cache: { blockSize, numBlocks: maxNumSeqs * blocksPerReq },
                limits: { maxNumSeqs, maxNumBatchedTokens, maxModelLen: blocksPerReq * blockSize },
                backend: request,
                onProgress: engineProgress(line, `${mode}:`),
              }),
          ),
        );
      }
      // The header once every engine exists: sizes an engine rejects are reported without one.
      if (!json) print([...simulateHeadingLines(heading), '', table.header].join('\n'));
      // Warm-up, then the timed run, each interleaved over the modes (one step of each in turn):
      // see interleaved-run.ts for why the order of --modes then cannot change the result.
      const rounds = (phase: string) => (working: number) =>
        line.update(`${phase}: ${working} of ${engines.length} modes still running`);
      await runInterleaved(engines, warmupWorkload, rounds(`warm-up (${warmupWorkload.length} requests, untimed)`));
      const results = await runInterleaved(engines, workload, rounds(`timing ${n} requests`));
      const firstOutputs = results[0]?.outputs.map((o) => o.outputTokens);
      results.forEach(({ outputs, stats, hostCpuMs }, i) => {
        const tokens = outputs.map((o) => o.outputTokens);
        const same = tokens.filter((t, j) => JSON.stringify(t) === JSON.stringify(firstOutputs?.[j])).length;
        const run: SimulateRun = { mode: modes[i] as GraphMode, stats, hostCpuMs, sameOutputsAsFirst: same };
        runs.push(run);
        if (!json) print(table.row(run));
      });
    } finally {
      for (const engine of engines) engine.dispose();
    }
    const backend = engines[0]?.backend ?? planned.kind;
    const backendReason = engines[0]?.backendReason ?? '';
    line.clear();
    const report: SimulateReport = {
      schemaVersion: SIMULATE_SCHEMA_VERSION,
      tool: 'flashgraph simulate',
      ...heading,
      backend,
      backendReason,
      machine: describeMachine(backend === 'cuda' ? 'cuda' : 'cpu'),
      runs,
    };
    io.stdout(json ? JSON.stringify(report, null, 2) : ['', ...simulateFooterLines(report)].join('\n'));
    return EXIT_OK;
  },
};
