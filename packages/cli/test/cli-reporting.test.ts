// Issue 18, the CLI reports as it goes: bench prints its header at once and each row when it is
// measured, a status line covers every long phase on a terminal (none when piped), any terminal
// width works, simulate's result does not depend on the order of --modes, JSON has schemaVersion.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIo, EXIT_OK } from '../src/command.js';
import { progressBar, progressLine } from '../src/report/progress-line.js';
import { formatTable, tableStream } from '../src/report/table.js';
import { runCli } from '../src/run.js';

const dir = mkdtempSync(join(tmpdir(), 'fg-cli-reporting-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake terminal: stdout lines and stderr status writes in one log, in the order they happened. */
function terminal(columns: number | undefined, isTTY = true) {
  const log: { to: 'stdout' | 'stderr' | 'progress'; text: string }[] = [];
  const io: CliIo = {
    stdout: (text) => log.push({ to: 'stdout', text }),
    stderr: (text) => log.push({ to: 'stderr', text }),
    cwd: dir,
    progress: { isTTY, columns, write: (text) => log.push({ to: 'progress', text }) },
  };
  return { io, log };
}

const smallBench = ['bench', '--backend', 'cpu', '--batch-sizes', '1,4', '--steps', '3', '--context', '8'];

/** What a terminal shows of a status write: the text after the last carriage return, escapes removed. */
const visible = (text: string) => (text.split('\r').pop() ?? '').replaceAll('\x1b[K', '');

describe('flashgraph bench reports as it goes', () => {
  it('prints the header first, then each row in its own write as soon as it is measured', async () => {
    const { io, log } = terminal(120);
    expect(await runCli([...smallBench, '--layers', '1'], io)).toBe(EXIT_OK);
    const stdout = log.filter((e) => e.to === 'stdout');
    expect(stdout[0]?.text).toMatch(/^flashgraph bench: .*\n[\s\S]*batch\s+mode\s+ran as\s+step p50 ms[^\n]*\n-----/);
    const rows = stdout.slice(1, -1).map((e) => e.text);
    expect(rows.map((r) => r.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual([
      '1 eager',
      '4 eager',
      '1 piecewise',
      '4 piecewise',
      '1 full',
      '4 full',
    ]);
    expect(stdout.at(-1)?.text).toMatch(/full: captured \d+ graphs/);
    // Rows come out while measuring goes on: the full mode's timing status follows eager's first row.
    const firstRow = log.findIndex((e) => e.to === 'stdout' && /^\s+1\s+eager\s/.test(e.text));
    const fullTiming = log.findIndex((e) => e.to === 'progress' && /^full batch \d: timing/.test(visible(e.text)));
    expect(firstRow).toBeGreaterThan(0);
    expect(fullTiming).toBeGreaterThan(firstRow);
    // Every long phase has a status line: the untimed JIT warm-up, prefill, warm-up steps, timing.
    const status = log.filter((e) => e.to === 'progress').map((e) => visible(e.text));
    for (const phase of [/^JIT warm-up, eager/, /: prefill \[/, /: warmup \[/, /: timing \[/]) {
      expect(status.some((s) => phase.test(s))).toBe(true);
    }
    // The status line is erased before each row, so rows never carry its text.
    for (const row of rows) {
      expect(row).not.toContain('\r');
      expect(row).not.toContain('\x1b');
    }
  });

  it.each([0, 1, 2, 10, undefined, Number.NaN])('fits a terminal of %s columns', async (columns) => {
    const { io, log } = terminal(columns);
    expect(await runCli([...smallBench, '--layers', '1', '--modes', 'full'], io)).toBe(EXIT_OK);
    const writes = log.filter((e) => e.to === 'progress');
    expect(writes.length).toBeGreaterThan(0);
    const room = typeof columns === 'number' && columns > 0 ? columns - 1 : 79;
    for (const w of writes) expect(visible(w.text).length).toBeLessThanOrEqual(room);
  });

  it('draws nothing when stderr is not a terminal, and --json keeps stdout one JSON document', async () => {
    const { io, log } = terminal(120, false);
    expect(await runCli([...smallBench, '--layers', '1', '--json'], io)).toBe(EXIT_OK);
    expect(log.filter((e) => e.to === 'progress')).toEqual([]);
    const stdout = log.filter((e) => e.to === 'stdout');
    expect(stdout).toHaveLength(1);
    expect(JSON.parse(stdout[0]?.text ?? '').schemaVersion).toBe(1);
  });
});

describe('progressLine', () => {
  it('is silent off a terminal', () => {
    const writes: string[] = [];
    const line = progressLine({ isTTY: false, columns: 80, write: (t) => writes.push(t) });
    line.update('x', true);
    line.clear();
    expect(line.enabled).toBe(false);
    expect(writes).toEqual([]);
  });

  it('redraws in place, cut to the width, and erases only what it drew', () => {
    const writes: string[] = [];
    const sink = { isTTY: true, columns: 6, write: (t: string) => writes.push(t) };
    const line = progressLine(sink, 0);
    line.clear();
    expect(writes).toEqual([]);
    line.update('abcdefghij');
    sink.columns = 0; // a terminal that reports no width: fall back to 80
    line.update('0123456789');
    line.clear();
    line.clear();
    expect(writes).toEqual(['\rabcde\x1b[K', '\r0123456789\x1b[K', '\r\x1b[K']);
  });

  it('redraws at most once per interval unless forced', () => {
    const writes: string[] = [];
    const line = progressLine({ isTTY: true, columns: 80, write: (t) => writes.push(t) }, 60_000);
    line.update('a');
    line.update('b');
    line.update('c', true);
    expect(writes.map(visible)).toEqual(['a', 'c']);
  });

  it.each([
    [0, '[----]'],
    [0.5, '[##--]'],
    [1, '[####]'],
    [7, '[####]'],
    [-1, '[----]'],
    [Number.NaN, '[----]'],
  ])('progressBar(%s) = %s', (fraction, bar) => {
    expect(progressBar(fraction, 4)).toBe(bar);
  });
});

describe('tables', () => {
  const columns = [
    { header: 'n', value: (r: { n: number; s: string }) => String(r.n), width: 3 },
    { header: 'name', value: (r: { n: number; s: string }) => r.s, align: 'left' as const },
  ];

  it('tableStream prints the header before any row, rows aligned under it', () => {
    const t = tableStream(columns);
    expect(t.header).toBe('  n  name\n---  ----');
    expect(t.row({ n: 7, s: 'ab' })).toBe('  7  ab');
    expect(t.row({ n: 12345, s: 'x' })).toBe('12345  x'); // too wide: only its own row moves
  });

  it('formatTable sizes columns to the widest cell', () => {
    expect(
      formatTable(
        [
          { n: 1, s: 'a' },
          { n: 100, s: 'abcdef' },
        ],
        columns,
      ),
    ).toBe('  n  name\n---  ------\n  1  a\n100  abcdef');
  });
});

describe('flashgraph simulate: the order of --modes does not change the result', () => {
  /** none/full ratio of the median host CPU time per step, and of the wall-clock p50. */
  async function ratios(modes: string): Promise<{ cpu: number; wall: number }> {
    const out: string[] = [];
    const io: CliIo = { stdout: (t) => out.push(t), stderr: () => {}, cwd: dir };
    const code = await runCli(['simulate', '--backend', 'cpu', '--modes', modes, '--requests', '32', '--json'], io);
    expect(code).toBe(EXIT_OK);
    const report = JSON.parse(out.join(''));
    expect(report.schemaVersion).toBe(1);
    const run = (mode: string) => report.runs.find((r: { mode: string }) => r.mode === mode);
    return {
      cpu: run('none').hostCpuMs.p50 / run('full').hostCpuMs.p50,
      wall: run('none').stats.stepLatencyMs.p50 / run('full').stats.stepLatencyMs.p50,
    };
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

  // The issue saw the first mode pay V8's JIT warm-up (`none` 5-8x slower than `full`, flipped by
  // the order). Interleaved after a warm-up, the order can only matter through noise. The ratio
  // compared is of host CPU time per step (what the process itself spent), because wall-clock
  // step times on a shared machine swing with its load: at load 15 on 2 cores, 10 runs gave
  // wall-clock none/full ratios of 0.76-2.16 but CPU-time ratios of 0.88-1.08. The median of
  // three runs per order within 1.5x of each other is far outside that noise, and far inside the
  // 5-8x the issue reported. The wall-clock ratio is only checked to be finite and positive.
  it('the none/full CPU time ratio stays within 1.5x when the modes are swapped', { timeout: 120_000 }, async () => {
    const forward: number[] = [];
    const backward: number[] = [];
    for (let i = 0; i < 3; i++) {
      const f = await ratios('none,full');
      const b = await ratios('full,none');
      forward.push(f.cpu);
      backward.push(b.cpu);
      for (const r of [f.wall, b.wall]) expect(r).toBeGreaterThan(0);
    }
    const skew = median(forward) / median(backward);
    expect(Math.max(skew, 1 / skew)).toBeLessThan(1.5);
  });
});
