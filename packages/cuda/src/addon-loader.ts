// Finds and loads a flashgraph native addon, once, without ever throwing: the one loader that
// @flashgraph/cuda, @flashgraph/fa3 and @flashgraph/engine share. Order: $FLASHGRAPH_NATIVE_DIR,
// then the calling package's prebuilds/<platform>-<arch>/ directory.
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

/** Where an addon is looked for, in order. */
export function nativeAddonCandidates(specValue: NativeAddonSpec): string[] {
  const spec = checkSpec(specValue);
  const list: string[] = [];
  const dir = process.env.FLASHGRAPH_NATIVE_DIR;
  if (dir) list.push(join(dir, spec.file));
  try {
    list.push(fileURLToPath(new URL(`../prebuilds/${process.platform}-${process.arch}/${spec.file}`, spec.moduleUrl)));
  } catch {
    // moduleUrl is not a file URL (an unusual bundler): only $FLASHGRAPH_NATIVE_DIR applies
  }
  return list;
}

/**
 * A lazy, memoised loader for one addon: the first call tries every candidate, later calls return
 * the same result. A missing or broken addon becomes `{ addon: null, reason, error }` naming the
 * paths tried, the requirements and the build command; it is never thrown here.
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
    for (const path of nativeAddonCandidates(spec)) {
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
      `${spec.file} could not be loaded: build it with \`${NATIVE_BUILD_COMMAND}\` (needs the CUDA toolkit, ` +
      `CMake and a C++ compiler; in the flashgraph repository: \`${spec.buildCommand}\`) or point ` +
      `FLASHGRAPH_NATIVE_DIR at a directory holding it; tried: ${attempts.map((a) => `${a.path} (${a.problem})`).join('; ')}`;
    const error = new AddonLoadError({
      file: spec.file,
      reason,
      attempts,
      fix: `Note: ${NATIVE_REQUIREMENTS}.`,
    });
    cached = { addon: null, reason, error };
    return cached;
  };
}
