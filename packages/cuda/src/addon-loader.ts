// Finds and loads a flashgraph native addon, once, without ever throwing: the one loader that
// @flashgraph/cuda, fa3, engine and models share. Order:
// 1. $FLASHGRAPH_NATIVE_DIR/<file>;
// 2. <package>/prebuilds/<platform>-<arch>/<file>: a binary built on this machine, by
//    `npx @flashgraph/cuda build-native` or the repository's build. It comes before the download:
//    whoever built one wants it used (another GPU architecture, a debug build), and in the
//    repository a filled platform package would otherwise shadow every rebuild;
// 3. the platform package (platform-package.ts), e.g. @flashgraph/cuda-linux-x64-gnu/<file>: the
//    prebuilt binary npm installed as an optional dependency of the loading package.
//
// A binary is test-loaded in a child process before this process require()s it (addon-probe.ts),
// so an incompatible one (a glibc too old, a damaged file, a crash in a static constructor)
// becomes an AddonLoadError with the reason instead of taking the process down.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkObject, checkString, InvalidArgumentError } from '@flashgraph/errors';
import { probeAddon } from './addon-probe.js';
import { type AddonAttempt, AddonLoadError } from './errors.js';
import { findPlatformPackage, type PlatformPackageLookup } from './platform-package.js';

/** The command that builds every addon of the installed @flashgraph packages from source. */
export const NATIVE_BUILD_COMMAND = 'npx @flashgraph/cuda build-native';

/** What the prebuilt addons need, stated in every AddonLoadError and in the READMEs. */
export const NATIVE_REQUIREMENTS =
  'the prebuilt addons need Linux x64 with glibc >= 2.34 and Node.js >= 20 to load, and an NVIDIA driver ' +
  'for CUDA 13.0 (R580 or newer) and a Hopper GPU (sm_90; @flashgraph/cuda also runs on sm_80 and newer) to run';

export interface NativeAddonSpec {
  /** The addon's file name, e.g. `flashgraph_fa3.node`. */
  file: string;
  /**
   * `import.meta.url` of a module that sits one directory below the calling package's root
   * (`src/*.ts` and the built `dist/*` both do), so its prebuilds are found in source and build.
   */
  moduleUrl: string;
  /** The command that builds the addon inside the flashgraph repository (quoted next to NATIVE_BUILD_COMMAND). */
  buildCommand: string;
}

export type NativeAddonLoad<T> = { addon: T; path: string } | { addon: null; reason: string; error: AddonLoadError };

const SPEC_KEYS = ['file', 'moduleUrl', 'buildCommand'];

/** The spec, checked: `file` a bare `<name>.node` file name, the other two non-empty strings. */
function checkSpec(value: unknown): NativeAddonSpec {
  const o = checkObject('spec', value);
  for (const key of Object.keys(o)) {
    if (!SPEC_KEYS.includes(key)) {
      throw new InvalidArgumentError({
        code: 'unknown_option',
        path: `spec.${key}`,
        value: o[key],
        allowed: `one of the keys ${SPEC_KEYS.join(', ')}`,
      });
    }
  }
  const file = checkString('spec.file', o.file, { nonEmpty: true, maxLength: 255 });
  if (!/^[\w.-]+\.node$/.test(file)) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'spec.file',
      value: file,
      allowed: 'a file name ending in .node, without a directory',
    });
  }
  const moduleUrl = checkString('spec.moduleUrl', o.moduleUrl, { nonEmpty: true, maxLength: 4096 });
  const buildCommand = checkString('spec.buildCommand', o.buildCommand, { nonEmpty: true, maxLength: 4096 });
  return { file, moduleUrl, buildCommand };
}

/** A place to look, or (`problem`) one known unusable before looking: the platform package is not installed. */
interface Candidate {
  path: string;
  problem?: string;
}

function candidates(spec: NativeAddonSpec): { list: Candidate[]; platform: PlatformPackageLookup } {
  const list: Candidate[] = [];
  const dir = process.env.FLASHGRAPH_NATIVE_DIR;
  if (dir) list.push({ path: join(dir, spec.file) });
  try {
    list.push({
      path: fileURLToPath(new URL(`../prebuilds/${process.platform}-${process.arch}/${spec.file}`, spec.moduleUrl)),
    });
  } catch {
    // moduleUrl is not a file URL (an unusual bundler): no prebuilds folder to look in
  }
  const platform = findPlatformPackage(spec.moduleUrl);
  if ('dir' in platform) list.push({ path: join(platform.dir, spec.file) });
  else list.push({ path: `${platform.name}/${spec.file}`, problem: platform.problem });
  return { list, platform };
}

/** Where an addon is looked for, in order (the platform package's file only when it is installed). */
export function nativeAddonCandidates(specValue: NativeAddonSpec): string[] {
  return candidates(checkSpec(specValue))
    .list.filter((c) => c.problem === undefined)
    .map((c) => c.path);
}

/** What to do when no candidate loaded, most direct first. */
function remedies(spec: NativeAddonSpec, platform: PlatformPackageLookup): string {
  const list: string[] = [];
  if ('install' in platform && platform.install) list.push(`install ${platform.install}`);
  list.push(
    `build it with \`${NATIVE_BUILD_COMMAND}\` (needs the CUDA toolkit, CMake and a C++ compiler; in the flashgraph ` +
      `repository: \`${spec.buildCommand}\`)`,
  );
  list.push('point FLASHGRAPH_NATIVE_DIR at a directory holding it');
  return `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

/**
 * A lazy, memoised loader for one addon: the first call tries every candidate, later calls return
 * the same result. A missing or broken addon becomes `{ addon: null, reason, error }` naming the
 * paths tried, the platform package expected, the requirements and the build command; it is never
 * thrown here.
 */
export function createNativeAddonLoader<T>(specValue: NativeAddonSpec): () => NativeAddonLoad<T> {
  const spec = checkSpec(specValue);
  let cached: NativeAddonLoad<T> | undefined;
  return () => {
    if (cached) return cached;
    const attempts: AddonAttempt[] = [];
    let require: NodeJS.Require;
    try {
      require = createRequire(spec.moduleUrl);
    } catch {
      require = createRequire(import.meta.url); // not a file URL or path: the candidates are absolute anyway
    }
    const { list, platform } = candidates(spec);
    for (const { path, problem } of list) {
      if (problem !== undefined) {
        attempts.push({ path, problem });
        continue;
      }
      if (!existsSync(path)) {
        attempts.push({ path, problem: 'missing' });
        continue;
      }
      const probe = probeAddon(path);
      if (!probe.ok) {
        attempts.push({ path, problem: probe.problem });
        continue;
      }
      try {
        cached = { addon: require(path) as T, path };
        return cached;
      } catch (err) {
        attempts.push({ path, problem: (err as Error).message });
      }
    }
    const reason =
      `${spec.file} could not be loaded: ${remedies(spec, platform)}; ` +
      `tried: ${attempts.map((a) => `${a.path} (${a.problem})`).join('; ')}`;
    const error = new AddonLoadError({
      file: spec.file,
      reason,
      attempts,
      fix: `Note: ${NATIVE_REQUIREMENTS}.`,
      platformPackage: platform.name,
    });
    cached = { addon: null, reason, error };
    return cached;
  };
}
