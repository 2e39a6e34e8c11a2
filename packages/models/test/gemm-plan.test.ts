// The addon's GEMM planning and argument checks on any machine: a stub cuBLASLt (built here with
// the C compiler; its heuristic returns one algorithm, its matmul succeeds without touching
// memory) stands in for the library, in a child process pinned to it with FLASHGRAPH_CUBLASLT, so
// the row buckets, the padding of a call and the typed argument errors are checked without a GPU.
// LlamaKernels' argument checks need no library at all.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CudaError } from '@flashgraph/cuda';
import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelsError } from '../src/errors.js';
import { loadModelsNative } from '../src/native.js';
import { modelsNativeError } from '../src/native-errors.js';

const native = loadModelsNative();
const cc = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);
const root = mkdtempSync(join(tmpdir(), 'flashgraph-gemm-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function stubLibrary(matmulStatus = 0): string {
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
  ];
  writeFileSync(
    src,
    [
      'unsigned long cublasLtGetVersion(void) { return 130100UL; }',
      ...simple.map((f) => `int ${f}(void) { return 0; }`),
      `int cublasLtMatmul(void) { return ${matmulStatus}; }`,
      'int cublasLtMatmulAlgoGetHeuristic(void* h, void* d, void* a, void* b, void* c, void* dd, void* p, int n,',
      '                                   void* results, int* returned) { *returned = 1; return 0; }',
    ].join('\n'),
  );
  const out = join(mkdtempSync(join(root, 'lib-')), 'libcublasLt.so.13');
  execFileSync(cc as string, ['-shared', '-fPIC', '-o', out, src]);
  return out;
}

