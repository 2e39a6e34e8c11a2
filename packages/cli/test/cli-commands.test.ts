import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/run.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const cwd = mkdtempSync(join(tmpdir(), 'fg-cli-'));
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), cwd };
}

const smallBench = [
  '--backend',
  'cpu',
  '--batch-sizes',
  '1,4',
  '--steps',
  '2',
  '--warmup-steps',
  '1',
  '--context',
  '8',
  '--layers',
  '1',
];

describe('flashgraph CLI: doctor, bench, simulate', () => {
  it('lists the commands in --help', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const name of ['plan', 'doctor', 'bench', 'simulate']) expect(r.stdout).toContain(`  ${name}`);
  });

  it('doctor exits 0 on a machine without a GPU and says it is CPU-only and what to do', async () => {
    const r = await cli('doctor');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backend: CPU only/);
    expect(r.stdout).toMatch(/What to do:/);
    expect(r.stdout).toMatch(/@flashgraph\/engine: flashgraph_engine.node/);
    expect(r.stdout).toMatch(/Hugging Face models on CUDA: no \(/);
  });

  it('doctor --json reports the GPU, every addon and the backend', async () => {
    const r = await cli('doctor', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.schemaVersion).toBe(1);
    expect(report.gpu.available).toBe(false);
    expect(report.addons.map((a: { package: string }) => a.package)).toEqual([
      '@flashgraph/cuda',
      '@flashgraph/fa3',
      '@flashgraph/engine',
      '@flashgraph/models',
    ]);
    // Each addon as its package loads it: the workspace build comes before the platform package.
    for (const a of report.addons) {
      const built = fileURLToPath(
        new URL(`../../${a.package.replace('@flashgraph/', '')}/prebuilds/linux-x64/${a.file}`, import.meta.url),
      );
      if (existsSync(built)) expect(a).toMatchObject({ status: 'loaded', path: built });
    }
    expect(report.backend).toBe('cpu');
    expect(report.modelsCuda.available).toBe(false);
    expect(report.modelsCuda.reason).toMatch(/\S/);
    if (report.cublasLt && !report.cublasLt.available) expect(report.cublasLt.reason).toMatch(/libcublasLt/);
  });

  it('bench on the CPU backend prints a labelled table with every batch size and mode', async () => {
    const r = await cli('bench', ...smallBench);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NOTE: running on the CPU backend/);
    expect(r.stdout).toMatch(/batch\s+mode\s+ran as\s+step p50 ms/);
    const rows = r.stdout.split('\n').filter((l) => /^\s+[14]\s+(eager|piecewise|full)\s/.test(l));
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      const [, , mode, ranAs] = row.split(/\s+/);
      expect(ranAs).toBe(mode); // every timed step ran as the mode it measures
    }
  });

  it('bench --json and --chart write machine- and human-readable results', async () => {
    const r = await cli('bench', ...smallBench, '--json', '--chart', 'out.svg');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.schemaVersion).toBe(1);
    expect(report.backend).toBe('cpu');
    expect(report.rows).toHaveLength(6);
    expect(report.rows.every((x: { stepMs: { p50: number } }) => x.stepMs.p50 > 0)).toBe(true);
    const svg = readFileSync(join(r.cwd, 'out.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Decode step time');
    expect(svg).toContain('Speedup over eager');
    expect(svg).toContain('CPU backend, not GPU numbers');
    // The CPU backend computes in fp32; bf16 is only what the CUDA kernels use.
    const words = svg.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '); // wrapped lines joined
    expect(words).toContain('4/2 heads x 64, fp32 CPU kernels');
    expect(words).toContain('bf16 kernels and CUDA graphs run only on CUDA');
    expect(svg.match(/<rect [^>]*rx="2"><title>/g)?.length).toBe(6 + 4); // 3 modes x 2 sizes, 2 speedups x 2 sizes
    expect(r.stderr).toMatch(/chart written to .*out.svg/);
  });

  it.each([
    [['bench', '--batch-sizes', '0'], /--batch-sizes: must be an integer \(got "0", allowed integer in \[1, 4096\]\)/],
    [['bench', '--modes', 'turbo'], /--modes: unknown choice \(got "turbo", allowed eager, piecewise, full\)/],
    [['bench', '--head-dim', '96'], /--head-dim: unsupported head dimension \(got 96, allowed 64, 128, 256\)/],
    [['bench', '--backend', 'gpu'], /--backend: unknown backend \(got "gpu", allowed auto, cuda, cpu\)/],
    [['bench', '--nope'], /Unknown option '--nope'/],
    [['simulate', '--requests', 'x'], /--requests: must be an integer/],
    [['simulate', '--modes', 'fast'], /--modes: unknown choice \(got "fast"/],
    [['doctor', '--quiet'], /Unknown option '--quiet'/],
  ])('exits 2 on bad input %j', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/--help/);
  });

  it('bench --backend cuda without a GPU fails with exit 1 and says why', async () => {
    const r = await cli('bench', '--backend', 'cuda', '--batch-sizes', '1', '--steps', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/backend 'cuda' is not available/);
  });

  it('simulate runs a seeded workload through every mode with identical outputs', async () => {
    const r = await cli(
      'simulate',
      '--backend',
      'cpu',
      '--requests',
      '6',
      '--max-prompt',
      '12',
      '--max-output',
      '4',
      '--modes',
      'none,piecewise,full_and_piecewise',
      '--layers',
      '1',
      '--json',
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.schemaVersion).toBe(1);
    expect(report.runs.map((x: { mode: string }) => x.mode)).toEqual(['none', 'piecewise', 'full_and_piecewise']);
    for (const run of report.runs) {
      expect(run.sameOutputsAsFirst).toBe(6);
      expect(run.stats.generatedTokens).toBe(report.outputTokens);
      expect(run.stats.stepLatencyMs.p99).toBeGreaterThanOrEqual(run.stats.stepLatencyMs.p50);
    }
    expect(report.runs[0].stats.byMode.eager.steps).toBe(report.runs[0].stats.steps);
    expect(report.runs[2].stats.byMode.full.steps).toBeGreaterThan(0);
  });

  it('simulate prints throughput, latency percentiles and padding waste', async () => {
    const r = await cli(
      'simulate',
      '--backend',
      'cpu',
      '--requests',
      '4',
      '--max-prompt',
      '8',
      '--max-output',
      '3',
      '--modes',
      'full',
      '--layers',
      '1',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/out tok\/s\s+all tok\/s\s+step p50 ms\s+p90\s+p99\s+full steps \(pad\)/);
    expect(r.stdout).toMatch(/NOTE: running on the CPU backend/);
  });
});
