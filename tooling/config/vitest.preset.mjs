// Shared vitest preset. Sibling packages resolve to their sources, so a package's tests never
// need a sibling's build. GPU suites (test/gpu, node:test format) are run by tooling/gpu instead.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages');

/**
 * `@flashgraph/<name>` -> its src/index.ts and `@flashgraph/<name>/<entry>` (a subpath export such as
 * `@flashgraph/fa3/reference`) -> its src/<entry>.ts, matched exactly (a prefix match would send
 * the subpath to `src/index.ts/<entry>`).
 */
function siblingAliases() {
  const alias = [];
  for (const name of readdirSync(packagesDir)) {
    const entry = join(packagesDir, name, 'src/index.ts');
    if (!existsSync(entry)) continue;
    alias.push({ find: new RegExp(`^@flashgraph/${name}$`), replacement: entry });
    alias.push({
      find: new RegExp(`^@flashgraph/${name}/([a-z][a-z0-9-]*)$`),
      replacement: join(packagesDir, name, 'src/$1.ts'),
    });
  }
  return alias;
}

/** @param {import('vitest/config').UserConfig} [overrides] */
export function flashgraphVitest(overrides = {}) {
  return defineConfig({
    resolve: { alias: siblingAliases() },
    ...overrides,
    test: {
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      exclude: ['test/gpu/**', 'node_modules/**', 'dist/**'],
      testTimeout: 30_000,
      // The JSON report feeds tooling/scripts/test-summary.mjs (one closing line for all packages).
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results/vitest.json' },
      ...(overrides.test ?? {}),
    },
  });
}
