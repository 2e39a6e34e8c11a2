// The platform package: the npm package that holds the prebuilt addons of every flashgraph package
// for one platform (`@flashgraph/cuda-linux-x64-gnu`), in the esbuild / node-llama-cpp style. The
// packages that load an addon list it as an exact-version optionalDependency; npm installs only the
// one whose `os`, `cpu` and `libc` fields match the machine. This file says which one this machine
// needs and where it is installed, as seen from the package that loads the addon.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The platform packages that are published (each with every addon); others build from source. */
export const PUBLISHED_PLATFORM_PACKAGES: readonly string[] = ['@flashgraph/cuda-linux-x64-gnu'];

let libc: 'gnu' | 'musl' | undefined;
let glibc: string | undefined;

/** The glibc version of this process, or 'unknown' (musl, another OS, no report). */
export function glibcVersion(): string {
  if (glibc === undefined) {
    // The report's network section can take seconds on some hosts: leave it out where Node.js can
    // (>= 20.13, a boolean setting), then restore the setting.
    const report = process.report as (NodeJS.ProcessReport & { excludeNetwork?: boolean }) | undefined;
    const excludeNetwork = report?.excludeNetwork;
    try {
      if (report && typeof excludeNetwork === 'boolean') report.excludeNetwork = true;
      const header = (report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
      glibc = header?.glibcVersionRuntime ?? 'unknown';
    } catch {
      glibc = 'unknown';
    } finally {
      if (report && typeof excludeNetwork === 'boolean') report.excludeNetwork = excludeNetwork;
    }
  }
  return glibc;
}

/** `gnu` when this Linux process runs on glibc, else `musl` (Node.js reports no glibc version there). */
function linuxLibc(): 'gnu' | 'musl' {
  libc ??= glibcVersion() === 'unknown' ? 'musl' : 'gnu';
  return libc;
}

/**
 * The platform package this machine needs: `@flashgraph/cuda-<platform>-<arch>`, with `-gnu` or
 * `-musl` on Linux (npm's `libc` field tells the two apart), e.g. `@flashgraph/cuda-linux-x64-gnu`.
 */
export function nativePlatformPackage(): string {
  const libcSuffix = process.platform === 'linux' ? `-${linuxLibc()}` : '';
  return `@flashgraph/cuda-${process.platform}-${process.arch}${libcSuffix}`;
}

export type PlatformPackageLookup =
  | { name: string; dir: string }
  | {
      name: string;
      status: 'not_published' | 'not_installed' | 'wrong_version';
      /** Why it cannot be used, in words. */
      problem: string;
      /** What to install instead (absent when nothing is published for this platform). */
      install?: string;
    };

function readManifest(path: string): { name?: unknown; version?: unknown; optionalDependencies?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

// A pinned version (what `workspace:*` becomes in a published manifest); anything else, e.g. the
// workspace's own `workspace:*`, is not compared.
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[\w.-]+)?(?:\+[\w.-]+)?$/;

/**
 * Where the platform package is installed, resolved as the package behind `moduleUrl` resolves its
 * dependencies (so each package finds the copy npm installed for it), or why it cannot be used.
 * `moduleUrl` is a module one directory below the loading package's root. Never throws.
 */
export function findPlatformPackage(moduleUrl: string): PlatformPackageLookup {
  const name = nativePlatformPackage();
  if (!PUBLISHED_PLATFORM_PACKAGES.includes(name)) {
    const published = PUBLISHED_PLATFORM_PACKAGES.map((p) => p.replace('@flashgraph/cuda-', '')).join(', ');
    return { name, status: 'not_published', problem: `not published: prebuilt addons exist only for ${published}` };
  }
  let manifestPath: string;
  let require: NodeJS.Require;
  try {
    require = createRequire(moduleUrl);
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    return {
      name,
      status: 'not_installed',
      problem:
        'not installed: an optional dependency, which npm leaves out with --omit=optional or --no-optional ' +
        'and where its os, cpu or libc field does not match the machine',
      install: `${name} (this platform's prebuilt addons; reinstall without --omit=optional)`,
    };
  }
  const installed = readManifest(manifestPath);
  let caller: ReturnType<typeof readManifest>;
  try {
    caller = readManifest(require.resolve('../package.json'));
  } catch {
    caller = undefined;
  }
  const pinned = (caller?.optionalDependencies as Record<string, unknown> | undefined)?.[name];
  // A version other than the pinned one carries another build of the addons, whose functions may
  // not match this package's JavaScript.
  if (typeof pinned === 'string' && EXACT_VERSION.test(pinned) && installed?.version !== pinned) {
    const callerName = String(caller?.name ?? 'the package');
    return {
      name,
      status: 'wrong_version',
      problem: `version ${String(installed?.version ?? 'unknown')} is installed, but ${callerName} needs exactly ${pinned}`,
      install: `${name}@${pinned} (the version ${callerName} pins)`,
    };
  }
  return { name, dir: dirname(manifestPath) };
}
