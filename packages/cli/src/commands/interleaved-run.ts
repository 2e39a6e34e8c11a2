// Runs one workload through several engines at once, one step of each in turn, for `simulate`.
// Timing the modes one after the other let whichever ran first pay V8's JIT warm-up, and let a
// burst of load on a shared machine land on one mode only: on the CPU `none` looked 5-8x slower
// than `full`, and the order of --modes flipped the result. Interleaved, every mode sees the same
// warm-up state and the same background load, step by step.
import {
  type AddRequestOptions,
  type Engine,
  type EngineStats,
  type LatencySummary,
  type RequestOutput,
  type RunStats,
  type StepMode,
  summarizeLatencies as summarize,
} from '@flashgraph/engine';

export interface InterleavedResult {
  /** Requests finished during this call, by ascending id. */
  readonly outputs: readonly RequestOutput[];
  /**
   * Host CPU time of this process per step (user + system). Unlike wall-clock step times it does
   * not count the time the process waited for a core, so on a loaded machine it still compares
   * modes of the CPU backend; on CUDA it is the host's share of a step only.
   */
  readonly hostCpuMs: LatencySummary;
  /**
   * Statistics of this call only. `elapsedMs` is the sum of this engine's own step times (the
   * wall-clock time it was busy), since wall-clock time is shared between the interleaved engines.
   */
  readonly stats: RunStats;
}

const STEP_MODES: readonly StepMode[] = ['full', 'piecewise', 'eager'];

function statsBetween(
  before: EngineStats,
  after: EngineStats,
  latencies: number[],
  decodeLatencies: number[],
): RunStats {
  const byMode = {} as Record<StepMode, EngineStats['byMode'][StepMode]>;
  for (const mode of STEP_MODES) {
    const now = after.byMode[mode];
    const was = before.byMode[mode];
    const tokens = now.tokens - was.tokens;
    const paddingTokens = now.paddingTokens - was.paddingTokens;
    byMode[mode] = {
      steps: now.steps - was.steps,
      tokens,
      paddingTokens,
      paddingWaste: tokens + paddingTokens > 0 ? paddingTokens / (tokens + paddingTokens) : 0,
      totalMs: now.totalMs - was.totalMs,
    };
  }
  const promptTokens = after.promptTokens - before.promptTokens;
  const generatedTokens = after.generatedTokens - before.generatedTokens;
  const elapsedMs = after.totalMs - before.totalMs;
  const seconds = elapsedMs / 1000;
  return {
    steps: after.steps - before.steps,
    promptTokens,
    generatedTokens,
    totalMs: elapsedMs,
    stepLatencyMs: summarize(latencies),
    decodeStepLatencyMs: summarize(decodeLatencies),
    byMode,
    runner: after.runner,
    elapsedMs,
    outputTokensPerSecond: seconds > 0 ? generatedTokens / seconds : 0,
    tokensPerSecond: seconds > 0 ? (generatedTokens + promptTokens) / seconds : 0,
  };
}

/**
 * Adds `workload` to every engine, then steps them in turn until all are idle. `onRound` is called
 * after each round with the number of engines still working.
 */
export async function runInterleaved(
  engines: readonly Engine[],
  workload: readonly AddRequestOptions[],
  onRound?: (working: number) => void,
): Promise<InterleavedResult[]> {
  const states = engines.map((engine) => {
    const before = engine.stats();
    for (const request of workload) engine.addRequest(request);
    return {
      engine,
      before,
      outputs: [] as RequestOutput[],
      latencies: [] as number[],
      decodeLatencies: [] as number[],
      hostCpuMs: [] as number[],
      idle: false,
    };
  });
  for (;;) {
    let working = 0;
    for (const s of states) {
      if (s.idle || s.engine.numRunning + s.engine.numWaiting === 0) continue;
      working++;
      const cpuBefore = process.cpuUsage();
      const step = await s.engine.step();
      const cpu = process.cpuUsage(cpuBefore);
      // Unreachable (addRequest rejects what can never fit), but never spin on an engine that cannot move.
      if (step.mode === 'idle') {
        s.idle = true;
        continue;
      }
      s.latencies.push(step.durationMs);
      s.hostCpuMs.push((cpu.user + cpu.system) / 1000);
      if (step.numPrefills === 0) s.decodeLatencies.push(step.durationMs);
      s.outputs.push(...step.finished);
    }
    if (working === 0) break;
    onRound?.(working);
  }
  return states.map((s) => ({
    outputs: s.outputs.sort((a, b) => a.id - b.id),
    hostCpuMs: summarize(s.hostCpuMs),
    stats: statsBetween(s.before, s.engine.stats(), s.latencies, s.decodeLatencies),
  }));
}
