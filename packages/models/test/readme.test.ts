// Runs the README's example (its code block, imports pointed at the sources) in a temp folder.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '@flashgraph/engine';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHfModel, writeTinyModel } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'flashgraph-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README example', () => {
  it('runs as written and prints text', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = /```ts\n([\s\S]*?)\n```/.exec(readme)![1]!;
    expect(code.split('\n').length).toBeLessThanOrEqual(12);
    const ts = code
      .split('\n')
      .filter((line) => !line.startsWith('import '))
      .join('\n')
      .replaceAll("'tiny-llama'", 'folder');
    const body = transformSync(ts, { loader: 'ts' }).code;
    const printed: string[] = [];
    const run = new Function(
      'createEngine',
      'loadHfModel',
      'writeTinyModel',
      'folder',
      'console',
      `return (async () => {\n${body}\n})();`,
    );
    await run(createEngine, loadHfModel, writeTinyModel, join(dir, 'tiny-llama'), {
      log: (s: string) => printed.push(s),
    });
    expect(printed).toHaveLength(1);
    expect(typeof printed[0]).toBe('string');
    expect(printed[0]!.length).toBeGreaterThan(0);
  });
});
