// `flashgraph simulate`: N requests with seeded random prompt and output lengths through
// engine.run(), once per graph mode; throughput, per-step latency percentiles and padding waste.
import { type GraphMode, graphModes } from '@flashgraph/config';
import { createEngine, type RunStats, type SyntheticDecoderOptions, syntheticDecoder } from '@flashgraph/engine';
import { type CliCommand, type CliIo, EXIT_OK } from '../command.js';
import { captureProgressBar } from '../report/progress-bar.js';
import { fmt, formatTable } from '../report/table.js';
import {
  backendAndModel,
  cpuNotice,
  describeMachine,
  describeModel,
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

Runs a workload of N requests with random prompt and output lengths (seeded) through
engine.run() once per graph mode, and reports throughput, per-step latency percentiles and the
padding waste of graph replays. Without a CUDA GPU it runs on the CPU backend with a small model.

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
  /** Requests whose output equals the first mode's. */
  sameOutputsAsFirst: number;
}

export interface SimulateReport {
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

export function formatSimulate(r: SimulateReport): string {
  const pct = (x: number) => `${fmt(100 * x, 1)}%`;
  const table = formatTable(r.runs, [
    { header: 'mode', value: (x) => x.mode, align: 'left' },
    { header: 'steps', value: (x) => String(x.stats.steps) },
    { header: 'wall s', value: (x) => fmt(x.stats.elapsedMs / 1000, 2) },
    { header: 'out tok/s', value: (x) => fmt(x.stats.outputTokensPerSecond, 0) },
    { header: 'all tok/s', value: (x) => fmt(x.stats.tokensPerSecond, 0) },
    { header: 'step p50 ms', value: (x) => fmt(x.stats.stepLatencyMs.p50, 3) },
    { header: 'p90', value: (x) => fmt(x.stats.stepLatencyMs.p90, 3) },
    { header: 'p99', value: (x) => fmt(x.stats.stepLatencyMs.p99, 3) },
    {
      header: 'full steps (pad)',
      value: (x) => `${x.stats.byMode.full.steps} (${pct(x.stats.byMode.full.paddingWaste)})`,
    },
    {
      header: 'piecewise (pad)',
      value: (x) => `${x.stats.byMode.piecewise.steps} (${pct(x.stats.byMode.piecewise.paddingWaste)})`,
    },
    { header: 'eager', value: (x) => String(x.stats.byMode.eager.steps) },
  ]);
  const lines = [
    `flashgraph simulate: ${r.requests} requests (seed ${r.seed}), ${r.promptTokens} prompt + ${r.outputTokens} output tokens; ${describeModel(r.model)}`,
    r.backend === 'cpu' ? `backend: ${r.machine}, ${r.date}` : `backend: CUDA on ${r.machine}, ${r.date}`,
  ];
  if (r.notice) lines.push(r.notice);
  lines.push(
    '',
    table,
    '',
    'pad = padding tokens / tokens launched in that kind of step (graph replays pad to the capture size).',
  );
  const first = r.runs[0];
  for (const run of r.runs.slice(1)) {
    if (run.sameOutputsAsFirst !== r.requests) {
      lines.push(
        `${run.mode}: ${r.requests - run.sameOutputsAsFirst} of ${r.requests} requests differ from ${first?.mode} (split-KV bounds differ between graph and eager steps, so bf16 rounding can flip a sampled token).`,
      );
    }
  }
  return lines.join('\n');
}

export const simulateCommand: CliCommand = {
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const values = parseCommandFlags(argv, OPTIONS, SIMULATE_HELP, io);
    if (!values) return EXIT_OK;
    const s = (k: string) => values[k] as string | undefined;
    const { request, planned, gpu, modelOptions } = backendAndModel(values);
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
    const model = syntheticDecoder(modelOptions);
    const workload = simulatedWorkload(n, seed, [minPrompt, maxPrompt], [minOutput, maxOutput], model.shape.vocabSize);
    const maxLen = maxPrompt + maxOutput;
    const blocksPerReq = Math.ceil(maxLen / blockSize);

    const runs: SimulateRun[] = [];
    let firstOutputs: (readonly number[])[] | undefined;
    let backend = planned.kind as string;
    let backendReason = '';
    for (const mode of modes) {
      const engine = await createEngine({
        model,
        graph: { mode },
        cache: { blockSize, numBlocks: maxNumSeqs * blocksPerReq },
        limits: { maxNumSeqs, maxNumBatchedTokens, maxModelLen: blocksPerReq * blockSize },
        backend: request,
        onProgress: captureProgressBar(`${mode}:`),
      });
      try {
        backend = engine.backend;
        backendReason = engine.backendReason;
        for (const w of workload) engine.addRequest(w);
        const { outputs, stats } = await engine.run();
        const tokens = outputs.map((o) => o.outputTokens);
        firstOutputs ??= tokens;
        const same = tokens.filter((t, i) => JSON.stringify(t) === JSON.stringify(firstOutputs?.[i])).length;
        runs.push({ mode, stats, sameOutputsAsFirst: same });
      } finally {
        engine.dispose();
      }
    }
    const report: SimulateReport = {
      tool: 'flashgraph simulate',
      date: new Date().toISOString().slice(0, 10),
      backend,
      backendReason,
      machine: describeMachine(backend === 'cuda' ? 'cuda' : 'cpu'),
      model: modelOptions,
      requests: n,
      seed,
      promptTokens: workload.reduce((a, w) => a + w.promptTokens.length, 0),
      outputTokens: workload.reduce((a, w) => a + w.maxNewTokens, 0),
      runs,
      ...(backend === 'cpu' ? { notice: cpuNotice(planned.why) } : {}),
    };
    io.stdout(values.json ? JSON.stringify(report, null, 2) : formatSimulate(report));
    return EXIT_OK;
  },
};
