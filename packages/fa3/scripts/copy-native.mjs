#!/usr/bin/env node
// prepack: copies the addon's sources (native/fa3) and the shared CMake helpers (native/cmake)
// into this package's native/ folder, so the packed tarball carries what a rebuild needs
// (`npx cmake-js build -d native/fa3 --CDNODE_ADDON_API_DIR=$(node -p "require('node-addon-api').include_dir")`).
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoNative = resolve(pkgDir, '../../native');
const target = join(pkgDir, 'native');
if (!existsSync(join(repoNative, 'fa3/CMakeLists.txt'))) {
  // Outside the monorepo (e.g. re-packing an installed package) native/ is already in place.
  if (existsSync(join(target, 'fa3/CMakeLists.txt'))) process.exit(0);
  console.error(`copy-native: ${repoNative}/fa3 not found`);
  process.exit(1);
}
rmSync(target, { recursive: true, force: true });
for (const dir of ['fa3', 'cmake']) {
  cpSync(join(repoNative, dir), join(target, dir), {
    recursive: true,
    filter: (src) => !src.split('/').includes('build'),
  });
}
console.log(`copy-native: native/fa3 and native/cmake -> ${target}`);
