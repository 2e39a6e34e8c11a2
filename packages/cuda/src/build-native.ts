// `npx @flashgraph/cuda build-native`: builds the native addon of every installed @flashgraph
// package from the sources its tarball carries (native/<addon>, native/cmake, native/common) and
// puts each `.node` file where the loader looks (<package>/prebuilds/<platform>-<arch>/), ahead of
// the platform package's prebuilt binary.
//
// Plain CMake, no cmake-js: node-addon-api (napi.h) and node-api-headers (node_api.h) are
// dependencies of this package, so an npm project needs only the system tools: CMake >= 3.24,
// nvcc (CUDA >= 12.8) and a C++ compiler. Every missing tool is named at once, before any work.
// Progress and the compiler output go to stderr; stdout carries only the built paths.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlashgraphError } from '@flashgraph/errors';
import { probeAddon } from './addon-probe.js';
import { nativePlatformPackage } from './platform-package.js';

export type BuildNativeCode = 'build_tool_missing' | 'build_failed';

/** The source build cannot run (a tool is missing) or failed (code `build_failed`). */
export class BuildNativeError extends FlashgraphError {
  declare readonly code: BuildNativeCode;
  /** The missing tools, for `build_tool_missing`. */
  readonly missing: readonly string[];

  constructor(init: { code: BuildNativeCode; problem: string; fix?: string; missing?: readonly string[] }) {
    super({ code: init.code, problem: init.problem, ...(init.fix === undefined ? {} : { fix: init.fix }) });
    this.missing = Object.freeze([...(init.missing ?? [])]);
  }
}

export interface Toolchain {
  cmake: string;
  nvcc: string;
  cxx: string;
  /** Directory holding napi.h (node-addon-api). */
  nodeAddonApi: string;
  /** Directory holding node_api.h (node-api-headers/include). */
  nodeApiHeaders: string;
}

export interface AddonSource {
  /** The npm package, e.g. `@flashgraph/fa3`. */
  packageName: string;
  packageDir: string;
  /** native/<addon> inside the package. */
  sourceDir: string;
}

