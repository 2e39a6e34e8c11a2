// The platform package in the loader's order, on installed-package trees built in a temporary
// folder: a package that loads an addon (as fa3 or the engine do) with the platform package beside
// it, nested under it, missing, in another version, or holding a broken binary.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNativeAddonLoader, nativeAddonCandidates } from '../src/addon-loader.js';
import { AddonLoadError } from '../src/errors.js';
import { findPlatformPackage, nativePlatformPackage, PUBLISHED_PLATFORM_PACKAGES } from '../src/platform-package.js';

// pnpm's bin shims (vitest's included) put every workspace package on NODE_PATH, where Node.js
// looks after a project's own node_modules: the temporary projects below must see only their own.
delete process.env.NODE_PATH;
(Module as unknown as { _initPaths(): void })._initPaths();

const prebuilt = fileURLToPath(new URL('../prebuilds/linux-x64/flashgraph_cuda.node', import.meta.url));
const hasAddon = existsSync(prebuilt);
const onLinuxX64Gnu = nativePlatformPackage() === '@flashgraph/cuda-linux-x64-gnu';
const PLATFORM = '@flashgraph/cuda-linux-x64-gnu';
const FILE = 'flashgraph_cuda.node';

afterEach(() => {
  vi.unstubAllEnvs();
});

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
}

/** node_modules/<name>/ with a manifest (and a dist/index.js, the loading module of a user). */
function installPackage(nodeModules: string, name: string, manifest: Record<string, unknown>): string {
  const dir = join(nodeModules, ...name.split('/'));
  writeJson(join(dir, 'package.json'), { name, ...manifest });
  return dir;
}

/** A project with a user package pinning the platform package at `pin`; returns its loading module's URL. */
function project(pin = '1.2.3'): { root: string; user: string; moduleUrl: string } {
  const root = mkdtempSync(join(tmpdir(), 'fg-platform-'));
  const user = installPackage(join(root, 'node_modules'), '@flashgraph/user', {
    version: pin,
    optionalDependencies: { [PLATFORM]: pin },
  });
  mkdirSync(join(user, 'dist'));
  writeFileSync(join(user, 'dist/index.js'), '');
  return { root, user, moduleUrl: pathToFileURL(join(user, 'dist/index.js')).href };
}

function platformPackage(nodeModules: string, version: string, binary?: 'real' | 'broken'): string {
  const dir = installPackage(nodeModules, PLATFORM, { version, exports: { './package.json': './package.json' } });
  if (binary === 'real') copyFileSync(prebuilt, join(dir, FILE));
  if (binary === 'broken') writeFileSync(join(dir, FILE), 'not an ELF file');
  return dir;
}

const spec = (moduleUrl: string) => ({ file: FILE, moduleUrl, buildCommand: 'make it' });

describe('the platform package this machine needs', () => {
  it('is named for the platform, the CPU and (on Linux) the C library', () => {
    expect(nativePlatformPackage()).toMatch(
      new RegExp(
        `^@flashgraph/cuda-${process.platform}-${process.arch}${process.platform === 'linux' ? '-(gnu|musl)' : ''}$`,
      ),
    );
    expect(PUBLISHED_PLATFORM_PACKAGES).toEqual([PLATFORM]);
    // The libc check reads a process report without its network section, and restores the setting.
    expect((process.report as { excludeNetwork?: boolean }).excludeNetwork ?? false).toBe(false);
  });

  it.skipIf(!onLinuxX64Gnu)('is found beside the package that loads the addon', () => {
    const { root, moduleUrl } = project();
    const dir = platformPackage(join(root, 'node_modules'), '1.2.3');
    expect(findPlatformPackage(moduleUrl)).toEqual({ name: PLATFORM, dir });
  });

  it.skipIf(!onLinuxX64Gnu)('a copy nested under the package wins over a hoisted one of another version', () => {
    const { root, user, moduleUrl } = project();
    platformPackage(join(root, 'node_modules'), '1.0.0');
    const nested = platformPackage(join(user, 'node_modules'), '1.2.3');
    expect(findPlatformPackage(moduleUrl)).toEqual({ name: PLATFORM, dir: nested });
  });

  it.skipIf(!onLinuxX64Gnu)('another version than the pinned one is not used, and says why', () => {
    const { root, moduleUrl } = project();
    platformPackage(join(root, 'node_modules'), '1.0.0');
    expect(findPlatformPackage(moduleUrl)).toEqual({
      name: PLATFORM,
      status: 'wrong_version',
      problem: 'version 1.0.0 is installed, but @flashgraph/user needs exactly 1.2.3',
      install: `${PLATFORM}@1.2.3 (the version @flashgraph/user pins)`,
    });
  });

  it.skipIf(!onLinuxX64Gnu)('a range that is not an exact version (the workspace protocol) is not compared', () => {
    const { root, moduleUrl } = project('workspace:*');
    const dir = platformPackage(join(root, 'node_modules'), '0.0.0');
    expect(findPlatformPackage(moduleUrl)).toEqual({ name: PLATFORM, dir });
  });

  it.skipIf(!onLinuxX64Gnu)('a missing one is reported as an optional dependency left out', () => {
    const { moduleUrl } = project();
    expect(findPlatformPackage(moduleUrl)).toMatchObject({
      name: PLATFORM,
      status: 'not_installed',
      problem: expect.stringMatching(/^not installed: an optional dependency, .*--omit=optional/),
    });
  });
});

