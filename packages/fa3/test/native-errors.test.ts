// The fa3 addon inside native/common's error contract: it loads on a machine without a GPU
// (status() says why), so every function gets hostile arguments here. The addon's raw errors carry
// the contract's fields (`code`, `path` `<function>.<argument>`, `allowed`; or `cudaName`,
// `cudaCode`, `cudaCall`), and callNative turns every one into a FlashgraphError:
// InvalidArgumentError for a bad argument, CudaError for a check of the C++ launchers (a null
// pointer) or a failed launch.
import { CudaError } from '@flashgraph/cuda';
import { type FlashgraphError, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { hostile, hostileRecord, typedOrValid } from '@flashgraph/tooling/hostile';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Caps, loadNative, type NativeFa3 } from '../src/native.js';
import { callNative } from '../src/native-call.js';

const loaded = loadNative();
const addon = loaded.addon;
if (!addon) console.warn(`fa3 addon error tests skipped: ${'reason' in loaded ? loaded.reason : ''}`);
// Calls that could launch a kernel get made-up pointers only where no kernel can run.
const noDevice = addon !== null && !addon.status().available;

const caps: Caps = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128,
  dtype: 'bf16',
  pageSize: 16,
  numPages: 64,
  maxNumReqs: 4,
  maxNumTokens: 64,
  maxNumPagesPerReq: 8,
  maxNumSplits: 4,
  causal: true,
  windowLeft: -1,
  windowRight: -1,
  softcap: 0,
};
// Aligned, nonzero and never dereferenced: each call below fails its checks (or, without a
// device, its launch) first.
const p = 0x10000n;
const forwardArgs: Parameters<NativeFa3['forward']>[0] = {
  stream: 0n,
  workspace: p,
  caps,
  q: p,
  kCache: p,
  vCache: p,
  out: p,
  lse: 0n,
  sinks: 0n,
  pageTable: p,
  pageTableStride: 8,
  cuSeqlensQ: p,
  seqLens: p,
  numReqs: 1,
  maxSeqlenQ: 1,
  maxSeqlenK: 1,
  softmaxScale: 0.125,
  numSplitsBound: 1,
  smCount: 132,
};
const prepareArgs: Parameters<NativeFa3['prepare']>[0] = {
  stream: 0n,
  workspace: p,
  caps,
  cuSeqlensQ: p,
  seqLens: p,
  numReqs: 1,
  maxSeqlenQ: 1,
  numSplitsBound: 1,
  smCount: 132,
};
const writeArgs: Parameters<NativeFa3['writeKvCache']>[0] = {
  stream: 0n,
  caps,
  key: p,
  value: p,
  kCache: p,
  vCache: p,
  slotMapping: p,
  numTokens: 1,
};
const planArgs: Parameters<NativeFa3['planSplitsHost']>[0] = {
  caps,
  cuSeqlensQ: Int32Array.of(0, 1),
  seqLens: Int32Array.of(5),
  numReqs: 1,
  numSplitsBound: 1,
  smCount: 132,
};
const resolveArgs: Parameters<NativeFa3['resolveNumSplits']>[0] = {
  caps,
  numSplits: 0,
  maxSeqlenQ: 1,
  maxSeqlenK: 100,
  smCount: 132,
};

function caught(call: () => unknown): FlashgraphError {
  try {
    callNative('test', call);
  } catch (err) {
    expect(isFlashgraphError(err), String(err)).toBe(true);
    return err as FlashgraphError;
  }
  throw new Error('expected a throw');
}

function expectArgumentError(call: () => unknown, code: string, path: string, allowed?: string): void {
  const err = caught(call);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect([err.code, err.path]).toEqual([code, path]);
  expect(err.message).toContain(path);
  if (allowed !== undefined) expect(err.allowed).toBe(allowed);
}

