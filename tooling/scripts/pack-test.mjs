#!/usr/bin/env node
// Pack test: `pnpm pack` each publishable package and `npm install` all tarballs together into a
// fresh project outside the workspace, on a PATH that holds only node and npm (no cmake, nvcc or
// C++ compiler: installing must need none). Then, for each package:
// - it loads with import() and require() and exposes its export names; the exports map and bin
//   point at files in the tarball; only its `files` allow-list shipped;
// - its published manifest has no workspace-only fields (scripts, devDependencies, `workspace:`
//   ranges) and lists no file it lacks (CHANGELOG.md before `changeset version`);
// - no test sources and no JS bundle that no entry point uses (e.g. a bin's CommonJS twin);
// - no README link points at a file outside the tarball;
// - its declarations type-check in a consumer tsconfig without esnext.disposable or @types/node,
//   under nodenext and bundler resolution;
// - every ```js example of its README runs verbatim on this Node.js;
// - a native package ships the sources to rebuild its addon but no binary, and pins the platform
//   package at exactly the version it has; `npx @flashgraph/cuda build-native` names the missing
//   tools on the bare PATH, and (when cmake, nvcc and a C++ compiler are on the real PATH) rebuilds
//   @flashgraph/cuda from its tarball, and the rebuilt addon is the one that loads.
// The platform package (@flashgraph/cuda-linux-x64-gnu): its os/cpu/libc fields, exactly the addon
// of every native package; each native package loads its addon through it (no GPU here: they load
// and say why CUDA is unavailable). Installed again with npm told the machine is another OS, CPU
// or C library (`--os`, `--cpu`, `--libc`), npm leaves it out, the install still succeeds, and each
// native package's AddonLoadError names the platform package it expected.
// Then the downstream example, examples/custom-runtime/ (when every package it depends on is
// tested): copied into the project beside the installed tarballs, it runs its own toy model,
// KV allocator and scheduler on config, cuda-graph, attn-metadata/host and fa3/reference, and
// must print replay == eager and the metadata checks for each graph mode, then `ok`.
//
// Usage: node tooling/scripts/pack-test.mjs [--only <pkg,...>] [--no-build]
//   --only      test these packages (short names: cuda,errors); their workspace dependencies are
//               packed too. Default: all.
//   --no-build  skip the source build of @flashgraph/cuda (minutes on a small machine).
// Runs at the end of the root `test` script, after the build.
//
// To add a package: one entry in PACKAGES (its npm name and a few export names it must expose;
// for a native package, its addon: the platform package must carry the binary, and the package
// the sources to rebuild it; for a platform package, its os/cpu/libc).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGES = [
  {
    name: '@flashgraph/errors',
    exports: [
      'FlashgraphError',
      'isFlashgraphError',
      'InvalidArgumentError',
      'DisposedError',
      'checkInt',
      'formatValue',
    ],
  },
  {
    name: '@flashgraph/config',
    exports: [
      'resolveGraphConfig',
      'padToCaptureSize',
      'defaultCaptureSizes',
      'estimateSplitWorkspaceBytes',
      'ConfigError',
      'graphConfigJsonSchema',
      'decodeGraphSizes',
      'graphRoute',
      'graphConfigLimits',
    ],
  },
  {
    name: '@flashgraph/cuda',
    addon: { dir: 'cuda', file: 'flashgraph_cuda.node' },
    // Error classes built by one module form must be instanceof the other form's class.
    crossCopy: [
      ['NoCudaDeviceError', ['no driver']],
      ['CudaError', [{ cudaCode: 1, cudaName: 'cudaErrorInvalidValue', call: 'cudaMalloc' }]],
    ],
    exports: [
      'cudaStatus',
      'Stream',
      'Event',
      'DeviceBuffer',
      'PinnedHostBuffer',
      'Graph',
      'GraphExec',
      'memGetInfo',
      'kernels',
      'toBf16',
      'CudaError',
      'NoCudaDeviceError',
      'AddonLoadError',
      'DisposedError',
      'createNativeAddonLoader',
      'wrapNativeAddon',
      'toCudaError',
      'deviceSynchronizeAsync',
    ],
  },
  {
    name: '@flashgraph/fa3',
    addon: { dir: 'fa3', file: 'flashgraph_fa3.node' },
    exports: ['createAttention', 'planSplits', 'referenceAttention', 'writeKvCacheReference', 'tileShape', 'Fa3Error'],
    subpaths: { reference: ['planSplits', 'referenceAttention', 'DEFAULT_SM_COUNT', 'Fa3Error'] },
  },
  {
    name: '@flashgraph/attn-metadata',
    exports: ['createMetadataBuilder', 'forwardArgs', 'scheduleArgs', 'describe', 'MetadataError'],
    subpaths: { host: ['createHostMetadataBuilder', 'createHostMirror', 'forwardArgs', 'describe', 'MetadataError'] },
  },
  {
    name: '@flashgraph/cuda-graph',
    exports: [
      'createGraphRunner',
      'createGraphRunnerWithBackend',
      'padRequestCount',
      'GraphCaptureError',
      'GraphRunnerError',
      'StepError',
      'createCpuGraphRunner',
      'segmentedForward',
    ],
  },
  {
    name: '@flashgraph/engine',
    addon: { dir: 'engine', file: 'flashgraph_engine.node' },
    exports: [
      'createEngine',
      'syntheticDecoder',
      'CacheFullError',
      'RequestTooLargeError',
      'FifoScheduler',
      'EngineAbortedError',
    ],
  },
  {
    name: '@flashgraph/models',
    addon: { dir: 'models', file: 'flashgraph_models.node' },
    exports: [
      'loadHfModel',
      'writeTinyModel',
      'openCheckpoint',
      'writeSafetensors',
      'parseLlamaConfig',
      'HfTokenizer',
      'CheckpointError',
      'ModelConfigError',
      'TokenizerError',
    ],
  },
  {
    name: '@flashgraph/cli',
    exports: ['runCli', 'UsageError'],
    // The installed bin must run: `flashgraph --help` prints the usage.
    bin: { name: 'flashgraph', args: ['--help'], expect: 'Usage: flashgraph' },
  },
  {
    name: '@flashgraph/cuda-linux-x64-gnu',
    // No JavaScript: the addon of every native package above, for this os/cpu/libc.
    platform: { os: 'linux', cpu: 'x64', libc: 'glibc' },
  },
];

