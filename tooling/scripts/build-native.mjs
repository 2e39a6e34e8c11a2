#!/usr/bin/env node
// Builds one native addon (native/<addon>) with cmake-js and copies the resulting `.node` file(s)
// into <pkg>/prebuilds/<platform>-<arch>/.
//
// Usage (from a package's `build` script, cwd = the package):
//   node ../../tooling/scripts/build-native.mjs <addon> [--out <pkgDir>] [--debug] [--clean] [--verbose]
//
//   <addon>      a folder under native/ (cuda, fa3, engine, interop-test, ...)
//   --out DIR    package that receives prebuilds/linux-x64/<name>.node (default: cwd). cmake-js,
//                node-addon-api and node-api-headers are resolved from DIR's node_modules, so list
//                them as devDependencies of that package.
//   --prebuilds-dir DIR  copy the .node file(s) into DIR instead of <pkgDir>/prebuilds/<platform>-<arch>
//   --no-copy    build only; the addon stays in native/<addon>/build/<config>/ (test-only addons)
//   --debug      Debug configuration (default Release)
//   --clean      delete native/<addon>/build first (otherwise the build dir is reused: incremental)
//
// Environment:
//   CUDACXX / CUDA_HOME / CUDA_PATH  where nvcc is (default: PATH, then /usr/local/cuda/bin/nvcc)
//   FLASHGRAPH_WERROR=1              warnings are errors (also on whenever $CI is set)
//   FLASHGRAPH_PTXAS_VERBOSE=1       print per-kernel register/shared-memory usage
//   FLASHGRAPH_BUILD_JOBS=N          parallel compile jobs (default 2)
//   FLASHGRAPH_CUDA_ARCHITECTURES    override the arch list (default 90a-real, see native/cmake)
//   FLASHGRAPH_SKIP_NATIVE=1         skip the native build (keeps whatever prebuild exists)
//
// The build dir is native/<addon>/build. cmake runs its configure step only when the build dir is
// new or the options below changed, so a rebuild after editing one file recompiles only that file.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = {
    addon: undefined,
    out: process.cwd(),
    prebuildsDir: undefined,
    copy: true,
    debug: false,
    clean: false,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') args.out = resolve(argv[++i] ?? fail('--out needs a directory'));
    else if (a === '--prebuilds-dir')
      args.prebuildsDir = resolve(argv[++i] ?? fail('--prebuilds-dir needs a directory'));
    else if (a === '--no-copy') args.copy = false;
    else if (a === '--debug') args.debug = true;
    else if (a === '--clean') args.clean = true;
    else if (a === '--verbose') args.verbose = true;
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: build-native.mjs <addon> [--out <pkgDir>] [--prebuilds-dir <dir>] [--no-copy] [--debug] [--clean] [--verbose]',
      );
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (args.addon === undefined) args.addon = a;
    else fail(`unexpected argument ${a}`);
  }
  if (!args.addon) fail('missing <addon> (a folder under native/, e.g. cuda)');
  return args;
}

