// The README's opening example runs as written (against the build, as a user would import it)
// and prints what its comments say.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(join(pkg, 'dist/host.js'));

describe('README', () => {
  it.skipIf(!built)('the first example runs and prints what its comments say', () => {
    const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(code!.trim().split('\n').length).toBeLessThanOrEqual(12);
    const expected = code!
      .split('\n')
      .filter((line) => line.startsWith('console.log('))
      .map((line) => line.slice(line.lastIndexOf('// ') + 3));
    // Inside the package, so its own name and its dependencies resolve as they do for a user.
    const dir = mkdtempSync(join(pkg, '.readme-'));
    try {
      writeFileSync(join(dir, 'example.mjs'), code!);
      const out = execFileSync(process.execPath, [join(dir, 'example.mjs')], { encoding: 'utf8' });
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(expected.length);
      // Each comment starts with what its line prints (and may explain it after that).
      for (const [i, line] of lines.entries()) {
        expect(expected[i]!.startsWith(line), `${line} vs ${expected[i]}`).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
