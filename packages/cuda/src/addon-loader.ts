// Finds and loads a flashgraph native addon, once, without ever throwing: the one loader that
// @flashgraph/cuda, @flashgraph/fa3 and @flashgraph/engine share. Order: $FLASHGRAPH_NATIVE_DIR,
// then the calling package's prebuilds/<platform>-<arch>/ directory.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddonSpec {
  /** The addon's file name, e.g. `flashgraph_fa3.node`. */
  file: string;
  /**
   * `import.meta.url` of a module that sits one directory below the calling package's root
   * (`src/*.ts` and the built `dist/*` both do), so its prebuilds are found in source and build.
   */
  moduleUrl: string;
  /** The command that builds the addon, quoted in the reason when it is missing. */
  buildCommand: string;
}

export type NativeAddonLoad<T> = { addon: T; path: string } | { addon: null; reason: string };

/** Where an addon is looked for, in order. */
export function nativeAddonCandidates(spec: NativeAddonSpec): string[] {
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
 * the same result. A missing or broken addon becomes a reason naming the paths tried and the
 * build command; it is never thrown here.
 */
export function createNativeAddonLoader<T>(spec: NativeAddonSpec): () => NativeAddonLoad<T> {
  let cached: NativeAddonLoad<T> | undefined;
  return () => {
    if (cached) return cached;
    const tried: string[] = [];
    const require = createRequire(spec.moduleUrl);
    for (const path of nativeAddonCandidates(spec)) {
      if (!existsSync(path)) {
        tried.push(`${path} (missing)`);
        continue;
      }
      try {
        cached = { addon: require(path) as T, path };
        return cached;
      } catch (err) {
        tried.push(`${path} (${(err as Error).message})`);
      }
    }
    cached = {
      addon: null,
      reason:
        `${spec.file} could not be loaded: build it with \`${spec.buildCommand}\` (needs the CUDA ` +
        `toolkit and CMake) or point FLASHGRAPH_NATIVE_DIR at a directory holding it; tried: ${tried.join('; ')}`,
    };
    return cached;
  };
}
