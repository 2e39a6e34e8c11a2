// `flashgraph make-tiny-model DIR`: a bad DIR (empty, a file, a folder that holds a model) exits 2
// with one line before anything is written; --overwrite replaces a model and leaves no stale shards.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHfModel } from '@flashgraph/models';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_USAGE } from '../src/command.js';
import { runCli } from '../src/run.js';

const cwd = mkdtempSync(join(tmpdir(), 'fg-cli-tiny-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

function expectUsageLine(r: Awaited<ReturnType<typeof cli>>, message: RegExp) {
  expect(r.code, r.stderr).toBe(EXIT_USAGE);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.startsWith('flashgraph make-tiny-model: ')).toBe(true);
  expect(r.stderr).toMatch(message);
}

describe('flashgraph make-tiny-model DIR', () => {
  it.each([[''], ['   ']])('DIR %j: exit 2, nothing written to the current folder', async (dir) => {
    expectUsageLine(await cli('make-tiny-model', dir), /DIR: is empty/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a DIR that is a file, or under one: exit 2 naming DIR', async () => {
    mkdirSync(join(cwd, 'files'));
    writeFileSync(join(cwd, 'files', 'config.json'), '{}');
    expectUsageLine(await cli('make-tiny-model', 'files/config.json'), /DIR: exists and is not a folder/);
    expectUsageLine(await cli('make-tiny-model', 'files/config.json/x'), /DIR: has a file where a parent folder/);
    expect(readdirSync(join(cwd, 'files'))).toEqual(['config.json']);
  });

  it('a folder holding a model: refused unchanged; --overwrite replaces it without stale shards', async () => {
    const made = await cli('make-tiny-model', 'x', '--architecture', 'Qwen3ForCausalLM', '--shards', '3');
    expect(made.code, made.stderr).toBe(0);
    const sharded = readdirSync(join(cwd, 'x')).sort();
    expect(sharded).toContain('model.safetensors.index.json');

    expectUsageLine(await cli('make-tiny-model', 'x'), /DIR: already holds a model .*Pass --overwrite to replace it/);
    expect(readdirSync(join(cwd, 'x')).sort()).toEqual(sharded);

    const replaced = await cli('make-tiny-model', 'x', '--overwrite');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toMatch(/wrote a tiny random-weight LlamaForCausalLM model/);
    expect(existsSync(join(cwd, 'x', 'model.safetensors.index.json'))).toBe(false);
    expect(readdirSync(join(cwd, 'x')).filter((f) => f.endsWith('.safetensors'))).toEqual(['model.safetensors']);
    await using model = await loadHfModel(join(cwd, 'x'));
    expect(model.config.architecture).toBe('LlamaForCausalLM');
  });

  it('--overwrite takes no value', async () => {
    expectUsageLine(await cli('make-tiny-model', 'y', '--overwrite=yes'), /--overwrite/);
    expect(existsSync(join(cwd, 'y'))).toBe(false);
  });
});
