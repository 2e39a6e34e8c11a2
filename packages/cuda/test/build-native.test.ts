// `npx @flashgraph/cuda build-native` on the CPU: every missing tool is named at once before any
// work, usage errors exit 2 with one line, and the installed packages' native sources are found
// in an npm layout. The real build from the tarballs runs in the pack test (tooling/scripts).
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import { BuildNativeError, findAddonSources, findToolchain } from '../src/build-native.js';
import { runCudaCli } from '../src/cli-run.js';

function io() {
  const out = { stdout: [] as string[], stderr: [] as string[] };
  return { out, io: { stdout: (l: string) => out.stdout.push(l), stderr: (l: string) => out.stderr.push(l) } };
}

describe('findToolchain', () => {
  it('names every missing tool at once, with how to install it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'fg-nopath-'));
    let error: unknown;
    try {
      findToolchain({ PATH: empty, CUDACXX: join(empty, 'nvcc'), CXX: 'no-such-c++' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BuildNativeError);
    expect(isFlashgraphError(error)).toBe(true);
    const e = error as BuildNativeError;
    expect(e.code).toBe('build_tool_missing');
    expect(e.missing).toEqual([
      'cmake',
      `nvcc (CUDACXX=${join(empty, 'nvcc')} is not a file)`,
      'a C++ compiler (CXX=no-such-c++ was not found)',
    ]);
    expect(e.message).toMatch(/CMake >= 3\.24.*CUDA toolkit 12\.8 or newer.*C\+\+17 compiler/);
  });

  it('finds node-addon-api and node-api-headers through this package', () => {
    try {
      const t = findToolchain();
      expect(t.nodeAddonApi).toMatch(/node-addon-api$/);
      expect(t.nodeApiHeaders).toMatch(/node-api-headers[/\\]include$/);
    } catch (e) {
      // a machine without cmake/nvcc: only system tools may be missing, never the headers
      expect((e as BuildNativeError).missing.filter((m) => m.startsWith('node-'))).toEqual([]);
    }
  });
});

describe('findAddonSources', () => {
  it('finds the native sources of installed @flashgraph packages, deduplicated, in parents too', () => {
    const root = mkdtempSync(join(tmpdir(), 'fg-project-'));
    const pkg = (dir: string, name: string, addons: string[]) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name }));
      for (const a of ['cmake', 'common', ...addons]) {
        mkdirSync(join(dir, 'native', a), { recursive: true });
        writeFileSync(join(dir, 'native', a, 'CMakeLists.txt'), '');
      }
    };
    pkg(join(root, 'node_modules/@flashgraph/fa3'), '@flashgraph/fa3', ['fa3']);
    pkg(join(root, 'node_modules/@flashgraph/config'), '@flashgraph/config', []);
    pkg(join(root, 'store/engine'), '@flashgraph/engine', ['engine']);
    symlinkSync(join(root, 'store/engine'), join(root, 'node_modules/@flashgraph/engine'));
    const nested = join(root, 'app/src');
    mkdirSync(join(root, 'app/node_modules/@flashgraph'), { recursive: true });
    symlinkSync(join(root, 'store/engine'), join(root, 'app/node_modules/@flashgraph/engine'));
    mkdirSync(nested, { recursive: true });
    const found = findAddonSources(nested).filter((s) => s.packageName !== '@flashgraph/cuda');
    expect(found.map((s) => [s.packageName, s.sourceDir.split('/').slice(-2).join('/')])).toEqual([
      ['@flashgraph/engine', 'native/engine'],
      ['@flashgraph/fa3', 'native/fa3'],
    ]);
  });
});

describe('flashgraph-cuda CLI', () => {
  it.each([
    [['build-native', '--jobs', '0'], /--jobs: invalid value \(got "0", allowed integer in \[1, 1024\]\)/],
    [['build-native', '--jobs'], /--jobs: needs a value/],
    [['build-native', '--only', 'left-pad'], /--only: invalid value \(got "left-pad", allowed a package name/],
    [['build-native', '--frobnicate'], /--frobnicate: unknown option/],
    [['rebuild'], /unknown command "rebuild"/],
  ])('%j exits 2 with one line, before any work', (argv, message) => {
    const { out, io: sink } = io();
    expect(runCudaCli(argv, sink)).toBe(2);
    expect(out.stdout).toEqual([]);
    expect(out.stderr).toHaveLength(1);
    expect(out.stderr[0]).toMatch(message);
  });

  it('--help prints the usage on stdout and exits 0', () => {
    const { out, io: sink } = io();
    expect(runCudaCli(['build-native', '--help'], sink)).toBe(0);
    expect(out.stdout[0]).toMatch(/^Usage: npx @flashgraph\/cuda build-native/);
  });

  it('an unknown --only package is a build error (exit 1) naming what is installed', () => {
    const { out, io: sink } = io();
    const code = runCudaCli(['build-native', '--only', '@flashgraph/nope'], sink);
    expect(code).toBe(1);
    expect(out.stderr.at(-1)).toMatch(/flashgraph-cuda build-native: /);
  });
});