/** npm's overrides of the machine it installs for, each making the platform package foreign. */
const FOREIGN_MACHINES = ['--os=darwin', '--cpu=arm64', '--libc=musl'];

const PNPM_VERSION = '10.34.9';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const keep = process.env.FLASHGRAPH_KEEP_PACK_TEST === '1';

function parseArgs(argv) {
  const args = { only: undefined, build: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (argv[i] === '--no-build') args.build = false;
    else {
      console.error(`pack-test: unknown argument ${argv[i]}`);
      process.exit(2);
    }
  }
  return args;
}

function run(file, args, cwd, env = process.env) {
  return execFileSync(file, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The pnpm that runs this script (root `test` script) when there is one, else the pinned one via npx. */
function pnpm(args, cwd) {
  const execpath = process.env.npm_execpath ?? '';
  if (!/pnpm/.test(execpath)) return run('npx', ['-y', `pnpm@${PNPM_VERSION}`, ...args], cwd);
  return /\.c?js$/.test(execpath) ? run(process.execPath, [execpath, ...args], cwd) : run(execpath, args, cwd);
}

function packageDir(name) {
  return join(root, 'packages', name.replace(/^@flashgraph\//, ''));
}

function manifestOf(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** The packages to test: --only names plus their @flashgraph dependencies, in PACKAGES order. */
function selected(only) {
  if (!only) return PACKAGES;
  const want = new Set(only.map((n) => (n.startsWith('@flashgraph/') ? n : `@flashgraph/${n}`)));
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...want]) {
      const manifest = manifestOf(packageDir(name));
      const deps = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
      for (const dep of deps.filter((d) => d.startsWith('@flashgraph/'))) {
        if (!want.has(dep)) {
          want.add(dep);
          grew = true;
        }
      }
    }
  }
  return PACKAGES.filter((p) => want.has(p.name));
}

/** Every file an exports map points at, e.g. ['./dist/index.d.ts', './dist/index.js', ...]. */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}

function binTargets(manifest) {
  if (typeof manifest.bin === 'string') return [manifest.bin];
  return Object.values(manifest.bin ?? {});
}

function filesUnder(dir, base = dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(base, 'node_modules')) out.push(...filesUnder(path, base));
    } else out.push(relative(base, path).split('\\').join('/'));
  }
  return out;
}

