// Issue 17, the CLI: every argument problem exits 2 with one line naming the flag, before any
// work (nothing on stdout), with no stack trace; config files are read from own properties only.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_USAGE } from '../src/command.js';
import { runCli } from '../src/run.js';

const dir = mkdtempSync(join(tmpdir(), 'fg-cli-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd: dir });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

function expectUsageLine(r: Awaited<ReturnType<typeof cli>>, command: string, names: string | RegExp) {
  expect(r.code).toBe(EXIT_USAGE);
  expect(r.stdout).toBe(''); // before any work: not even the bench header
  expect(r.stderr.split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.startsWith(`flashgraph ${command}: `)).toBe(true);
  expect(r.stderr).toMatch(names);
}

writeFileSync(join(dir, 'proto.json'), '{ "__proto__": { "mode": "none" } }');
writeFileSync(join(dir, 'constructor.json'), '{ "constructor": { "mode": "none" } }');
writeFileSync(join(dir, 'to-string.json'), '{ "toString": 1, "hasOwnProperty": 2 }');
writeFileSync(join(dir, 'not-json.json'), '{ mode: full }');
writeFileSync(join(dir, 'array.json'), '[]');
mkdirSync(join(dir, 'a-folder'));

describe.each([
  [
    'plan',
    [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--max-num-seqs'], /'--max-num-seqs <value>' argument missing/],
      [['--head-dim', '0'], /--head-dim: must be a positive integer \(got "0"\)/],
      [['--num-heads-q', '-3'], /--num-heads-q/],
      [['--mode', 'fulll'], /mode \(--mode\) = "fulll"/],
      [['--max-num-splits', '1e9'], /maxNumSplits \(--max-num-splits\) = "1e9"/],
      [['--max-capture-size', '2147483647'], /--max-capture-size: too large to plan/],
      [['--capture-sizes', '1,two'], /captureSizes\[1\] \(--capture-sizes\) = "two"/],
      [['extra'], /Unexpected argument 'extra'/],
    ],
  ],
  [
    'doctor',
    [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--json=yes'], /--json/],
      [['extra'], /Unexpected argument 'extra'/],
    ],
  ],
  [
    'bench',
    [
      [
        ['--heads-kv', '3'],
        /--heads-kv: must divide the 4 query heads \(--heads-q\) \(got 3, allowed a divisor of 4\)/,
      ],
      [['--heads-kv', '8', '--heads-q', '4'], /--heads-kv: must divide the 4 query heads/],
      [['--chart', '/missing-dir/x.svg'], /--chart: folder \/missing-dir does not exist/],
      [['--chart', 'a-folder'], /--chart: is a directory, not a file/],
      [['--chart', ''], /--chart: needs a file path/],
      [['--batch-sizes', '1,,x'], /--batch-sizes: must be an integer \(got "x"/],
      [['--steps', '0'], /--steps: must be an integer \(got "0", allowed integer in \[1, 100000\]\)/],
      [['--layers', '1.5'], /--layers: must be an integer/],
      [['--modes', ''], /--modes: needs at least one choice/],
      [['--backend', 'tpu'], /--backend: unknown backend/],
      [['--kv-cache-dtype', 'fp8_e5m2'], /--kv-cache-dtype: unknown choice \(got "fp8_e5m2", allowed auto, fp8_e4m3\)/],
      [['--kv-cache-dtype', 'fp8_e4m3'], /--kv-cache-dtype: an fp8 KV cache needs the CUDA backend/],
      [['--seed'], /'--seed <value>' argument missing/],
      // Each flag in range, together more cache slots than int32 holds: the engine's own check.
      [
        ['--context', '1048576', '--batch-sizes', '4096'],
        /--batch-sizes\/--context\/.*: the engine rejects these sizes: /,
      ],
    ],
  ],
  [
    'simulate',
    [
      [['--heads-kv', '3'], /--heads-kv: must divide the 4 query heads/],
      [['--requests', '0'], /--requests: must be an integer \(got "0"/],
      [
        ['--min-prompt', '9', '--max-prompt', '4'],
        /--max-prompt: must be an integer \(got "4", allowed integer in \[9, /,
      ],
      [['--max-num-batched-tokens', '4', '--max-num-seqs', '8'], /--max-num-batched-tokens: must be an integer/],
      [['--modes', 'none,turbo'], /--modes: unknown choice \(got "turbo"/],
      [['--head-dim', '96'], /--head-dim: unsupported head dimension/],
      [['--requests', '1048576', '--max-prompt', '2147483647'], /--requests\/--max-prompt\/--max-output: the workload/],
      [
        ['--max-num-seqs', '65536', '--max-num-batched-tokens', '1048576', '--max-prompt', '100000'],
        /--max-num-seqs\/.*: the engine rejects these sizes: /,
      ],
    ],
  ],
] as const)('flashgraph %s: bad flags exit 2 with one line, before any work', (command, cases) => {
  it.each(cases.map(([argv, names]) => [argv.join(' '), argv, names] as const))('%s', async (_, argv, names) => {
    // bench and simulate on the CPU backend, so that a GPU machine answers the same.
    const backend = command === 'bench' || command === 'simulate' ? ['--backend', 'cpu'] : [];
    expectUsageLine(await cli(command, ...backend, ...argv), command, names);
  });
});

describe('flashgraph plan: bad config files exit 2 with one line', () => {
  it.each([
    ['proto.json', /__proto__ = \{"mode":"none"\}: must be a known option/],
    ['constructor.json', /constructor = \{"mode":"none"\}: must be a known option/],
    ['to-string.json', /toString = 1: must be a known option.* \| hasOwnProperty = 2: must be a known option/],
    ['not-json.json', /--config: not-json.json is not valid JSON/],
    ['array.json', /\(config\) = \[\]: must be an object/],
    ['missing.json', /--config: cannot read missing.json: no such file/],
  ])('%s', async (file, names) => {
    const r = await cli('plan', '--config', file);
    expectUsageLine(r, 'plan', names);
    // Prototype keys are options like any other: never the prototype, never Object's source.
    expect(r.stderr).not.toContain('[native code]');
  });

  it('"__proto__" in a config file is not read as the prototype (it ran in mode none)', async () => {
    const r = await cli('plan', '--config', 'proto.json', '--json');
    expect(r.code).toBe(EXIT_USAGE);
    expect(JSON.parse(r.stdout).error.issues.map((i: { path: string }) => i.path)).toEqual(['__proto__']);
  });
});

describe('the runner', () => {
  it('prints a failure in one line without a stack trace, and the trace with --verbose', async () => {
    const plain = await cli('bench', '--backend', 'cuda');
    expect(plain.code).toBe(1);
    expect(plain.stderr.split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/^flashgraph bench: failed: backend 'cuda' is not available: .* \(--verbose prints/);
    expect(plain.stdout).toBe('');
    const verbose = await cli('--verbose', 'bench', '--backend', 'cuda');
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('accepts --verbose anywhere before --, and prints the usage error trace with it', async () => {
    const r = await cli('bench', '--heads-kv', '3', '--verbose');
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr.split('\n')[0]).toMatch(/--heads-kv: must divide/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