function isExecutable(p) {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function findNvcc() {
  if (process.env.CUDACXX) {
    if (!isExecutable(process.env.CUDACXX))
      fail(`CUDACXX=${process.env.CUDACXX} is not a file; point it at nvcc or unset it.`);
    return realpathSync(process.env.CUDACXX);
  }
  const candidates = [
    process.env.CUDA_HOME && join(process.env.CUDA_HOME, 'bin/nvcc'),
    process.env.CUDA_PATH && join(process.env.CUDA_PATH, 'bin/nvcc'),
    which('nvcc'),
    '/usr/local/cuda/bin/nvcc',
  ];
  const found = candidates.find((c) => c && isExecutable(c));
  // Resolve symlinks so the same compiler always has the same path (a changed path resets CMake's cache).
  return found && realpathSync(found);
}

function resolveFrom(pkgDir, name) {
  const req = createRequire(join(pkgDir, 'package.json'));
  try {
    return dirname(req.resolve(`${name}/package.json`));
  } catch {
    fail(
      `${name} is not installed for ${pkgDir}. Add it to that package's devDependencies ` +
        `(cmake-js, node-addon-api and node-api-headers) and run \`npx -y pnpm@10.34.9 install\`.`,
    );
  }
}

function envFlag(name) {
  const v = (process.env[name] ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false' && v !== 'off';
}

const args = parseArgs(process.argv.slice(2));
if (envFlag('FLASHGRAPH_SKIP_NATIVE')) {
  console.log(`build-native: FLASHGRAPH_SKIP_NATIVE is set, not building ${args.addon}`);
  process.exit(0);
}

const projectDir = join(repoRoot, 'native', args.addon);
if (!existsSync(join(projectDir, 'CMakeLists.txt')))
  fail(`${projectDir}/CMakeLists.txt not found: is "${args.addon}" a folder under native/?`);
if (!existsSync(join(args.out, 'package.json'))) fail(`--out ${args.out} is not a package (no package.json)`);

const cmake = which('cmake');
if (!cmake)
  fail('cmake was not found on PATH. Install CMake >= 3.24 (e.g. `apt-get install cmake` or `pip install cmake`).');
const nvcc = findNvcc();
if (!nvcc) {
  fail(
    'nvcc (the CUDA compiler) was not found. Install the CUDA toolkit (12.8 or newer) and put its bin/ on PATH, ' +
      'or set CUDACXX=/path/to/nvcc. Set FLASHGRAPH_SKIP_NATIVE=1 to build only the TypeScript.',
  );
}

const cmakeJsBin = join(resolveFrom(args.out, 'cmake-js'), 'bin/cmake-js');
const addonApiDir = resolveFrom(args.out, 'node-addon-api');
resolveFrom(args.out, 'node-api-headers'); // cmake-js needs it for the offline Node-API headers

const buildDir = join(projectDir, 'build');
if (args.clean) rmSync(buildDir, { recursive: true, force: true });
const config = args.debug ? 'Debug' : 'Release';

// Everything that must reach CMake's configure step; a change forces a reconfigure.
const defines = {
  NODE_ADDON_API_DIR: addonApiDir,
  CMAKE_CUDA_COMPILER: nvcc,
  FLASHGRAPH_WERROR: envFlag('FLASHGRAPH_WERROR') || envFlag('CI') ? 'ON' : 'OFF',
  FLASHGRAPH_PTXAS_VERBOSE: envFlag('FLASHGRAPH_PTXAS_VERBOSE') ? 'ON' : 'OFF',
};
if (process.env.FLASHGRAPH_CUDA_ARCHITECTURES)
  defines.FLASHGRAPH_CUDA_ARCHITECTURES = process.env.FLASHGRAPH_CUDA_ARCHITECTURES;
const stampPath = join(buildDir, '.flashgraph-configure.json');
const stamp = JSON.stringify({ defines, config, node: process.version }, null, 2);
const needsConfigure =
  !existsSync(join(buildDir, 'CMakeCache.txt')) || !existsSync(stampPath) || readFileSync(stampPath, 'utf8') !== stamp;

const jobs = Number.parseInt(process.env.FLASHGRAPH_BUILD_JOBS ?? '2', 10) || 2;
const common = [
  '--directory',
  projectDir,
  '--out',
  buildDir,
  '--config',
  config,
  ...(args.verbose ? ['--log-level', 'verbose'] : []),
];
const cd = Object.entries(defines).map(([k, v]) => `--CD${k}=${v}`);

function cmakeJs(command, extra = []) {
  const r = spawnSync(process.execPath, [cmakeJsBin, command, ...common, ...cd, ...extra], {
    stdio: 'inherit',
    env: process.env,
  });
  if (r.error) fail(`could not run cmake-js: ${r.error.message}`);
  if (r.status !== 0)
    fail(`cmake-js ${command} failed for native/${args.addon} (exit ${r.status}); see the compiler output above.`);
}

const started = Date.now();
if (needsConfigure) {
  mkdirSync(buildDir, { recursive: true });
  // A different compiler makes CMake drop its cache mid-configure (and the -D values with it):
  // start that configure from an empty cache instead.
  const previous = existsSync(stampPath) ? JSON.parse(readFileSync(stampPath, 'utf8')) : undefined;
  if (previous?.defines?.CMAKE_CUDA_COMPILER !== defines.CMAKE_CUDA_COMPILER) {
    rmSync(join(buildDir, 'CMakeCache.txt'), { force: true });
    rmSync(join(buildDir, 'CMakeFiles'), { recursive: true, force: true });
  }
  rmSync(stampPath, { force: true });
  cmakeJs('configure');
  writeFileSync(stampPath, stamp);
}
cmakeJs('build', ['--parallel', String(jobs)]);

const outputDir = join(buildDir, config);
const built = existsSync(outputDir) ? readdirSync(outputDir).filter((f) => f.endsWith('.node')) : [];
if (built.length === 0) fail(`the build of native/${args.addon} produced no .node file in ${outputDir}`);
if (!args.copy) {
  for (const file of built)
    console.log(`build-native: ${join(outputDir, file)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(0);
}
const prebuildsDir = args.prebuildsDir ?? join(args.out, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(prebuildsDir, { recursive: true });
for (const file of built) {
  // Copy then rename: a process that has the old addon mapped keeps its (unlinked) copy intact.
  const tmp = join(prebuildsDir, `.${file}.${process.pid}.tmp`);
  copyFileSync(join(outputDir, file), tmp);
  renameSync(tmp, join(prebuildsDir, file));
  console.log(`build-native: ${join(prebuildsDir, file)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