/** Relative link targets of a README (markdown links and images, HTML src/href). */
function readmeLinks(text) {
  const links = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push(m[1]);
  for (const m of text.matchAll(/\b(?:src|href)="([^"]+)"/g)) links.push(m[1]);
  return links.filter((l) => l && !/^(https?:|mailto:|#)/.test(l)).map((l) => l.split('#')[0]);
}

/** The ```js blocks of a README, which must run verbatim. */
function jsExamples(text) {
  return [...text.matchAll(/```(?:js|javascript|mjs)\n([\s\S]*?)```/g)].map((m) => m[1]);
}

// Runs inside the temporary project: loads each package both ways and reports what it found.
const CHECK_SCRIPT = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const packages = JSON.parse(process.argv[2]);
const results = [];
for (const { name, exports, subpaths = {}, crossCopy } of packages) {
  const result = { name, problems: [] };
  for (const [cls, args] of crossCopy ?? []) {
    try {
      const esm = await import(name);
      const cjs = require(name);
      for (const [made, other, how] of [[new cjs[cls](...args), esm[cls], 'require() -> import()'], [new esm[cls](...args), cjs[cls], 'import() -> require()']]) {
        if (!(made instanceof other)) result.problems.push(cls + ': an error made through ' + how.split(' -> ')[0] + ' is not instanceof the class from ' + how.split(' -> ')[1]);
      }
    } catch (error) {
      result.problems.push(cls + ': cross-copy check failed: ' + String(error));
    }
  }
  // The package entry, then each subpath export (e.g. @flashgraph/fa3/reference) by its full name.
  const entries = [[name, exports], ...Object.entries(subpaths).map(([sub, keys]) => [name + '/' + sub, keys])];
  for (const [specifier, keys] of entries) {
    for (const [how, load] of [['import', () => import(specifier)], ['require', async () => require(specifier)]]) {
      try {
        const mod = await load();
        const missing = keys.filter((key) => mod[key] === undefined);
        if (missing.length > 0) result.problems.push(how + '(' + specifier + '): missing exports ' + missing.join(', '));
      } catch (error) {
        result.problems.push(how + '(' + specifier + ') failed: ' + (error && error.stack ? error.stack.split('\\n').slice(0, 3).join(' | ') : String(error)));
      }
    }
  }
  results.push(result);
}
console.log(JSON.stringify(results));
`;

// Runs inside a project: loads each native package's addon with the package's own loader (its
// moduleUrl is its entry, one folder below its root, as in its src/native.ts) and reports where
// it came from and what the addon's status() says, or the AddonLoadError's attempts.
const LOAD_SCRIPT = `
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const require = createRequire(import.meta.url);
const { createNativeAddonLoader, cudaStatus } = require('@flashgraph/cuda');
const addons = [];
for (const { name, file } of JSON.parse(process.argv[2])) {
  const moduleUrl = pathToFileURL(require.resolve(name)).href;
  const r = createNativeAddonLoader({ file, moduleUrl, buildCommand: 'pack-test' })();
  if (!r.addon) {
    addons.push({ name, file, platformPackage: r.error.platformPackage, attempts: r.error.attempts });
    continue;
  }
  let status;
  try {
    status = r.addon.status();
  } catch (error) {
    status = { threw: String(error) };
  }
  addons.push({ name, file, path: r.path, status });
}
console.log(JSON.stringify({ addons, cuda: cudaStatus() }));
`;

/** LOAD_SCRIPT's report for these native packages, run in `project` on the bare PATH. */
function loadAddons(project, bare, natives) {
  writeFileSync(join(project, 'load.mjs'), LOAD_SCRIPT);
  const list = natives.map((p) => ({ name: p.name, file: p.addon.file }));
  return JSON.parse(
    run(process.execPath, ['load.mjs', JSON.stringify(list)], project, {
      PATH: bare,
      HOME: process.env.HOME ?? project,
    }),
  );
}

/**
 * A project whose package.json lists the tarballs as a user's would get them: the packages as
 * dependencies, a platform package as an optional one (the native packages list it so).
 */
function installProject(dir, packages, tarballs, bare, npmFlags = []) {
  mkdirSync(dir);
  const dependencies = {};
  const optionalDependencies = {};
  packages.forEach((p, i) => {
    (p.platform ? optionalDependencies : dependencies)[p.name] = `file:${tarballs[i]}`;
  });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'flashgraph-pack-test', private: true, type: 'module', dependencies, optionalDependencies }),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...npmFlags], dir, {
    PATH: bare,
    HOME: process.env.HOME ?? dir,
  });
}

/** The platform package's manifest and contents: its os/cpu/libc, and the addon of every native package. */
function checkPlatformPackage(manifest, files, platform, problems) {
  for (const field of ['os', 'cpu', 'libc']) {
    if (JSON.stringify(manifest[field]) !== JSON.stringify([platform[field]]))
      problems.push(`"${field}" is ${JSON.stringify(manifest[field])}, expected ${JSON.stringify([platform[field]])}`);
  }
  const expected = PACKAGES.filter((p) => p.addon)
    .map((p) => p.addon.file)
    .sort();
  const shipped = files.filter((f) => f.endsWith('.node')).sort();
  if (JSON.stringify(shipped) !== JSON.stringify(expected))
    problems.push(`ships the addons ${shipped.join(', ') || 'none'}, expected ${expected.join(', ')}`);
}

/** `flashgraph doctor --json` of the installed CLI: its report of every addon. */
function doctorAddons(project, bare) {
  const out = run(join(project, 'node_modules/.bin/flashgraph'), ['doctor', '--json'], project, {
    PATH: bare,
    HOME: process.env.HOME ?? project,
  });
  return JSON.parse(out).addons;
}

/**
 * Each native package loads its addon from the installed platform package, and so does
 * `flashgraph doctor` (when the CLI is installed) report it; returns what the addons say.
 */
function checkLoadsThroughPlatform(project, bare, natives, platformName, withCli, problems) {
  const report = loadAddons(project, bare, natives);
  const platformDir = realpathSync(join(project, 'node_modules', platformName));
  if (withCli) {
    for (const a of doctorAddons(project, bare)) {
      if (a.status !== 'loaded' || realpathSync(a.path) !== join(platformDir, a.file))
        problems.push(
          `flashgraph doctor reports ${a.file} ${a.status} (${a.path ?? a.detail}), not from ${platformName}`,
        );
    }
  }
  for (const a of report.addons) {
    if (!a.path) {
      problems.push(
        `${a.name} did not load ${a.file}: ${a.attempts.map((t) => `${t.path} (${t.problem})`).join('; ')}`,
      );
    } else if (realpathSync(a.path) !== join(platformDir, a.file)) {
      problems.push(`${a.name} loaded ${a.path}, not ${platformName}'s copy`);
    } else if (typeof a.status?.available !== 'boolean' || (!a.status.available && !a.status.reason)) {
      problems.push(`${a.name}: status() of the loaded addon gave ${JSON.stringify(a.status)}`);
    }
  }
  if (!(report.cuda.runtimeVersion > 0))
    problems.push(`cudaStatus() did not reach the addon: ${report.cuda.reason ?? JSON.stringify(report.cuda)}`);
  // What the loaded addons say about this machine, e.g. each "no NVIDIA driver was found".
  const said = new Set(
    report.addons
      .filter((a) => a.path && a.status)
      .map((a) => (a.status.available ? 'CUDA is available' : `"${String(a.status.reason).split(/ \(|\. /)[0]}"`)),
  );
  return `each says ${[...said].join(' / ')}`;
}

