// Issue 17, property-based: any hostile value for any numeric flag of any command exits 2 with one
// line naming the flag, prints nothing on stdout, and never crashes or starts work.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../src/command.js';
import { runCli } from '../src/run.js';

const dir = mkdtempSync(join(tmpdir(), 'fg-cli-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NUMERIC_FLAGS: Readonly<Record<string, readonly string[]>> = {
  bench: [
    '--batch-sizes',
    '--context',
    '--steps',
    '--warmup-steps',
    '--layers',
    '--heads-q',
    '--heads-kv',
    '--head-dim',
    '--block-size',
    '--max-num-batched-tokens',
    '--max-num-splits',
    '--seed',
  ],
  simulate: [
    '--requests',
    '--seed',
    '--min-prompt',
    '--max-prompt',
    '--min-output',
    '--max-output',
    '--max-num-seqs',
    '--max-num-batched-tokens',
    '--block-size',
    '--layers',
    '--heads-q',
    '--heads-kv',
    '--head-dim',
  ],
  plan: ['--max-capture-size', '--max-num-splits', '--num-warmups', '--max-num-seqs', '--num-heads-q', '--head-dim'],
};

/** Values no numeric flag accepts: not a plain decimal integer, or far out of every range. */
const hostile = fc.oneof(
  fc.constantFrom(
    'NaN',
    'Infinity',
    '-Infinity',
    '-0',
    '-1',
    '0.5',
    '1e3',
    '0x10',
    '1_000',
    '',
    ' ',
    '9007199254740993',
    '2147483648',
    '4294967296',
    '99999999999999999999',
    '__proto__',
    'constructor',
    'toString',
  ),
  fc.string({ maxLength: 12 }).filter((s) => !/^\s*\d+\s*$/.test(s) && !s.startsWith('-')),
);

describe.each(Object.entries(NUMERIC_FLAGS))('flashgraph %s: hostile numeric flags', (command, flags) => {
  // bench and simulate check their flags' ranges themselves; plan passes values to
  // @flashgraph/config, which decides (it takes maxNumSeqs 2^32, say): there a value is rejected
  // the same way or planned, never a crash.
  const mayPlan = command === 'plan';
  it('exit 2, one line naming the flag, nothing on stdout', async () => {
    const backend = command === 'plan' ? [] : ['--backend', 'cpu'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...flags), hostile, async (flag, value) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await runCli([command, ...backend, `${flag}=${value}`], {
          stdout: (t) => out.push(t),
          stderr: (t) => err.push(t),
          cwd: dir,
        });
        if (mayPlan && code === EXIT_OK) {
          expect(err).toEqual([]);
          return;
        }
        expect(code).toBe(EXIT_USAGE);
        expect(out).toEqual([]);
        expect(err).toHaveLength(1);
        expect(err[0]).not.toContain('\n');
        // The message names the flag itself, or (plan) the option it sets.
        expect(err[0]).toMatch(new RegExp(`${flag}\\b`));
      }),
      { numRuns: 150 },
    );
  });
});
