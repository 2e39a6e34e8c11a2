// Bundles a TypeScript entry (a benchmark or a GPU test) into one self-contained ESM file.
// `@flashgraph/<name>` resolves to packages/<name>/src/index.ts, so no build of the packages is
// needed and the bundle runs with a bare `node` (the GPU machine has no node_modules).
// Native addons are not bundled: the packages load them from $FLASHGRAPH_NATIVE_DIR.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const flashgraphSources = {
  name: 'flashgraph-sources',
  setup(b) {
    b.onResolve({ filter: /^@flashgraph\/[a-z0-9-]+$/ }, (args) => {
      const name = args.path.slice('@flashgraph/'.length);
      const entry = join(repoRoot, 'packages', name, 'src/index.ts');
      if (!existsSync(entry)) return { errors: [{ text: `no package source for ${args.path}` }] };
      return { path: entry };
    });
  },
};

/** Bundle `entry` into `outfile` (ESM, node20). `sourcemap: false` keeps device bundles small. */
export async function bundle(entry, outfile, { sourcemap = 'inline' } = {}) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap,
    logLevel: 'error',
    plugins: [flashgraphSources],
    // CJS dependencies inside an ESM bundle need a require().
    banner: {
      js: "import { createRequire as __fgCreateRequire } from 'node:module'; const require = __fgCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}

/** Copy every built addon (packages/*\/prebuilds/linux-x64/*.node, native/*\/build/Release/*.node) into `dir`. */
export function collectNativeAddons(dir) {
  mkdirSync(dir, { recursive: true });
  const found = [];
  const add = (file) => {
    const name = file.split('/').pop();
    if (found.some((f) => f.endsWith(`/${name}`))) return;
    copyFileSync(file, join(dir, name));
    found.push(file);
  };
  for (const pkg of readdirSync(join(repoRoot, 'packages'))) {
    const d = join(repoRoot, 'packages', pkg, 'prebuilds/linux-x64');
    if (existsSync(d)) for (const f of readdirSync(d)) if (f.endsWith('.node')) add(join(d, f));
  }
  for (const addon of readdirSync(join(repoRoot, 'native'))) {
    const d = join(repoRoot, 'native', addon, 'build/Release');
    if (existsSync(d)) for (const f of readdirSync(d)) if (f.endsWith('.node')) add(join(d, f));
  }
  return found;
}
