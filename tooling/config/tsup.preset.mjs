// Shared tsup preset: ESM + CJS with declarations, Node 20 target.
// A package's tsup.config.ts is `export default flashgraphTsup({ entry: [...] })`.
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} [overrides] */
export function flashgraphTsup(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    shims: true,
    ...overrides,
  });
}
