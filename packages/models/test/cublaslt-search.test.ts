// The run-time cuBLASLt search of flashgraph_models.node, on any machine: stub libraries (a
// shared object exporting the entry points the addon resolves, built here with the C compiler)
// placed where the search looks, each checked in a fresh process so the addon's once-only load
// sees that environment. Skipped without the addon or a C compiler.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelsNative } from '../src/native.js';

const addon = loadModelsNative();
const cc = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);
const root = mkdtempSync(join(tmpdir(), 'flashgraph-cublaslt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ENTRY_POINTS = [
  'cublasLtCreate',
  'cublasLtDestroy',
  'cublasLtMatmulDescCreate',
  'cublasLtMatmulDescDestroy',
  'cublasLtMatmulDescSetAttribute',
  'cublasLtMatrixLayoutCreate',
  'cublasLtMatrixLayoutDestroy',
  'cublasLtMatmulPreferenceCreate',
  'cublasLtMatmulPreferenceDestroy',
  'cublasLtMatmulPreferenceSetAttribute',
  'cublasLtMatmulAlgoGetHeuristic',
  'cublasLtMatmul',
];

/** Builds a stub library at dir/name reporting `version`, optionally without one entry point. */
function stub(dir: string, name: string, version: number, omit?: string): string {
  mkdirSync(dir, { recursive: true });
  const src = join(dir, `${name}.c`);
  const lines = [`unsigned long cublasLtGetVersion(void) { return ${version}UL; }`];
  for (const f of ENTRY_POINTS) if (f !== omit) lines.push(`int ${f}(void) { return 0; }`);
  writeFileSync(src, `${lines.join('\n')}\n`);
  const out = join(dir, name);
  execFileSync(cc as string, ['-shared', '-fPIC', '-o', out, src]);
  return out;
}

/** cublasLt() of a fresh process with only these variables set (plus PATH for nothing). */
function probe(env: Record<string, string>): {
  available: boolean;
  path?: string;
  version?: number;
  reason?: string;
  tried: string[];
} {
  const out = execFileSync(
    process.execPath,
    ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addon.addon ? addon.path : '')}).cublasLt()))`],
    { env: { PATH: '/nonexistent', HOME: root, ...env }, encoding: 'utf8' },
  );
  return JSON.parse(out);
}

describe.runIf(addon.addon !== null && cc !== undefined)('cuBLASLt search', () => {
  it('finds libcublasLt.so.13 through LD_LIBRARY_PATH before .so.12, and reports path and version', () => {
    const dir = join(root, 'ld');
    const v13 = stub(dir, 'libcublasLt.so.13', 130100);
    stub(dir, 'libcublasLt.so.12', 120900);
    const s = probe({ LD_LIBRARY_PATH: `/nonexistent:${dir}` });
    expect(s).toMatchObject({ available: true, path: v13, version: 130100 });
  });

  it('falls back to .so.12, and to CUDA_HOME/lib64', () => {
    const home = join(root, 'cuda-home');
    const v12 = stub(join(home, 'lib64'), 'libcublasLt.so.12', 120900);
    expect(probe({ CUDA_HOME: home })).toMatchObject({ available: true, path: v12, version: 120900 });
  });

  it("finds a Python environment's nvidia/cu13 wheel through a bin/ folder on PATH", () => {
    const venv = join(root, 'venv');
    mkdirSync(join(venv, 'bin'), { recursive: true });
    const lib = stub(join(venv, 'lib/python3.12/site-packages/nvidia/cu13/lib'), 'libcublasLt.so.13', 130000);
    const s = probe({ PATH: `${join(venv, 'bin')}:/nonexistent` });
    expect(s).toMatchObject({ available: true, path: lib });
  });

  it('FLASHGRAPH_CUBLASLT overrides everything; a library without an entry point is refused with its name', () => {
    const good = stub(join(root, 'pinned'), 'libcublasLt.so.13', 130100);
    const broken = stub(join(root, 'broken'), 'libcublasLt.so.13', 130100, 'cublasLtMatmul');
    expect(probe({ FLASHGRAPH_CUBLASLT: good, LD_LIBRARY_PATH: join(root, 'ld') })).toMatchObject({
      available: true,
      path: good,
    });
    const s = probe({ FLASHGRAPH_CUBLASLT: broken, LD_LIBRARY_PATH: join(root, 'ld') });
    expect(s.available).toBe(false);
    expect(s.reason).toContain('cublasLtMatmul');
    expect(s.tried).toHaveLength(1);
  });

  it('a broken copy is skipped for the next candidate, and nothing found says what to install', () => {
    const dir = join(root, 'mixed');
    stub(join(dir, 'a'), 'libcublasLt.so.13', 1, 'cublasLtCreate');
    const ok = stub(join(dir, 'b'), 'libcublasLt.so.12', 120900);
    const s = probe({ LD_LIBRARY_PATH: `${join(dir, 'a')}:${join(dir, 'b')}` });
    expect(s).toMatchObject({ available: true, path: ok });
    expect(s.tried[0]).toContain('missing symbols: cublasLtCreate');
    const none = probe({});
    if (!none.available) {
      expect(none.reason).toMatch(/not found.*pip install nvidia-cublas.*FLASHGRAPH_CUBLASLT/);
    }
  });
});