describe.runIf(addon !== null)('fa3 addon errors (no GPU needed)', () => {
  const a = addon!;

  it('raw argument errors carry the contract fields: TypeError / RangeError, code, path, allowed', () => {
    const raw = (call: () => unknown): unknown => {
      try {
        call();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const wrongType = raw(() => a.forward({ ...forwardArgs, q: 5 as never }));
    expect(wrongType).toBeInstanceOf(TypeError);
    expect(wrongType).toMatchObject({ code: 'invalid_type', path: 'forward.q', allowed: 'bigint' });
    expect((wrongType as Error).message).toBe('flashgraph_fa3: forward.q: wrong type (allowed bigint)');
    const unknown = raw(() => a.workspaceLayout({ ...caps, dtype: 'fp32' as never }));
    expect(unknown).toBeInstanceOf(RangeError);
    expect(unknown).toMatchObject({
      code: 'invalid_value',
      path: 'workspaceLayout.caps.dtype',
      allowed: "'bf16' or 'fp16'",
    });
    const launcherCheck = raw(() => a.forward({ ...forwardArgs, q: 0n }));
    expect(launcherCheck).toMatchObject({ cudaName: 'cudaErrorInvalidValue', cudaCode: 1, cudaCall: 'forward' });
    expect((launcherCheck as Error).message).toBe(
      'cudaErrorInvalidValue: forward failed: q must be a non-null device pointer',
    );
  });

  it('tileShape and forwardKernel: positional arguments named <function>.<argument>', () => {
    expectArgumentError(() => a.tileShape('128' as never, 4), 'invalid_type', 'tileShape.headDim');
    expectArgumentError(() => a.tileShape(128.5, 4), 'out_of_range', 'tileShape.headDim', 'integer in [0, 65536]');
    expectArgumentError(
      () => (a.tileShape as (d: number) => unknown)(128),
      'invalid_type',
      'tileShape.qheadsPerKvhead',
    );
    expectArgumentError(() => a.tileShape(128, 0), 'out_of_range', 'tileShape.qheadsPerKvhead', 'integer in [1, 4096]');
    expectArgumentError(
      () => a.tileShape(128, 4, 'fast' as never),
      'invalid_value',
      'tileShape.kernel',
      "'general', 'decode' or 'wgmma'",
    );
    expectArgumentError(() => a.tileShape(128, 4, 1 as never), 'invalid_type', 'tileShape.kernel');
    expectArgumentError(() => a.forwardKernel(-1, 4), 'out_of_range', 'forwardKernel.maxSeqlenQ');
    expectArgumentError(() => a.forwardKernel(1, Number.NaN), 'out_of_range', 'forwardKernel.qheadsPerKvhead');
    expectArgumentError(() => a.forwardKernel(1, 4, null as never), 'invalid_type', 'forwardKernel.headDim');
    expect(a.tileShape(128, 4, 'decode').blockM).toBeGreaterThan(0);
    expect(typeof a.forwardKernel(1, 4)).toBe('string');
  });

  it('caps: <function>.caps.<name>, dtype and kvDtype from their lists', () => {
    expectArgumentError(() => a.workspaceLayout(null as never), 'invalid_type', 'workspaceLayout.caps');
    expectArgumentError(() => a.workspaceLayout([] as never), 'invalid_type', 'workspaceLayout.caps');
    expectArgumentError(
      () => a.workspaceLayout({ ...caps, numPages: undefined as never }),
      'invalid_type',
      'workspaceLayout.caps.numPages',
    );
    expectArgumentError(
      () => a.workspaceLayout({ ...caps, maxNumReqs: 2 ** 31 }),
      'out_of_range',
      'workspaceLayout.caps.maxNumReqs',
      'integer in [-2147483648, 2147483647]',
    );
    expectArgumentError(
      () => a.workspaceLayout({ ...caps, dtype: 0 as never }),
      'invalid_type',
      'workspaceLayout.caps.dtype',
    );
    expectArgumentError(
      () => a.workspaceLayout({ ...caps, kvDtype: 'fp8' as never }),
      'invalid_value',
      'workspaceLayout.caps.kvDtype',
      "'bf16', 'fp16' or 'fp8_e4m3'",
    );
    expectArgumentError(
      () => a.workspaceLayout({ ...caps, causal: 1 as never }),
      'invalid_type',
      'workspaceLayout.caps.causal',
      'boolean',
    );
    expectArgumentError(
      () => a.workspaceLayout({ ...caps, softcap: '0' as never }),
      'invalid_type',
      'workspaceLayout.caps.softcap',
      'number',
    );
    expectArgumentError(() => a.forward({ ...forwardArgs, caps: 1 as never }), 'invalid_type', 'forward.caps');
    expectArgumentError(
      () => a.forward({ ...forwardArgs, caps: { ...caps, headDim: 1.5 } }),
      'out_of_range',
      'forward.caps.headDim',
    );
    // validate_caps's own limits stay CUDA-named checks of the C++ API.
    const err = caught(() => a.workspaceLayout({ ...caps, numHeadsKv: 3 }));
    expect(err).toBeInstanceOf(CudaError);
    expect(err).toMatchObject({ cudaName: 'cudaErrorInvalidValue', call: 'workspaceLayout', path: 'test' });
  });

  it('tileOrder: each argument named with its range (mBlocks bounded by the answer size)', () => {
    const args = { numHeadsKv: 8, headDim: 128, kLen: 4096, mBlocks: 4, splits: 1, causal: true };
    expect(a.tileOrder(args).length).toBe(3 * (8 * 4 + 1));
    expectArgumentError(() => a.tileOrder({ ...args, numHeadsKv: 0 }), 'out_of_range', 'tileOrder.numHeadsKv');
    expectArgumentError(() => a.tileOrder({ ...args, kLen: -1 }), 'out_of_range', 'tileOrder.kLen');
    expectArgumentError(
      () => a.tileOrder({ ...args, splits: 256, mBlocks: 4096 }),
      'out_of_range',
      'tileOrder.mBlocks',
      'integer in [1, 2048]',
    );
    expectArgumentError(() => a.tileOrder({ ...args, causal: 1 as never }), 'invalid_type', 'tileOrder.causal');
    expectArgumentError(() => a.tileOrder(undefined as never), 'invalid_type', 'tileOrder');
  });

  it('planSplitsHost and resolveNumSplits: short Int32Arrays, bounds, unknown kernels', () => {
    expectArgumentError(
      () => a.planSplitsHost({ ...planArgs, cuSeqlensQ: Int32Array.of(0) }),
      'out_of_range',
      'planSplitsHost.cuSeqlensQ',
      'Int32Array of length >= 2',
    );
    expectArgumentError(
      () => a.planSplitsHost({ ...planArgs, seqLens: new Int32Array(0) }),
      'out_of_range',
      'planSplitsHost.seqLens',
      'Int32Array of length >= 1',
    );
    expectArgumentError(
      () => a.planSplitsHost({ ...planArgs, seqLens: Float32Array.of(5) as never }),
      'invalid_type',
      'planSplitsHost.seqLens',
    );
    expectArgumentError(
      () => a.planSplitsHost({ ...planArgs, cuSeqlensQ: [0, 1] as never }),
      'invalid_type',
      'planSplitsHost.cuSeqlensQ',
    );
    expectArgumentError(
      () => a.planSplitsHost({ ...planArgs, numReqs: 5 }),
      'out_of_range',
      'planSplitsHost.numReqs',
      'integer in [0, 4]',
    );
    expectArgumentError(
      () => a.planSplitsHost({ ...planArgs, kernel: 'wgmma2' as never }),
      'invalid_value',
      'planSplitsHost.kernel',
    );
    expectArgumentError(() => a.planSplitsHost(undefined as never), 'invalid_type', 'planSplitsHost');
    expect(a.planSplitsHost(planArgs).totalTiles).toBeGreaterThan(0);
    expectArgumentError(
      () => a.resolveNumSplits({ ...resolveArgs, numSplits: 2 ** 31 }),
      'out_of_range',
      'resolveNumSplits.numSplits',
    );
    expectArgumentError(
      () => a.resolveNumSplits({ ...resolveArgs, smCount: 1n as never }),
      'invalid_type',
      'resolveNumSplits.smCount',
    );
    expect(a.resolveNumSplits(resolveArgs)).toBeGreaterThanOrEqual(1);
  });

  it('prepare, forward, writeKvCache: pointers are bigints in [0, 2^64); checks before any launch', () => {
    expectArgumentError(() => a.prepare(5 as never), 'invalid_type', 'prepare');
    expectArgumentError(
      () => a.prepare({ ...prepareArgs, workspace: undefined as never }),
      'invalid_type',
      'prepare.workspace',
    );
    expectArgumentError(
      () => a.forward({ ...forwardArgs, q: -1n }),
      'out_of_range',
      'forward.q',
      'bigint in [0, 2^64 - 1]',
    );
    expectArgumentError(() => a.forward({ ...forwardArgs, kDescale: 2n ** 64n }), 'out_of_range', 'forward.kDescale');
    expectArgumentError(() => a.forward({ ...forwardArgs, sinks: null as never }), 'invalid_type', 'forward.sinks');
    expectArgumentError(() => a.forward({ ...forwardArgs, fp8Fast: 1 as never }), 'invalid_type', 'forward.fp8Fast');
    expectArgumentError(
      () => a.forward({ ...forwardArgs, softmaxScale: 1n as never }),
      'invalid_type',
      'forward.softmaxScale',
    );
    expectArgumentError(() => a.forward({ ...forwardArgs, numReqs: 0.5 }), 'out_of_range', 'forward.numReqs');
    expectArgumentError(
      () => a.writeKvCache({ ...writeArgs, slotMapping: 4096 as never }),
      'invalid_type',
      'writeKvCache.slotMapping',
    );
    expectArgumentError(
      () => a.writeKvCache({ ...writeArgs, numTokens: '1' as never }),
      'invalid_type',
      'writeKvCache.numTokens',
    );
  });

  it('null pointers: the launchers reject them before any launch (CudaError cudaErrorInvalidValue)', () => {
    const cases: [() => unknown, string, RegExp][] = [
      [() => a.forward({ ...forwardArgs, q: 0n }), 'forward', /q must be a non-null device pointer/],
      [() => a.forward({ ...forwardArgs, workspace: 0n }), 'forward', /workspace must be a non-null device pointer/],
      // The decode kernel's fast fp8 path reads an fp8 cache: a bf16 cache cannot ask for it.
      [
        () => a.forward({ ...forwardArgs, fp8Fast: true }),
        'forward',
        /fp8Fast must be false unless caps\.kvDtype is 'fp8_e4m3'/,
      ],
      [() => a.prepare({ ...prepareArgs, seqLens: 0n }), 'prepare', /seqLens must be a non-null device pointer/],
      [() => a.writeKvCache({ ...writeArgs, slotMapping: 0n }), 'writeKvCache', /slotMapping must be a non-null/],
    ];
    for (const [call, fn, message] of cases) {
      const err = caught(call);
      expect(err).toBeInstanceOf(CudaError);
      expect(err).toMatchObject({
        code: 'cuda_error',
        cudaName: 'cudaErrorInvalidValue',
        cudaCode: 1,
        call: fn,
        path: 'test',
      });
      expect(err.message).toMatch(message);
    }
    // No tokens: nothing is read, so null pointers are fine (as before).
    expect(
      a.writeKvCache({ ...writeArgs, numTokens: 0, key: 0n, value: 0n, kCache: 0n, vCache: 0n, slotMapping: 0n }),
    ).toBeUndefined();
  });

  it.runIf(noDevice)('without a driver, a valid launch is a CudaError naming the CUDA error', () => {
    for (const [call, fn] of [
      [() => a.writeKvCache(writeArgs), 'writeKvCache'],
      [() => a.prepare(prepareArgs), 'prepare'],
    ] as const) {
      const err = caught(call);
      expect(err).toBeInstanceOf(CudaError);
      const cuda = err as CudaError;
      expect(cuda.cudaName).toMatch(/^cudaError/);
      expect(cuda.cudaName).not.toBe('cudaErrorInvalidValue');
      expect(cuda.cudaCode).toBeGreaterThan(0);
      expect([cuda.call, cuda.path]).toEqual([fn, 'test']);
    }
  });

  it('hostile arguments to the host functions: a result or a FlashgraphError naming where', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, (d, g, k) => {
        typedOrValid(() => callNative('tileShape', () => a.tileShape(d as never, g as never, k as never)));
        typedOrValid(() => callNative('forwardKernel', () => a.forwardKernel(d as never, g as never, k as never)));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(hostileRecord(caps as unknown as Record<string, unknown>), (c) => {
        typedOrValid(() => callNative('workspaceLayout', () => a.workspaceLayout(c as never)));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        hostileRecord(planArgs as unknown as Record<string, unknown>),
        hostileRecord(caps as unknown as Record<string, unknown>),
        (args, c) => {
          const withCaps = args !== null && typeof args === 'object' ? { ...args, caps: c } : args;
          typedOrValid(() => callNative('planSplitsHost', () => a.planSplitsHost(args as never)));
          typedOrValid(() => callNative('planSplitsHost', () => a.planSplitsHost(withCaps as never)));
          typedOrValid(() => callNative('resolveNumSplits', () => a.resolveNumSplits(withCaps as never)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it.runIf(noDevice)('hostile arguments to the launchers: always a FlashgraphError (no device to launch on)', () => {
    fc.assert(
      fc.property(
        hostileRecord(forwardArgs as unknown as Record<string, unknown>),
        hostileRecord(prepareArgs as unknown as Record<string, unknown>),
        hostileRecord(writeArgs as unknown as Record<string, unknown>),
        (f, pr, w) => {
          typedOrValid(() => callNative('forward', () => a.forward(f as never)));
          typedOrValid(() => callNative('prepare', () => a.prepare(pr as never)));
          typedOrValid(() => callNative('writeKvCache', () => a.writeKvCache(w as never)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