/**
 * The same tarballs installed for machines npm is told are foreign (FOREIGN_MACHINES): npm leaves
 * the platform package out, the install succeeds, and each native package's AddonLoadError names
 * the platform package it expected.
 */
function checkForeignMachines(work, packages, tarballs, bare, natives, platformName, withCli) {
  const problems = [];
  for (const flag of FOREIGN_MACHINES) {
    const dir = join(work, `project${flag.replace(/[^a-z0-9]+/g, '-')}`);
    try {
      installProject(dir, packages, tarballs, bare, [flag]);
    } catch (error) {
      problems.push(
        `npm install ${flag} failed: ${
          String(error.stderr ?? error.message)
            .trim()
            .split('\n')[0]
        }`,
      );
      continue;
    }
    if (existsSync(join(dir, 'node_modules', platformName))) {
      problems.push(`npm install ${flag} installed ${platformName} (its os, cpu or libc field did not keep it out)`);
      continue;
    }
    for (const a of loadAddons(dir, bare, natives).addons) {
      const named = a.attempts?.some((t) => t.path === `${platformName}/${a.file}` && /^not installed/.test(t.problem));
      if (a.path || a.platformPackage !== platformName || !named)
        problems.push(`after npm install ${flag}, ${a.name}: ${JSON.stringify(a.path ?? a.attempts)}`);
    }
    // The doctor says which package to install for each addon (and still exits 0: CPU-only works).
    for (const a of withCli ? doctorAddons(dir, bare) : []) {
      if (a.status !== 'missing' || a.install !== platformName)
        problems.push(`after npm install ${flag}, flashgraph doctor reports ${a.file}: ${JSON.stringify(a)}`);
    }
  }
  return problems;
}