function inChild(script: string, matmulStatus = 0, env: Record<string, string> = {}): unknown {
  const lib = stubLibrary(matmulStatus);
  const out = execFileSync(
    process.execPath,
    ['-e', `const a = require(${JSON.stringify(native.addon ? native.path : '')});\n${script}`],
    {
      env: { ...process.env, FLASHGRAPH_CUBLASLT: lib, FLASHGRAPH_MODELS_SKINNY_GEMM: '', ...env },
      encoding: 'utf8',
    },
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
      try { g.run(1n, 2n, 3n, 1001, 0n); } catch (e) { error = [e.code, e.path, e.message]; }
      out.tooMany = error;
      try { g.run(0n, 2n, 3n, 1, 0n); } catch (e) { out.nullX = [e.code, e.path, e.message]; }
      g.dispose();
      try { g.run(1n, 2n, 3n, 1, 0n); } catch (e) { out.disposed = [e.code, e.path, e.message]; }
      console.log(JSON.stringify(out));
    `) as { buckets: number[]; padded: number[]; tooMany: string[]; nullX: string[]; disposed: string[] };
    expect(r.buckets).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 640, 768, 896, 1000]);
    expect(r.padded).toEqual([0, 1, 4, 128, 256, 256, 384, 1000, 1000]);
    // The raw addon throws native/common's contract: code, path, and `<addon>: <path>: <problem>`.
    expect(r.tooMany).toEqual([
      'out_of_range',
      'm',
      'flashgraph_models: m: out of range (allowed integer in [0, 1000])',
    ]);
    expect(r.nullX.slice(0, 2)).toEqual(['invalid_value', 'x']);
    expect(r.disposed.slice(0, 2)).toEqual(['disposed', 'Gemm']);
  });

  it('a failing cublasLtMatmul is a cublas_error with the status; the package maps it to ModelsError', () => {
    const r = inChild(
      `
      const g = new a.Gemm({ n: 8, k: 8, maxM: 8, inDtype: 0, outDtype: 0, workspace: 4096n, workspaceBytes: 1 << 20 });
      try { g.run(1n, 2n, 3n, 4, 0n); console.log('null'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, path: e.path, cublasStatus: e.cublasStatus, message: e.message })); }
    `,
      7,
    ) as { code: string; path: string; cublasStatus: number; message: string };
    expect([r.code, r.path, r.cublasStatus]).toEqual(['cublas_error', 'Gemm.run', 7]);
    const mapped = modelsNativeError(Object.assign(new Error(r.message), r), 'Gemm.run');
    expect(mapped).toBeInstanceOf(ModelsError);
    expect([mapped.code, mapped.path, mapped.value]).toEqual(['cublas_error', 'Gemm.run', 7]);
    expect(modelsNativeError(new Error('other'), 'convert').code).toBe('native_error');
  });

  it('refuses fp32 inputs and an output dtype other than fp32 or the input dtype', () => {
    const r = inChild(`
      const out = [];
      for (const o of [{ inDtype: 2, outDtype: 2 }, { inDtype: 0, outDtype: 1 }, { inDtype: 0, outDtype: 0, k: 4100 }]) {
        try { new a.Gemm({ n: 8, k: 8, maxM: 8, workspace: 1n, workspaceBytes: 0, ...o }); out.push('ok'); }
        catch (e) { out.push([e.code, e.path, e.message]); }
      }
      console.log(JSON.stringify(out));
    `) as string[][];
    expect(r[0]!.slice(0, 2)).toEqual(['out_of_range', 'options.inDtype']);
    expect(r[1]!.slice(0, 2)).toEqual(['invalid_value', 'options.outDtype']);
    expect(r[1]![2]).toMatch(/GEMM output must be fp32 or the input dtype/);
    // cuBLASLt read k = 4100 rows wrong on an H100: k must be a multiple of 8, before any work.
    expect(r[2]!.slice(0, 2)).toEqual(['invalid_value', 'options.k']);
    expect(r[2]![2]).toMatch(/multiple of 8/);
  });
});

describe.runIf(native.addon !== null)('skinny GEMM split (skinnyGemmPlan)', () => {
  it("splits the 8B model's GEMMs so that every SM of an H100 gets at least 16 warps", () => {
    const plan = native.addon!.skinnyGemmPlan;
    // q/k/v (6144 rows) and o (4096): few 16-row tiles, so 8 warps share each one's k.
    expect(plan(6144, 4096, 132)).toEqual({ kSplit: 8, tilesPerCta: 1, kChunk: 512, numCtas: 384 });
    expect(plan(4096, 4096, 132)).toEqual({ kSplit: 8, tilesPerCta: 1, kChunk: 512, numCtas: 256 });
    // gate/up (28672 rows): 1792 tiles, split 2 gives 3584 warps.
    expect(plan(28672, 4096, 132)).toEqual({ kSplit: 2, tilesPerCta: 4, kChunk: 2048, numCtas: 448 });
    expect(plan(4096, 14336, 132)).toEqual({ kSplit: 8, tilesPerCta: 1, kChunk: 1792, numCtas: 256 });
    // The LM head: 8016 tiles, no split.
    expect(plan(128256, 4096, 132)).toEqual({ kSplit: 1, tilesPerCta: 8, kChunk: 4096, numCtas: 1002 });
    // A k of under two steps per warp is not split; a short n is split as far as k allows.
    expect(plan(100, 72, 132)).toEqual({ kSplit: 1, tilesPerCta: 8, kChunk: 72, numCtas: 1 });
    expect(plan(100, 520, 132)).toEqual({ kSplit: 2, tilesPerCta: 4, kChunk: 264, numCtas: 2 });
  });

  it('covers every k and every tile exactly, with no idle warp, for any shape (property)', () => {
    const plan = native.addon!.skinnyGemmPlan;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 1, max: 8192 }).map((v) => v * 8),
        fc.integer({ min: 1, max: 400 }),
        (n, k, sms) => {
          const p = plan(n, k, sms);
          const tiles = Math.ceil(n / 16);
          expect([1, 2, 4, 8]).toContain(p.kSplit);
          expect(p.tilesPerCta * p.kSplit).toBe(8);
          expect(p.kChunk % 8).toBe(0);
          expect(p.kChunk * p.kSplit).toBeGreaterThanOrEqual(k);
          // The last warp of a split still has k to sum, and a split leaves each warp two 128-k steps.
          expect((p.kSplit - 1) * p.kChunk).toBeLessThan(k);
          if (p.kSplit > 1) expect(p.kChunk).toBeGreaterThanOrEqual(256);
          expect(p.numCtas * p.tilesPerCta).toBeGreaterThanOrEqual(tiles);
          expect((p.numCtas - 1) * p.tilesPerCta).toBeLessThan(tiles);
          // A smaller split was not enough warps (or the split is already 1).
          if (p.kSplit > 1) expect(tiles * (p.kSplit / 2)).toBeLessThan(sms * 16);
        },
      ),
    );
  });

  it('refuses a k that is not a multiple of 8 with a typed error', () => {
    expect(argumentError(() => native.addon!.skinnyGemmPlan(64, 36, 132))).toEqual(['invalid_value', 'k']);
    expect(argumentError(() => native.addon!.skinnyGemmPlan(0, 64, 132))).toEqual(['out_of_range', 'n']);
    expect(argumentError(() => native.addon!.skinnyGemmPlan(64, 64, 0))).toEqual(['out_of_range', 'numSms']);
  });
});

describe.runIf(native.addon !== null && cc !== undefined)('skinny GEMM dispatch (stub cuBLASLt)', () => {
  const probe = `
    const probe = (o) => {
      const g = new a.Gemm({ n: 64, k: 32, maxM: 300, inDtype: 0, outDtype: 0, workspace: 4096n, workspaceBytes: 1 << 20, ...o });
      const r = { skinny: g.skinny(), kernels: [0, 1, 8, 9, 300].map((m) => g.kernelFor(m)),
        padded: [1, 3, 8, 9].map((m) => g.paddedRows(m)) };
      g.dispose();
      return r;
    };`;

  it('is off by default, on with FLASHGRAPH_MODELS_SKINNY_GEMM=1, and the option overrides the environment', () => {
    const script = `${probe}
      console.log(JSON.stringify({ env: a.skinnyGemmDefault, plain: probe({}), on: probe({ skinny: true }), off: probe({ skinny: false }) }));`;
    type Probe = {
      skinny: { requested: boolean; enabled: boolean; plan?: unknown };
      kernels: string[];
      padded: number[];
    };
    const unset = inChild(script) as { env: boolean; plain: Probe; on: Probe; off: Probe };
    expect(unset.env).toBe(false);
    expect(unset.plain.skinny).toEqual({ requested: false, enabled: false });
    expect(unset.plain.kernels).toEqual(['cublaslt', 'cublaslt', 'cublaslt', 'cublaslt', 'cublaslt']);
    // Rows 1..8 take the skinny kernel, 0 and 9+ cuBLASLt; paddedRows stays the bucket (an upper bound).
    expect(unset.on.skinny).toEqual({
      requested: true,
      enabled: true,
      plan: { kSplit: 1, tilesPerCta: 8, kChunk: 32, numCtas: 1 },
    });
    expect(unset.on.kernels).toEqual(['cublaslt', 'skinny', 'skinny', 'cublaslt', 'cublaslt']);
    expect(unset.on.padded).toEqual([1, 4, 8, 16]);
    const set = inChild(script, 0, { FLASHGRAPH_MODELS_SKINNY_GEMM: '1' }) as typeof unset;
    expect(set.env).toBe(true);
    expect(set.plain.kernels).toEqual(['cublaslt', 'skinny', 'skinny', 'cublaslt', 'cublaslt']);
    expect(set.off.skinny.requested).toBe(false);
    expect(set.off.kernels[1]).toBe('cublaslt');
    for (const other of ['0', 'true', 'on']) {
      const r = inChild(script, 0, { FLASHGRAPH_MODELS_SKINNY_GEMM: other }) as typeof unset;
      expect(r.env).toBe(false);
    }
  });

  it('a non-boolean skinny option is a typed error', () => {
    const r = inChild(`
      const out = {};
      try { new a.Gemm({ n: 64, k: 32, maxM: 8, inDtype: 0, outDtype: 0, workspace: 1n, workspaceBytes: 0, skinny: 1 }); }
      catch (e) { out.bad = [e.code, e.path]; }
      console.log(JSON.stringify(out));
    `) as { bad: string[] };
    expect(r.bad).toEqual(['invalid_type', 'options.skinny']);
  });

  it('runSiluMul only where the skinny kernel runs, on a [gate; up] Gemm (even n, no bias, output dtype = input)', () => {
    const r = inChild(`
      const base = { n: 64, k: 32, maxM: 16, inDtype: 0, outDtype: 0, workspace: 4096n, workspaceBytes: 1 << 20 };
      const tryRun = (o, m) => {
        const g = new a.Gemm({ ...base, ...o });
        try { g.runSiluMul(4096n, 8192n, 12288n, m, 0n); return 'ran'; }
        catch (e) { return e.code === undefined ? 'cuda:' + e.cudaCall : [e.code, e.path].join(' '); }
        finally { g.dispose(); }
      };
      console.log(JSON.stringify({
        off: tryRun({ skinny: false }, 1),
        nine: tryRun({ skinny: true }, 9),
        zero: tryRun({ skinny: true }, 0),
        odd: tryRun({ skinny: true, n: 63 }, 1),
        bias: tryRun({ skinny: true, bias: 4096n }, 1),
        fp32: tryRun({ skinny: true, outDtype: 2 }, 1),
        ok: tryRun({ skinny: true }, 2),
      }));
    `) as Record<string, string>;
    expect(r.off).toBe('invalid_value m');
    expect(r.nine).toBe('invalid_value m');
    expect(r.zero).toBe('out_of_range m');
    expect(r.odd).toBe('invalid_value this');
    expect(r.bias).toBe('invalid_value this');
    expect(r.fp32).toBe('invalid_value this');
    // A valid call reaches the launch: on a machine without a GPU, a CUDA error from Gemm.runSiluMul.
    if (!native.addon?.status().available) expect(r.ok).toBe('cuda:Gemm.runSiluMul');
  });

  it.runIf(!native.addon?.status().available)(
    'without a GPU: an aligned call of m <= 8 launches the skinny kernel (a CUDA error), a misaligned one takes cuBLASLt',
    () => {
      const r = inChild(`
        const g = new a.Gemm({ n: 64, k: 32, maxM: 16, inDtype: 0, outDtype: 0, workspace: 4096n, workspaceBytes: 1 << 20, skinny: true });
        const out = {};
        try { g.run(4096n, 8192n, 12288n, 2, 0n); out.aligned = 'ran'; } catch (e) { out.aligned = [e.cudaCall, e.cudaName]; }
        try { g.run(4097n, 8192n, 12288n, 2, 0n); out.misaligned = 'ran'; } catch (e) { out.misaligned = [e.code, e.message]; }
        try { g.run(4096n, 8192n, 12288n, 9, 0n); out.nine = 'ran'; } catch (e) { out.nine = [e.code, e.message]; }
        console.log(JSON.stringify(out));
      `) as { aligned: string[]; misaligned: string; nine: string };
      expect(r.aligned[0]).toBe('Gemm.run');
      expect(r.aligned[1]).toMatch(/^cudaError/);
      // The stub's cublasLtMatmul succeeds without touching memory.
      expect(r.misaligned).toBe('ran');
      expect(r.nine).toBe('ran');
    },
  );
});

// Through the package's loader the addon is wrapped: every error is a FlashgraphError.
function argumentError(call: () => unknown): [string, string | undefined] {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(isFlashgraphError(err)).toBe(true);
    return [(err as InvalidArgumentError).code, (err as InvalidArgumentError).path];
  }
  throw new Error('expected a throw');
}

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
    expect(argumentError(() => new K({ ...dims, numHeadsKv: 8 }))).toEqual(['out_of_range', 'options.numHeadsKv']);
    expect(argumentError(() => new K({ ...dims, headDim: 15 }))).toEqual(['invalid_value', 'options.headDim']);
    expect(argumentError(() => new K({ ...dims, headDim: 512 }))).toEqual(['out_of_range', 'options.headDim']);
    expect(argumentError(() => new K({ ...dims, rmsNormEps: 0 }))).toEqual(['out_of_range', 'options.rmsNormEps']);
    expect(argumentError(() => new K({ ...dims, hiddenSize: 16384 }))).toEqual(['out_of_range', 'options.hiddenSize']);
    expect(argumentError(() => new K({ ...dims, vocabSize: '100' as never }))).toEqual([
      'invalid_type',
      'options.vocabSize',
    ]);
    expect(argumentError(() => new K(null as never))).toEqual(['invalid_type', 'options']);
  });
  it('rejects null pointers and row counts past the capacity before launching', () => {
    const K = native.addon?.LlamaKernels;
    if (!K) return;
    const k = new K(dims);
    expect(argumentError(() => k.embed(0n, 1n, 2n, 1, 0n))).toEqual(['invalid_value', 'table']);
    expect(argumentError(() => k.embed(1n, 1n, 2n, 9, 0n))).toEqual(['out_of_range', 'numTokens']);
    expect(argumentError(() => k.gatherFinalNorm(1n, 2n, 3n, 4n, 5n, 3, 8, 0n))).toEqual(['out_of_range', 'numReqs']);
    expect(argumentError(() => k.qkvRope(1n, 2n, 0n, 3n, 4n, 5n, 6n, 7n, 1, 0n))).toEqual(['invalid_value', 'kNorm']);
    expect(argumentError(() => k.siluMul(1n, 2n, -1, 0n))).toEqual(['out_of_range', 'numTokens']);
    expect(argumentError(() => native.addon!.convert(1n, 3 as never, 2n, 0, 1, 0n))).toEqual([
      'out_of_range',
      'srcType',
    ]);
    expect(argumentError(() => native.addon!.convert(1n, 0, 2n, 0, 2 ** 51, 0n))).toEqual(['out_of_range', 'count']);
  });
});

describe.runIf(native.addon !== null && !native.addon.status().available)(
  'models addon CUDA errors (no driver)',
  () => {
    it('a launch is a CudaError with cudaName and cudaCode; a Gemm without cuBLASLt a ModelsError', () => {
      const a = native.addon!;
      const k = new a.LlamaKernels({
        hiddenSize: 64,
        numHeadsQ: 4,
        numHeadsKv: 2,
        headDim: 16,
        intermediateSize: 128,
        vocabSize: 100,
        rmsNormEps: 1e-6,
        dtype: 0,
        maxNumTokens: 8,
        maxNumReqs: 2,
      });
      for (const call of [() => k.siluMul(1n, 2n, 1, 0n), () => a.convert(1n, 0, 2n, 2, 4, 0n)]) {
        let err: unknown;
        try {
          call();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(CudaError);
        expect((err as CudaError).cudaName).toMatch(/^cudaError/);
        expect((err as CudaError).cudaCode).toBeGreaterThan(0);
      }
      if (!a.cublasLt().available) {
        let err: unknown;
        try {
          new a.Gemm({ n: 8, k: 8, maxM: 8, inDtype: 0, outDtype: 0, workspace: 1n, workspaceBytes: 0 });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ModelsError);
        expect([(err as ModelsError).code, (err as ModelsError).path]).toEqual(['cublaslt_unavailable', 'new Gemm']);
      }
    });
  },
);
