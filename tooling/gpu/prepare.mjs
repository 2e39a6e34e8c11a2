#!/usr/bin/env node
// Prepares .gpu/ (git-ignored) for one call of the lent GPU machine, which has no Node.js and no
// network: a compressed copy of this node, every GPU test and benchmark bundled into one file
// each, and every built native addon. Run `pnpm build` first. Then, on the device:
//   bash tooling/gpu/run.sh [tests|bench|sanitize|all]   (carry: .gpu)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, collectNativeAddons, repoRoot } from '../scripts/bundle.mjs';

const gpu = join(repoRoot, '.gpu');
for (const d of ['suite', 'bench', 'native']) rmSync(join(gpu, d), { recursive: true, force: true });
mkdirSync(gpu, { recursive: true });

const nodeXz = join(gpu, 'node.xz');
if (!existsSync(nodeXz) || statSync(nodeXz).mtimeMs < statSync(process.execPath).mtimeMs) {
  console.log('compressing node...');
  execFileSync('bash', ['-c', `xz -T2 -c "${process.execPath}" > "${nodeXz}"`]);
}

const only = process.argv.slice(2); // optional package names to limit the bundle
let bundled = 0;
for (const pkg of readdirSync(join(repoRoot, 'packages'))) {
  if (only.length && !only.includes(pkg)) continue;
  for (const [dir, suffix, target] of [
    ['test/gpu', '.gpu.ts', 'suite'],
    ['bench', '.bench.ts', 'bench'],
  ]) {
    const d = join(repoRoot, 'packages', pkg, dir);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).filter((f) => f.endsWith(suffix))) {
      const name = `${pkg}--${f.slice(0, -suffix.length)}.mjs`;
      await bundle(join(d, f), join(gpu, target, name), { sourcemap: false });
      bundled++;
    }
  }
}
const addons = collectNativeAddons(join(gpu, 'native'));
console.log(`bundled ${bundled} files; addons: ${addons.map((a) => a.split('/').pop()).join(', ') || 'none'}`);
const du = execFileSync('du', ['-sh', gpu]).toString().trim();
console.log(`.gpu size: ${du}`);
