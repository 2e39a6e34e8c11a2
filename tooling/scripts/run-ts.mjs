#!/usr/bin/env node
// Runs a TypeScript script (benchmarks, tools) with plain node: bundles it with esbuild
// (tooling/scripts/bundle.mjs), points $FLASHGRAPH_NATIVE_DIR at the built addons, runs it.
// Usage (from a package): node ../../tooling/scripts/run-ts.mjs bench/x.bench.ts [args...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { bundle, collectNativeAddons, repoRoot } from './bundle.mjs';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.mjs <file.ts> [args...]');
  process.exit(2);
}
const cache = join(repoRoot, 'node_modules/.cache/flashgraph');
mkdirSync(cache, { recursive: true });
const out = join(cache, `${basename(entry).replace(/\.ts$/, '')}-${process.pid}.mjs`);
await bundle(resolve(entry), out);
const env = { ...process.env };
if (!env.FLASHGRAPH_NATIVE_DIR) {
  env.FLASHGRAPH_NATIVE_DIR = join(cache, 'native');
  collectNativeAddons(env.FLASHGRAPH_NATIVE_DIR);
}
const r = spawnSync(process.execPath, [out, ...args], { stdio: 'inherit', env });
rmSync(out, { force: true });
process.exit(r.status ?? 1);
