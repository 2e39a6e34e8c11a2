#!/usr/bin/env node
// prepack of a native package: copies its addon's sources (native/<addon>) and the shared CMake
// helpers (native/cmake) into the package's native/ folder, so the tarball carries what a rebuild
// needs: `npx cmake-js build -d native/<addon> --CDNODE_ADDON_API_DIR=$(node -p "require('node-addon-api').include_dir")`.
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
for (const dir of [addon, 'cmake']) {
  cpSync(join(repoNative, dir), join(target, dir), {
    recursive: true,
    filter: (src) => !src.split('/').includes('build'),
  });
}
console.log(`copy-native-sources: native/${addon} and native/cmake -> ${target}`);
