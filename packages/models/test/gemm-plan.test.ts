// The addon's GEMM planning and argument checks on any machine: a stub cuBLASLt (built here with
// the C compiler; its heuristic returns one algorithm, its matmul succeeds without touching
// memory) stands in for the library, in a child process pinned to it with FLASHGRAPH_CUBLASLT, so
// the row buckets, the padding of a call and the typed argument errors are checked without a GPU.
// LlamaKernels' argument checks need no library at all.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelsNative } from '../src/native.js';

const native = loadModelsNative();
const cc = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);
const root = mkdtempSync(join(tmpdir(), 'flashgraph-gemm-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function stubLibrary(): string {
  const src = join(root, 'stub.c');
  const simple = [
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
    'cublasLtMatmul',
  ];
  writeFileSync(
    src,
    [
      'unsigned long cublasLtGetVersion(void) { return 130100UL; }',
      ...simple.map((f) => `int ${f}(void) { return 0; }`),
      'int cublasLtMatmulAlgoGetHeuristic(void* h, void* d, void* a, void* b, void* c, void* dd, void* p, int n,',
      '                                   void* results, int* returned) { *returned = 1; return 0; }',
    ].join('\n'),
  );
  const out = join(root, 'libcublasLt.so.13');
  execFileSync(cc as string, ['-shared', '-fPIC', '-o', out, src]);
  return out;
}

function inChild(script: string): unknown {
  const lib = stubLibrary();
  const out = execFileSync(
    process.execPath,
    ['-e', `const a = require(${JSON.stringify(native.addon ? native.path : '')});\n${script}`],
    { env: { ...process.env, FLASHGRAPH_CUBLASLT: lib }, encoding: 'utf8' },
  );
  return JSON.parse(out);
}

describe.runIf(native.addon !== null && cc !== undefined)('Gemm planning (stub cuBLASLt)', () => {
  it('plans 1, 2, 4 ... 128, then multiples of 128, then the capacity; a call pads to the next bucket', () => {
    const r = inChild(`
      const g = new a.Gemm({ n: 64, k: 32, maxM: 1000, inDtype: 0, outDtype: 0, workspace: 4096n, workspaceBytes: 1 << 20 });
      const out = { buckets: g.buckets(), padded: [0, 1, 3, 100, 129, 256, 257, 999, 1000].map((m) => g.paddedRows(m)) };
      g.run(1n, 2n, 3n, 5, 0n);
      let error = '';
      try { g.run(1n, 2n, 3n, 1001, 0n); } catch (e) { error = e.message; }
      out.tooMany = error;
      try { g.run(0n, 2n, 3n, 1, 0n); } catch (e) { out.nullX = e.message; }
      g.dispose();
      try { g.run(1n, 2n, 3n, 1, 0n); } catch (e) { out.disposed = e.message; }
      console.log(JSON.stringify(out));
    `) as { buckets: number[]; padded: number[]; tooMany: string; nullX: string; disposed: string };
    expect(r.buckets).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 640, 768, 896, 1000]);
    expect(r.padded).toEqual([0, 1, 4, 128, 256, 256, 384, 1000, 1000]);
    expect(r.tooMany).toMatch(/m must be an integer in \[0, 1000\]/);
    expect(r.nullX).toMatch(/x must not be 0n/);
    expect(r.disposed).toMatch(/disposed/);
  });

  it('refuses fp32 inputs and an output dtype other than fp32 or the input dtype', () => {
    const r = inChild(`
      const out = [];
      for (const o of [{ inDtype: 2, outDtype: 2 }, { inDtype: 0, outDtype: 1 }]) {
        try { new a.Gemm({ n: 8, k: 8, maxM: 8, workspace: 1n, workspaceBytes: 0, ...o }); out.push('ok'); }
        catch (e) { out.push(e.message); }
      }
      console.log(JSON.stringify(out));
    `) as string[];
    expect(r[0]).toMatch(/inDtype must be an integer in \[0, 1\]/);
    expect(r[1]).toMatch(/GEMM output must be fp32 or the input dtype/);
  });
});

describe.runIf(native.addon !== null)('LlamaKernels argument checks', () => {
  const dims = {
    hiddenSize: 64,
    numHeadsQ: 4,
    numHeadsKv: 2,
    headDim: 16,
    intermediateSize: 128,
    vocabSize: 100,
    rmsNormEps: 1e-6,
    dtype: 0 as const,
    maxNumTokens: 8,
    maxNumReqs: 2,
  };
  it('rejects bad dims at construction', () => {
    const K = native.addon?.LlamaKernels;
    if (!K) return;
    expect(() => new K({ ...dims, numHeadsKv: 8 })).toThrow(/numHeadsKv must be an integer in \[1, 4\]/);
    expect(() => new K({ ...dims, headDim: 15 })).toThrow(/headDim must be even/);
    expect(() => new K({ ...dims, headDim: 512 })).toThrow(/headDim must be an integer in \[2, 256\]/);
    expect(() => new K({ ...dims, rmsNormEps: 0 })).toThrow(/rmsNormEps must be in \(0, 1\)/);
    expect(() => new K({ ...dims, hiddenSize: 16384 })).toThrow(/hiddenSize must be at most 12288/);
  });
  it('rejects null pointers and row counts past the capacity before launching', () => {
    const K = native.addon?.LlamaKernels;
    if (!K) return;
    const k = new K(dims);
    expect(() => k.embed(0n, 1n, 2n, 1, 0n)).toThrow(/table must not be 0n/);
    expect(() => k.embed(1n, 1n, 2n, 9, 0n)).toThrow(/numTokens must be an integer in \[0, 8\]/);
    expect(() => k.gatherFinalNorm(1n, 2n, 3n, 4n, 5n, 3, 8, 0n)).toThrow(/numReqs must be an integer in \[0, 2\]/);
    expect(() => k.qkvRope(1n, 2n, 0n, 3n, 4n, 5n, 6n, 7n, 1, 0n)).toThrow(/qNorm and kNorm go together/);
    expect(() => k.siluMul(1n, 2n, -1, 0n)).toThrow(/numTokens must be an integer/);
  });
});