function fail(message) {
  console.error(`pack-test: FAILED\n${message}`);
  process.exitCode = 1;
}

/** A bin directory with only node, npm and npx: the PATH of a machine without build tools. */
function barePath(work) {
  const bin = join(work, 'bare-bin');
  mkdirSync(bin);
  const nodeDir = dirname(process.execPath);
  for (const tool of ['node', 'npm', 'npx']) {
    const found = [nodeDir, ...(process.env.PATH ?? '').split(delimiter)].map((d) => join(d, tool)).find(existsSync);
    if (found) symlinkSync(found, join(bin, tool));
  }
  return bin;
}

function which(name) {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((d) => join(d, name))
    .find((p) => existsSync(p) && statSync(p).isFile());
}

function checkManifest(manifest, files, problems) {
  if (manifest.scripts) problems.push(`published manifest keeps scripts: ${Object.keys(manifest.scripts).join(', ')}`);
  if (manifest.devDependencies) problems.push('published manifest keeps devDependencies');
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${dep} is ${range}`);
    }
  }
  for (const entry of manifest.files ?? []) {
    if (!files.some((f) => f === entry || f.startsWith(`${entry}/`)))
      problems.push(`"files" lists ${entry}, which is not in the tarball`);
  }
}

function checkContents(manifest, files, problems) {
  const tests = files.filter(
    (f) => /(^|\/)(tests?|__tests__)\//.test(f) || /\.(test|spec|gpu)\.[cm]?[jt]s$/.test(f) || /selftest/i.test(f),
  );
  if (tests.length > 0) problems.push(`ships test sources: ${tests.slice(0, 5).join(', ')}`);
  const used = new Set(
    [...exportTargets(manifest.exports), manifest.main, manifest.module, ...binTargets(manifest)]
      .filter(Boolean)
      .map((t) => posix.normalize(t.replace(/^\.\//, ''))),
  );
  const unused = files.filter((f) => /^dist\/[^/]+\.(c|m)?js$/.test(f) && !used.has(f));
  if (unused.length > 0) problems.push(`ships bundles no entry point uses: ${unused.join(', ')}`);
  for (const bin of binTargets(manifest)) {
    const path = posix.normalize(bin.replace(/^\.\//, ''));
    if (!files.includes(path)) problems.push(`bin ${bin} is not in the tarball`);
  }
}

function checkReadme(installed, files, problems) {
  const readme = join(installed, 'README.md');
  if (!existsSync(readme)) return;
  for (const link of readmeLinks(readFileSync(readme, 'utf8'))) {
    const target = posix.normalize(link.replace(/^\.\//, ''));
    if (!files.some((f) => f === target || f.startsWith(`${target}/`)))
      problems.push(`README links to ${link}, which is not in the tarball`);
  }
}

/** Declarations in a consumer without esnext.disposable or @types/node, under nodenext and bundler. */
function checkTypes(project, packages) {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const problems = new Map();
  const body = packages.map((p, i) => `import * as p${i} from '${p.name}';\nexport { p${i} };\n`).join('');
  writeFileSync(join(project, 'types-check.ts'), body);
  for (const [module, moduleResolution] of [
    ['NodeNext', 'NodeNext'],
    ['ESNext', 'Bundler'],
  ]) {
    const config = join(project, `tsconfig.${moduleResolution}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022'],
          types: [],
          module,
          moduleResolution,
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['types-check.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: project, encoding: 'utf8' });
    if (r.status !== 0 && !/error TS/.test(r.stdout ?? '')) {
      problems.set('the consumer', [`tsc did not run (${moduleResolution}): ${r.error ?? r.stderr}`]);
    }
    for (const line of (r.stdout ?? '').split('\n').filter((l) => /error TS/.test(l))) {
      const m = /node_modules\/(@flashgraph\/[a-z0-9-]+)\//.exec(line);
      const name = m ? m[1] : 'the consumer';
      const list = problems.get(name) ?? [];
      if (list.length < 3) list.push(`types (${moduleResolution}, lib ES2022 only): ${line.trim()}`);
      problems.set(name, list);
    }
  }
  return problems;
}

