// Shared tsup preset: ESM + CJS with declarations, Node 20 target.
// A package's tsup.config.ts is `export default flashgraphTsup({ entry: [...] })`.
//
// Entries without declarations (those missing from `dts.entry`, e.g. a `cli` bin next to
// `index`) are executables: Node runs them as ESM, so their CommonJS copies are removed after the
// build instead of shipping unused in the tarball.
import { rmSync } from 'node:fs';
import { defineConfig } from 'tsup';

/** Names of the entries that get no declarations: the bins. */
function binEntries(overrides) {
  const { entry, dts } = overrides;
  if (!entry || Array.isArray(entry) || typeof dts !== 'object' || !dts.entry || Array.isArray(dts.entry)) return [];
  return Object.keys(entry).filter((name) => !(name in dts.entry));
}

/** @param {import('tsup').Options} [overrides] */
export function flashgraphTsup(overrides = {}) {
  const bins = binEntries(overrides);
  const onSuccess = overrides.onSuccess;
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
    onSuccess:
      bins.length === 0
        ? onSuccess
        : async () => {
            const outDir = overrides.outDir ?? 'dist';
            for (const bin of bins) {
              for (const suffix of ['.cjs', '.cjs.map']) rmSync(`${outDir}/${bin}${suffix}`, { force: true });
            }
            if (typeof onSuccess === 'function') await onSuccess();
          },
  });
}