describe.skipIf(!hasAddon || !onLinuxX64Gnu)('the loader with a platform package', () => {
  it('loads the addon from the platform package when nothing was built here', () => {
    const { root, user, moduleUrl } = project();
    const dir = platformPackage(join(root, 'node_modules'), '1.2.3', 'real');
    expect(nativeAddonCandidates(spec(moduleUrl))).toEqual([
      join(user, 'prebuilds', `${process.platform}-${process.arch}`, FILE),
      join(dir, FILE),
    ]);
    const loaded = createNativeAddonLoader<{ status(): { runtimeVersion: number } }>(spec(moduleUrl))();
    expect(loaded).toMatchObject({ path: join(dir, FILE) });
    expect(loaded.addon?.status().runtimeVersion).toBeGreaterThan(0);
  });

  it('$FLASHGRAPH_NATIVE_DIR, then a binary built here (build-native) come before the platform package', () => {
    const { root, user, moduleUrl } = project();
    platformPackage(join(root, 'node_modules'), '1.2.3', 'real');
    const builtHere = join(user, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(builtHere, { recursive: true });
    copyFileSync(prebuilt, join(builtHere, FILE));
    expect(createNativeAddonLoader(spec(moduleUrl))()).toMatchObject({ path: join(builtHere, FILE) });
    const nativeDir = mkdtempSync(join(tmpdir(), 'fg-native-dir-'));
    copyFileSync(prebuilt, join(nativeDir, FILE));
    vi.stubEnv('FLASHGRAPH_NATIVE_DIR', nativeDir);
    expect(createNativeAddonLoader(spec(moduleUrl))()).toMatchObject({ path: join(nativeDir, FILE) });
  });

  it('a broken binary in the platform package gives the reason, not a dead process', () => {
    const { root, user, moduleUrl } = project();
    const dir = platformPackage(join(root, 'node_modules'), '1.2.3', 'broken');
    const loaded = createNativeAddonLoader(spec(moduleUrl))();
    if (!('error' in loaded)) throw new Error('expected the broken binary to fail');
    expect(loaded.error.attempts).toEqual([
      { path: join(user, 'prebuilds', `${process.platform}-${process.arch}`, FILE), problem: 'missing' },
      { path: join(dir, FILE), problem: expect.stringMatching(/^not a Linux shared library/) },
    ]);
    expect(loaded.error.platformPackage).toBe(PLATFORM);
    // Installed, so the advice is the build, not installing it.
    expect(loaded.reason).toMatch(/could not be loaded: build it with `npx @flashgraph\/cuda build-native`/);
  });

  it('without the platform package, the AddonLoadError names the package it expected', () => {
    const { user, moduleUrl } = project();
    const loaded = createNativeAddonLoader(spec(moduleUrl))();
    if (!('error' in loaded)) throw new Error('expected no addon');
    const error = loaded.error;
    expect(error).toBeInstanceOf(AddonLoadError);
    expect(error.platformPackage).toBe(PLATFORM);
    expect(error.attempts).toEqual([
      { path: join(user, 'prebuilds', `${process.platform}-${process.arch}`, FILE), problem: 'missing' },
      { path: `${PLATFORM}/${FILE}`, problem: expect.stringMatching(/^not installed/) },
    ]);
    expect(error.reason).toMatch(
      new RegExp(
        `^${FILE} could not be loaded: install ${PLATFORM} \\(this platform's prebuilt addons; reinstall without --omit=optional\\), build it with \`npx @flashgraph/cuda build-native\``,
      ),
    );
    expect(error.message).toContain(`${PLATFORM}/${FILE} (not installed`);
    // Not installed: the candidates are the places that exist to look in.
    expect(nativeAddonCandidates(spec(moduleUrl))).toEqual([
      join(user, 'prebuilds', `${process.platform}-${process.arch}`, FILE),
    ]);
  });

  it('the wrong version of the platform package is skipped, with the version to install', () => {
    const { root, moduleUrl } = project();
    platformPackage(join(root, 'node_modules'), '1.0.0', 'real');
    const loaded = createNativeAddonLoader(spec(moduleUrl))();
    if (!('error' in loaded)) throw new Error('expected the other version to be skipped');
    expect(loaded.error.attempts[1]).toEqual({
      path: `${PLATFORM}/${FILE}`,
      problem: 'version 1.0.0 is installed, but @flashgraph/user needs exactly 1.2.3',
    });
    expect(loaded.reason).toContain(`install ${PLATFORM}@1.2.3 (the version @flashgraph/user pins)`);
  });
});
