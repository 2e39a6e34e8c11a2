#!/usr/bin/env node
// Pack test: `pnpm pack` each publishable package, `npm install` all tarballs together into a
// fresh project outside the workspace, and check that each loads with both import() and require()
// and exposes its export names, that its exports map points at files that exist, and that only
// its `files` allow-list shipped. Runs at the end of the root `test` script, after the build.
//
// To add a package: one entry in PACKAGES (its npm name and a few export names it must expose;
// for a native package, its addon: the prebuilt binary and the sources to rebuild it must ship;
// for a package with a bin, the command to run and what it must print).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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
    ],
  },
  {
    name: '@flashgraph/cuda',
    addon: { dir: 'cuda', file: 'flashgraph_cuda.node' },
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
      'DisposedError',
      'createNativeAddonLoader',
    ],
  },
  {
    name: '@flashgraph/fa3',
    addon: { dir: 'fa3', file: 'flashgraph_fa3.node' },
    exports: ['createAttention', 'planSplits', 'referenceAttention', 'writeKvCacheReference', 'tileShape', 'Fa3Error'],
  },
  {
    name: '@flashgraph/attn-metadata',
    exports: ['createMetadataBuilder', 'forwardArgs', 'scheduleArgs', 'describe', 'MetadataError'],
  },
  {
    name: '@flashgraph/cuda-graph',
    exports: [
      'createGraphRunner',
      'createGraphRunnerWithBackend',
      'padRequestCount',
      'GraphCaptureError',
      'GraphRunnerError',
    ],
  },
  {
    name: '@flashgraph/engine',
    addon: { dir: 'engine', file: 'flashgraph_engine.node' },
    exports: ['createEngine', 'syntheticDecoder', 'CacheFullError', 'RequestTooLargeError'],
  },
  {
    name: '@flashgraph/models',
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
];

const PNPM_VERSION = '10.34.9';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const keep = process.env.FLASHGRAPH_KEEP_PACK_TEST === '1';

function run(file, args, cwd) {
  return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Every file an exports map points at, e.g. ['./dist/index.d.ts', './dist/index.js', ...]. */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}

// Runs inside the temporary project: loads each package both ways and reports what it found.
const CHECK_SCRIPT = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const packages = JSON.parse(process.argv[2]);
const results = [];
for (const { name, exports } of packages) {
  const result = { name, problems: [] };
  for (const [how, load] of [['import', () => import(name)], ['require', async () => require(name)]]) {
    try {
      const mod = await load();
      const missing = exports.filter((key) => mod[key] === undefined);
      if (missing.length > 0) result.problems.push(how + '(): missing exports ' + missing.join(', '));
    } catch (error) {
      result.problems.push(how + '() failed: ' + (error && error.stack ? error.stack.split('\\n').slice(0, 3).join(' | ') : String(error)));
    }
  }
  results.push(result);
}
console.log(JSON.stringify(results));
`;

function fail(message) {
  console.error(`pack-test: FAILED\n${message}`);
  process.exitCode = 1;
}

function main() {
  const problems = [];
  for (const { name } of PACKAGES) {
    const dir = packageDir(name);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
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
    for (const { name } of PACKAGES) {
      const destination = join(work, 'tarballs', name.replace(/[@/]/g, '_'));
      mkdirSync(destination, { recursive: true });
      pnpm(['pack', '--pack-destination', destination], packageDir(name));
      const files = readdirSync(destination).filter((file) => file.endsWith('.tgz'));
      if (files.length !== 1) return fail(`  - ${name}: pnpm pack produced ${files.length} tarballs in ${destination}`);
      tarballs.push(join(destination, files[0]));
    }

    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'flashgraph-pack-test', private: true, type: 'module' }),
    );
    writeFileSync(join(project, 'check.mjs'), CHECK_SCRIPT);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], project);

    const results = JSON.parse(run(process.execPath, ['check.mjs', JSON.stringify(PACKAGES)], project));
    for (const result of results) {
      const installed = join(project, 'node_modules', result.name);
      const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
      for (const target of exportTargets(manifest.exports)) {
        if (!existsSync(join(installed, target)))
          result.problems.push(`exports map points at ${target}, which is not in the tarball`);
      }
      const addon = PACKAGES.find((p) => p.name === result.name)?.addon;
      if (addon) {
        const binary = join('prebuilds', `${process.platform}-${process.arch}`, addon.file);
        if (!existsSync(join(installed, binary)))
          result.problems.push(`the tarball lacks its prebuilt addon ${binary}`);
        for (const source of [join('native', addon.dir, 'CMakeLists.txt'), join('native', 'cmake')]) {
          if (!existsSync(join(installed, source)))
            result.problems.push(`the tarball lacks ${source}, needed to rebuild the addon`);
        }
      }
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
      const allowed = new Set(['package.json', 'LICENSE', 'README.md', 'CHANGELOG.md', ...(manifest.files ?? [])]);
      const extra = readdirSync(installed).filter((entry) => entry !== 'node_modules' && !allowed.has(entry));
      if (extra.length > 0) result.problems.push(`ships files outside its "files" allow-list: ${extra.join(', ')}`);
    }

    const failed = results.filter((result) => result.problems.length > 0);
    for (const result of results) {
      if (result.problems.length === 0) {
        const native = PACKAGES.find((p) => p.name === result.name)?.addon ? ', prebuilt addon and its sources' : '';
        console.log(`pack-test: ok   ${result.name} (import and require, exports map${native})`);
      }
    }
    if (failed.length > 0) {
      return fail(
        failed.map((result) => `  ${result.name}\n${result.problems.map((p) => `    - ${p}`).join('\n')}`).join('\n'),
      );
    }
    console.log(`pack-test: ${results.length} package(s) install from their tarballs and load both ways`);
  } catch (error) {
    const output = [error.stdout, error.stderr].filter(Boolean).join('\n').trim();
    fail(`  - ${error.message.split('\n')[0]}${output ? `\n${output}` : ''}`);
  } finally {
    if (keep) console.log(`pack-test: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main();
