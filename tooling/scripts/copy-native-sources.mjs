#!/usr/bin/env node
// prepack of a native package: copies its addon's sources (native/<addon>), the shared CMake
// helpers (native/cmake) and the shared N-API headers (native/common) into the package's native/
// folder, so the tarball carries what `npx @flashgraph/cuda build-native` needs. Build outputs and
// the addon's own tests (tests/, test/, bench/: self-tests that build without Node) stay out.
// Usage (from packages/<pkg>): node ../../tooling/scripts/copy-native-sources.mjs <addon>
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './bundle.mjs';

const addon = process.argv[2];
if (!addon) {
  console.error('usage: copy-native-sources.mjs <addon>');
  process.exit(2);
}
const repoNative = join(repoRoot, 'native');
const target = resolve('native');
if (!existsSync(join(repoNative, addon, 'CMakeLists.txt'))) {
  console.error(`copy-native-sources: ${repoNative}/${addon} not found`);
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
const LEFT_OUT = new Set(['build', 'tests', 'test', 'bench']);
for (const dir of [addon, 'cmake', 'common']) {
  const from = join(repoNative, dir);
  cpSync(from, join(target, dir), {
    recursive: true,
    filter: (src) =>
      !src
        .slice(from.length)
        .split('/')
        .some((part) => LEFT_OUT.has(part)),
  });
}
console.log(`copy-native-sources: native/${addon}, native/cmake and native/common -> ${target}`);