export interface BuildNativeOptions {
  /** Where to look for installed packages (default: the current directory, then its parents). */
  cwd?: string;
  /** Build only these packages (npm names). */
  only?: readonly string[];
  /** Parallel compile jobs (default $FLASHGRAPH_BUILD_JOBS or the CPU count). */
  jobs?: number;
  debug?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

const MIN_CMAKE: readonly [number, number] = [3, 24];

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function which(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isFile(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function cmakeVersion(cmake: string, env: NodeJS.ProcessEnv): [number, number] | undefined {
  const r = spawnSync(cmake, ['--version'], { encoding: 'utf8', env });
  const m = /cmake version (\d+)\.(\d+)/.exec(r.stdout ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The directory of an installed package, resolved from this package (its dependencies). */
function packageDirOf(name: string): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** Every tool the build needs; BuildNativeError naming all that are missing. */
export function findToolchain(env: NodeJS.ProcessEnv = process.env): Toolchain {
  const missing: string[] = [];
  const how: string[] = [];
  const cmake = which('cmake', env);
  if (!cmake) {
    missing.push('cmake');
    how.push('CMake >= 3.24: `apt-get install cmake`, `pip install cmake`, or cmake.org');
  } else {
    const v = cmakeVersion(cmake, env);
    if (v && (v[0] < MIN_CMAKE[0] || (v[0] === MIN_CMAKE[0] && v[1] < MIN_CMAKE[1]))) {
      missing.push(`cmake >= ${MIN_CMAKE.join('.')} (found ${v.join('.')} at ${cmake})`);
      how.push('a newer CMake: `pip install cmake` puts one on PATH');
    }
  }
  let nvcc: string | undefined;
  if (env.CUDACXX) nvcc = isFile(env.CUDACXX) ? env.CUDACXX : undefined;
  else {
    nvcc = [
      env.CUDA_HOME && join(env.CUDA_HOME, 'bin/nvcc'),
      env.CUDA_PATH && join(env.CUDA_PATH, 'bin/nvcc'),
      which('nvcc', env),
      '/usr/local/cuda/bin/nvcc',
    ].find((p): p is string => typeof p === 'string' && isFile(p));
  }
  if (!nvcc) {
    missing.push(env.CUDACXX ? `nvcc (CUDACXX=${env.CUDACXX} is not a file)` : 'nvcc');
    how.push(
      'the CUDA toolkit 12.8 or newer (developer.nvidia.com/cuda-downloads), with its bin/ on PATH or CUDACXX set',
    );
  }
  const cxx = env.CXX ? (which(env.CXX, env) ?? (isFile(env.CXX) ? env.CXX : undefined)) : undefined;
  const compiler = cxx ?? ['c++', 'g++', 'clang++'].map((n) => which(n, env)).find((p) => p !== undefined);
  if (!compiler) {
    missing.push(env.CXX ? `a C++ compiler (CXX=${env.CXX} was not found)` : 'a C++ compiler (c++, g++ or clang++)');
    how.push('a C++17 compiler supported by your nvcc: `apt-get install g++`');
  }
  const addonApi = packageDirOf('node-addon-api');
  const apiHeaders = packageDirOf('node-api-headers');
  if (!addonApi || !isFile(join(addonApi, 'napi.h'))) missing.push('node-addon-api');
  if (!apiHeaders || !isFile(join(apiHeaders, 'include/node_api.h'))) missing.push('node-api-headers');
  if (!addonApi || !apiHeaders)
    how.push('reinstall @flashgraph/cuda (node-addon-api and node-api-headers are its dependencies)');
  if (missing.length > 0) {
    throw new BuildNativeError({
      code: 'build_tool_missing',
      problem: `build-native needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} missing`,
      fix: `Install ${how.join('; ')}.`,
      missing,
    });
  }
  return {
    cmake: cmake as string,
    nvcc: realpathSync(nvcc as string),
    cxx: compiler as string,
    nodeAddonApi: addonApi as string,
    nodeApiHeaders: join(apiHeaders as string, 'include'),
  };
}

function flashgraphPackagesIn(nodeModules: string): string[] {
  const scope = join(nodeModules, '@flashgraph');
  if (!existsSync(scope)) return [];
  return readdirSync(scope).map((name) => join(scope, name));
}

/** The native sources of every installed @flashgraph package, this one first. */
export function findAddonSources(cwd: string = process.cwd()): AddonSource[] {
  const dirs: string[] = [resolve(dirname(fileURLToPath(import.meta.url)), '..')];
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    dirs.push(...flashgraphPackagesIn(join(dir, 'node_modules')));
    if (dirname(dir) === dir) break;
  }
  const seen = new Set<string>();
  const out: AddonSource[] = [];
  for (const dir of dirs) {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    let packageName: string;
    try {
      packageName = (createRequire(join(real, 'package.json'))('./package.json') as { name?: string }).name ?? '';
    } catch {
      continue;
    }
    if (!packageName.startsWith('@flashgraph/')) continue;
    const native = join(real, 'native');
    if (!existsSync(native)) continue;
    for (const addon of readdirSync(native).sort()) {
      if (addon === 'cmake' || addon === 'common') continue;
      if (isFile(join(native, addon, 'CMakeLists.txt')))
        out.push({ packageName, packageDir: real, sourceDir: join(native, addon) });
    }
  }
  return out;
}

function run(tool: string, args: string[], env: NodeJS.ProcessEnv, what: string): void {
  // The tools' own output goes to stderr with the progress lines: stdout stays for the results.
  const r = spawnSync(tool, args, { stdio: ['ignore', 2, 2], env });
  if (r.error || r.status !== 0) {
    throw new BuildNativeError({
      code: 'build_failed',
      problem: `${what} failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`,
      fix: 'The compiler output above says why; `--verbose` shows every command.',
    });
  }
}

export interface BuiltAddon {
  packageName: string;
  path: string;
}

/** Builds every addon found; returns where each landed. */
export function buildNative(options: BuildNativeOptions = {}): BuiltAddon[] {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tools = findToolchain(env);
  let sources = findAddonSources(options.cwd);
  if (options.only && options.only.length > 0) {
    const unknown = options.only.filter((name) => !sources.some((s) => s.packageName === name));
    if (unknown.length > 0) {
      throw new BuildNativeError({
        code: 'build_failed',
        problem: `no installed package with native sources named ${unknown.join(', ')}`,
        fix: `Installed: ${[...new Set(sources.map((s) => s.packageName))].join(', ') || 'none'}.`,
      });
    }
    sources = sources.filter((s) => options.only?.includes(s.packageName));
  }
  if (sources.length === 0) {
    throw new BuildNativeError({
      code: 'build_failed',
      problem: 'no installed @flashgraph package carries native sources (native/<addon>/CMakeLists.txt)',
      fix: 'Run it in a project that installed @flashgraph/cuda (or fa3, engine) from npm.',
    });
  }
  const jobs = options.jobs ?? (Number.parseInt(env.FLASHGRAPH_BUILD_JOBS ?? '', 10) || availableParallelism());
  const config = options.debug ? 'Debug' : 'Release';
  log(`build-native: ${sources.length} addon(s) with ${jobs} job(s); cmake ${tools.cmake}, nvcc ${tools.nvcc}`);
  const built: BuiltAddon[] = [];
  for (const [i, source] of sources.entries()) {
    const step = `[${i + 1}/${sources.length}] ${source.packageName}`;
    const buildDir = join(source.sourceDir, 'build');
    const outDir = join(buildDir, 'out');
    rmSync(outDir, { recursive: true, force: true });
    const started = Date.now();
    log(`build-native: ${step}: configuring ${source.sourceDir}`);
    const defines = [
      `-DCMAKE_BUILD_TYPE=${config}`,
      `-DCMAKE_CUDA_COMPILER=${tools.nvcc}`,
      `-DCMAKE_CXX_COMPILER=${tools.cxx}`,
      `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=${outDir}`,
      `-DNODE_ADDON_API_DIR=${tools.nodeAddonApi}`,
      `-DNODE_API_HEADERS_DIR=${tools.nodeApiHeaders}`,
      ...(env.FLASHGRAPH_CUDA_ARCHITECTURES
        ? [`-DFLASHGRAPH_CUDA_ARCHITECTURES=${env.FLASHGRAPH_CUDA_ARCHITECTURES}`]
        : []),
    ];
    run(tools.cmake, ['-S', source.sourceDir, '-B', buildDir, ...defines], env, `${step}: cmake configure`);
    log(`build-native: ${step}: compiling (this takes minutes for the attention kernels)`);
    run(tools.cmake, ['--build', buildDir, '--parallel', String(jobs)], env, `${step}: cmake build`);
    const files = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.node')) : [];
    if (files.length === 0) {
      throw new BuildNativeError({
        code: 'build_failed',
        problem: `${step}: the build produced no .node file in ${outDir}`,
      });
    }
    const prebuilds = join(source.packageDir, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(prebuilds, { recursive: true });
    for (const file of files) {
      // Copy then rename: a process that has the old addon mapped keeps its (unlinked) copy.
      const target = join(prebuilds, file);
      const tmp = join(prebuilds, `.${file}.${process.pid}.tmp`);
      copyFileSync(join(outDir, file), tmp);
      renameSync(tmp, target);
      const probe = probeAddon(target);
      if (!probe.ok) {
        throw new BuildNativeError({
          code: 'build_failed',
          problem: `${step}: ${target} was built but does not load: ${probe.problem}`,
        });
      }
      log(`build-native: ${step}: ${target} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      built.push({ packageName: source.packageName, path: target });
    }
  }
  log(`build-native: done; the loader prefers these builds to the prebuilt addons of ${nativePlatformPackage()}`);
  return built;
}