function runExamples(project, installed, problems) {
  const readme = join(installed, 'README.md');
  if (!existsSync(readme)) return 0;
  const examples = jsExamples(readFileSync(readme, 'utf8'));
  examples.forEach((code, i) => {
    const file = join(project, `example-${i}-${Date.now()}.mjs`);
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) {
      const err = (r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(0, 4).join(' | ');
      problems.push(`README example ${i + 1} fails on Node ${process.version}: ${err}`);
    }
  });
  return examples.length;
}

/** `npx @flashgraph/cuda build-native` without tools (names them), and with them (builds cuda). */
function checkSourceBuild(project, bare, build, problems, notes) {
  const cli = join(project, 'node_modules/.bin/flashgraph-cuda');
  const noTools = spawnSync(cli, ['build-native'], {
    cwd: project,
    encoding: 'utf8',
    env: { PATH: bare, HOME: process.env.HOME ?? project },
  });
  if (noTools.status !== 1 || !/needs .*cmake.*which (is|are) missing/.test(noTools.stderr)) {
    problems.push(`build-native on a PATH without tools: exit ${noTools.status}, stderr ${noTools.stderr.trim()}`);
  }
  const tools = ['cmake', 'nvcc', 'c++'].filter((t) => !which(t) && !(t === 'nvcc' && process.env.CUDACXX));
  if (!build || tools.length > 0) {
    notes.push(build ? `source build skipped: no ${tools.join(', ')} on PATH` : 'source build skipped (--no-build)');
    return;
  }
  const started = Date.now();
  const r = spawnSync(cli, ['build-native', '--only', '@flashgraph/cuda'], {
    cwd: project,
    encoding: 'utf8',
    env: process.env,
    timeout: 1_200_000,
  });
  const built = (r.stdout ?? '').trim().split('\n').filter(Boolean);
  const expected = join(project, 'node_modules/@flashgraph/cuda/prebuilds', `${process.platform}-${process.arch}`);
  if (r.status !== 0 || built.length !== 1 || !built[0].startsWith(expected)) {
    problems.push(
      `build-native from the tarball failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`,
    );
    return;
  }
  if (!/build-native: \[1\/1\] @flashgraph\/cuda: configuring/.test(r.stderr))
    problems.push('build-native printed no progress on stderr');
  // A binary built here comes before the platform package's: the rebuilt one is what loads.
  const [loaded] = loadAddons(project, bare, [PACKAGES.find((p) => p.name === '@flashgraph/cuda')]).addons;
  if (loaded.path !== built[0] || !(loaded.status?.runtimeVersion > 0))
    problems.push(`the rebuilt addon is not the one that loads: ${JSON.stringify(loaded)}`);
  notes.push(
    `build-native rebuilt @flashgraph/cuda from its tarball in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

const EXAMPLE_DIR = join(root, 'examples/custom-runtime');
const EXAMPLE_MODES = ['full', 'full_and_piecewise', 'piecewise', 'full_decode_only'];

/**
 * Copies examples/custom-runtime (its package.json, README and src/, not its node_modules) into
 * the project, where its imports resolve to the installed tarballs only, runs it on the bare PATH
 * and checks what it prints. Returns its problems.
 */
function runCustomRuntimeExample(project, bare, installedNames) {
  const problems = [];
  const manifest = manifestOf(EXAMPLE_DIR);
  const deps = Object.keys(manifest.dependencies ?? {});
  const missing = deps.filter((dep) => !installedNames.includes(dep));
  if (missing.length > 0) return [`depends on ${missing.join(', ')}, which no tarball provides`];
  const dir = join(project, 'custom-runtime');
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (source) => !source.includes(`${sep}node_modules`) });
  const r = spawnSync(process.execPath, ['src/main.mjs'], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: bare, HOME: process.env.HOME ?? project },
    timeout: 120_000,
  });
  const out = r.stdout ?? '';
  if (r.status !== 0) {
    const tail = `${out}\n${r.stderr ?? ''}`.trim().split('\n').slice(-8).join(' | ');
    return [`exited ${r.status ?? r.signal}: ${tail}`];
  }
  for (const mode of EXAMPLE_MODES) {
    const route = new RegExp(
      `mode ${mode}: (\\d+) graphs captured; (\\d+) steps \\((\\d+) full-graph incl\\. (\\d+) decode-graph, (\\d+) piecewise, (\\d+) eager\\), (\\d+)/(\\d+) requests finished`,
    ).exec(out);
    if (!route) {
      problems.push(`printed no step summary for mode ${mode}`);
      continue;
    }
    const [graphs, steps, full, decode, piecewise, eager, finished, total] = route.slice(1).map(Number);
    const replays = mode === 'piecewise' ? piecewise : full;
    if (graphs === 0 || replays === 0 || eager === 0 || finished !== total || steps !== full + piecewise + eager)
      problems.push(`mode ${mode}: a thin run (${route[0]})`);
    if (mode !== 'piecewise' && decode === 0) problems.push(`mode ${mode}: no decode-graph replay`);
    if (!new RegExp(`mode ${mode}: replay == eager, bit-identical logits on ${steps} steps`).test(out))
      problems.push(`mode ${mode}: printed no "replay == eager" over its ${steps} steps`);
    if (!new RegExp(`mode ${mode}: metadata rules hold on ${steps} steps`).test(out))
      problems.push(`mode ${mode}: printed no metadata checks over its ${steps} steps`);
  }
  if (/MISMATCH/.test(out) || !/^custom-runtime: ok /m.test(out)) problems.push('did not print "custom-runtime: ok"');
  return problems;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const packages = selected(args.only);
  const problems = [];
  for (const { name } of packages) {
    const dir = packageDir(name);
    const manifest = manifestOf(dir);
    if (manifest.name !== name) problems.push(`${dir}/package.json is named ${manifest.name}, expected ${name}`);
    const missing = exportTargets(manifest.exports).filter(
      (target) => target.startsWith('./dist/') && !existsSync(join(dir, target)),
    );
    if (missing.length > 0) problems.push(`${name}: not built (missing ${missing.join(', ')}); run the build first`);
  }
  if (problems.length > 0) return fail(problems.map((p) => `  - ${p}`).join('\n'));

  const work = mkdtempSync(join(tmpdir(), 'flashgraph-pack-test-'));
  try {
    const tarballs = [];
    for (const { name } of packages) {
      const destination = join(work, 'tarballs', name.replace(/[@/]/g, '_'));
      mkdirSync(destination, { recursive: true });
      pnpm(['pack', '--pack-destination', destination], packageDir(name));
      const files = readdirSync(destination).filter((file) => file.endsWith('.tgz'));
      if (files.length !== 1) return fail(`  - ${name}: pnpm pack produced ${files.length} tarballs in ${destination}`);
      tarballs.push(join(destination, files[0]));
    }

    const project = join(work, 'project');
    const bare = barePath(work);
    installProject(project, packages, tarballs, bare);
    writeFileSync(join(project, 'check.mjs'), CHECK_SCRIPT);

    // A platform package has no JavaScript to load or type-check.
    const jsPackages = packages.filter((p) => !p.platform);
    const results = JSON.parse(run(process.execPath, ['check.mjs', JSON.stringify(jsPackages)], project));
    const typeProblems = checkTypes(project, jsPackages);
    const notes = [];
    const natives = packages.filter((p) => p.addon);
    const platform = packages.find((p) => p.platform);
    const withCli = packages.some((p) => p.name === '@flashgraph/cli');
    let platformLoad = '';
    if (platform) {
      const result = { name: platform.name, problems: [] };
      results.push(result);
      if (natives.length > 0)
        platformLoad = checkLoadsThroughPlatform(project, bare, natives, platform.name, withCli, result.problems);
    }
    for (const result of results) {
      const installed = join(project, 'node_modules', result.name);
      const manifest = manifestOf(installed);
      const files = filesUnder(installed);
      for (const target of exportTargets(manifest.exports)) {
        if (!existsSync(join(installed, target)))
          result.problems.push(`exports map points at ${target}, which is not in the tarball`);
      }
      checkManifest(manifest, files, result.problems);
      checkContents(manifest, files, result.problems);
      checkReadme(installed, files, result.problems);
      result.problems.push(...(typeProblems.get(result.name) ?? []));
      result.examples = runExamples(project, installed, result.problems);
      const addon = packages.find((p) => p.name === result.name)?.addon;
      if (addon) {
        if (files.some((f) => f.endsWith('.node')))
          result.problems.push(
            `ships a binary (${files.find((f) => f.endsWith('.node'))}): it belongs in the platform package`,
          );
        for (const source of [join('native', addon.dir, 'CMakeLists.txt'), 'native/cmake', 'native/common']) {
          if (!existsSync(join(installed, source)))
            result.problems.push(`the tarball lacks ${source}, needed to rebuild the addon`);
        }
        for (const { name } of PACKAGES.filter((p) => p.platform)) {
          const version = manifestOf(packageDir(name)).version;
          const pinned = manifest.optionalDependencies?.[name];
          if (pinned !== version)
            result.problems.push(
              `optionalDependencies["${name}"] is ${pinned ?? 'missing'}, expected exactly ${version}`,
            );
        }
      }
      const platformFields = packages.find((p) => p.name === result.name)?.platform;
      if (platformFields) checkPlatformPackage(manifest, files, platformFields, result.problems);
      const bin = PACKAGES.find((p) => p.name === result.name)?.bin;
      if (bin) {
        try {
          const output = run(join(project, 'node_modules', '.bin', bin.name), bin.args, project);
          if (!output.includes(bin.expect))
            result.problems.push(`\`${bin.name} ${bin.args.join(' ')}\` printed no "${bin.expect}"`);
        } catch (error) {
          result.problems.push(
            `\`${bin.name} ${bin.args.join(' ')}\` failed: ${String(error.stderr ?? error.message).split('\n')[0]}`,
          );
        }
      }
      const allowed = new Set(['package.json', 'LICENSE', 'README.md', ...(manifest.files ?? [])]);
      const extra = readdirSync(installed).filter((entry) => entry !== 'node_modules' && !allowed.has(entry));
      if (extra.length > 0) result.problems.push(`ships files outside its "files" allow-list: ${extra.join(', ')}`);
      if (result.name === '@flashgraph/cuda') checkSourceBuild(project, bare, args.build, result.problems, notes);
    }
    for (const [name, list] of typeProblems) {
      if (!results.some((r) => r.name === name)) problems.push(`${name}: ${list.join('; ')}`);
    }

    const failed = results.filter((result) => result.problems.length > 0);
    for (const result of results) {
      if (result.problems.length === 0 && result.name === platform?.name) {
        const loads =
          natives.length > 0
            ? `; ${natives.map((p) => p.name).join(', ')} ${natives.length === 1 ? 'loads its addon' : 'load their addons'} through it (${withCli ? '`flashgraph doctor` agrees; ' : ''}${platformLoad})`
            : '';
        console.log(`pack-test: ok   ${result.name} (manifest, contents, os/cpu/libc, every addon${loads})`);
      } else if (result.problems.length === 0) {
        const native = packages.find((p) => p.name === result.name)?.addon
          ? ', the addon sources, the platform package pinned'
          : '';
        const examples = result.examples ? `, ${result.examples} README example(s) run` : '';
        console.log(
          `pack-test: ok   ${result.name} (import and require, exports map, manifest, contents, README links, types${examples}${native})`,
        );
      }
    }
    const exampleDeps = Object.keys(manifestOf(EXAMPLE_DIR).dependencies ?? {});
    const installedNames = results.map((r) => r.name);
    if (exampleDeps.every((dep) => installedNames.includes(dep))) {
      const exampleProblems = runCustomRuntimeExample(project, bare, installedNames);
      if (exampleProblems.length > 0) problems.push(...exampleProblems.map((p) => `examples/custom-runtime: ${p}`));
      else
        console.log(
          `pack-test: ok   examples/custom-runtime (from the tarballs: replay == eager and the metadata rules in ${EXAMPLE_MODES.length} graph modes)`,
        );
    } else notes.push('examples/custom-runtime skipped: --only leaves out a package it uses');
    if (platform && natives.length > 0) {
      const foreign = checkForeignMachines(work, packages, tarballs, bare, natives, platform.name, withCli);
      if (foreign.length > 0) problems.push(...foreign.map((p) => `foreign machines: ${p}`));
      else
        console.log(
          `pack-test: ok   foreign machines (npm ${FOREIGN_MACHINES.join(', ')}): ${platform.name} is left out, the install succeeds, and ${natives.length} native package(s) name it in their AddonLoadError${withCli ? ' (and `flashgraph doctor` says to install it)' : ''}`,
        );
    }
    for (const note of notes) console.log(`pack-test: ${note}`);
    if (failed.length > 0 || problems.length > 0) {
      return fail(
        [
          ...problems.map((p) => `  - ${p}`),
          ...failed.map((result) => `  ${result.name}\n${result.problems.map((p) => `    - ${p}`).join('\n')}`),
        ].join('\n'),
      );
    }
    console.log(`pack-test: ${results.length} package(s) install from their tarballs and pass every check`);
  } catch (error) {
    const output = [error.stdout, error.stderr].filter(Boolean).join('\n').trim();
    fail(`  - ${error.message.split('\n')[0]}${output ? `\n${output}` : ''}`);
  } finally {
    if (keep) console.log(`pack-test: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main();
