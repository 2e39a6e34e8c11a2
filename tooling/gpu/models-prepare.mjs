#!/usr/bin/env node
// Prepares a folder for one device call of the models' GPU checks (default: .gpu-models, which
// the lead's checkout ignores): a compressed node, the models' and the device sampler's GPU tests
// bundled, the built addons, the flashgraph CLI bundled (when packages/cli exists), and the
// transformers comparison / benchmark scripts. Run `pnpm build` (or the addons' builds) first.
// Then on the device (carry the folder): `bash <folder>/models-device.sh [kernels|check|bench|sanitize|all]`.
//   node tooling/gpu/models-prepare.mjs [--dest DIR]
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundle, collectNativeAddons, repoRoot } from '../scripts/bundle.mjs';

const destArg = process.argv.indexOf('--dest');
const dest = resolve(destArg > 0 ? (process.argv[destArg + 1] ?? '.gpu-models') : join(repoRoot, '.gpu-models'));
for (const d of ['suite', 'native']) rmSync(join(dest, d), { recursive: true, force: true });
mkdirSync(join(dest, 'suite'), { recursive: true });

const nodeXz = join(dest, 'node.xz');
if (!existsSync(nodeXz) || statSync(nodeXz).mtimeMs < statSync(process.execPath).mtimeMs) {
  console.log('compressing node...');
  execFileSync('bash', ['-c', `xz -T2 -c "${process.execPath}" > "${nodeXz}"`]);
}
const tests = [
  ['packages/models/test/gpu/llama-kernels.gpu.ts', 'models--llama-kernels.mjs'],
  ['packages/engine/test/gpu/sampler.gpu.ts', 'engine--sampler.mjs'],
];
for (const [src, name] of tests) {
  if (existsSync(join(repoRoot, src)))
    await bundle(join(repoRoot, src), join(dest, 'suite', name), { sourcemap: false });
}
const cli = join(repoRoot, 'packages/cli/src/cli.ts');
if (existsSync(cli)) await bundle(cli, join(dest, 'cli.mjs'), { sourcemap: false });
const driver = join(repoRoot, 'packages/models/test/gpu/generate-driver.ts');
if (existsSync(driver)) await bundle(driver, join(dest, 'driver.mjs'), { sourcemap: false });
const bench = join(repoRoot, 'packages/models/bench/cuda-decode.bench.ts');
if (existsSync(bench)) await bundle(bench, join(dest, 'bench.mjs'), { sourcemap: false });
for (const f of ['models-device.sh', 'models-check.py', 'models-bench.py']) {
  const p = join(repoRoot, 'tooling/gpu', f);
  if (existsSync(p)) copyFileSync(p, join(dest, f));
}
const addons = collectNativeAddons(join(dest, 'native'));
console.log(`addons: ${addons.map((a) => a.split('/').pop()).join(', ') || 'none'}`);
console.log(`${dest}: ${execFileSync('du', ['-sh', dest]).toString().trim()}`);
