// The engine addon inside the error contract: it loads on a machine without a GPU (status() says
// why), so its functions and the SyntheticKernels class get hostile arguments here and every
// error must be a FlashgraphError: InvalidArgumentError naming the argument before any launch, and,
// where no driver exists, a valid launch a CudaError carrying cudaName and cudaCode.
import { CudaError } from '@flashgraph/cuda';
import { type FlashgraphError, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { hostileScalar } from '@flashgraph/tooling/hostile';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../src/errors.js';
import { loadNative } from '../src/native.js';
import { engineNativeError } from '../src/native-errors.js';

const native = loadNative();
const addon = native.addon;
// Launches with made-up pointers are only safe where no kernel can run.
const noDevice = addon !== null && !addon.status().available;

const dims = {
  hiddenSize: 64,
  qSize: 64,
  kvSize: 32,
  headDim: 16,
  vocabSize: 100,
  dtype: 0 as const,
  numLayers: 2,
  maxNumTokens: 8,
  maxNumReqs: 2,
};

function caught(call: () => unknown): FlashgraphError {
  try {
    call();
  } catch (err) {
    expect(isFlashgraphError(err), String(err)).toBe(true);
    return err as FlashgraphError;
  }
  throw new Error('expected a throw');
}

function expectArgumentError(call: () => unknown, code: string, path: string): void {
  const err = caught(call);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect([err.code, err.path]).toEqual([code, path]);
  expect(err.message).toContain(path);
}

describe.runIf(addon !== null)('engine addon errors (no GPU needed)', () => {
  const a = addon!;

  it('SyntheticKernels options: InvalidArgumentError naming options.<key>', () => {
    expectArgumentError(() => new a.SyntheticKernels(5 as never), 'invalid_type', 'options');
    expectArgumentError(() => new a.SyntheticKernels(null as never), 'invalid_type', 'options');
    expectArgumentError(() => new a.SyntheticKernels({ ...dims, hiddenSize: 0 }), 'out_of_range', 'options.hiddenSize');
    expectArgumentError(() => new a.SyntheticKernels({ ...dims, dtype: 2 as never }), 'out_of_range', 'options.dtype');
    expectArgumentError(
      () => new a.SyntheticKernels({ ...dims, numLayers: '2' as never }),
      'invalid_type',
      'options.numLayers',
    );
    const { maxNumReqs: _, ...withoutReqs } = dims;
    expectArgumentError(() => new a.SyntheticKernels(withoutReqs as never), 'invalid_type', 'options.maxNumReqs');
  });

  it('SyntheticKernels methods: pointers, layers and token counts checked before any launch', () => {
    const k = new a.SyntheticKernels(dims);
    expectArgumentError(() => k.embed(1 as never, 2n, 3n, 1, 0n), 'invalid_type', 'tokenIds');
    expectArgumentError(() => k.embed(-1n, 2n, 3n, 1, 0n), 'out_of_range', 'tokenIds');
    expectArgumentError(() => k.embed(1n, 2n, 3n, 9, 0n), 'out_of_range', 'numTokens');
    expectArgumentError(() => k.project(2, 1n, 2n, 3n, 4n, 1, 0n), 'out_of_range', 'layer');
    expectArgumentError(() => k.residual(0, 1n, 2n, 1.5, 0n), 'out_of_range', 'numTokens');
    expectArgumentError(() => k.sample(1n, 2n, 3n, 3, 1, 0n), 'out_of_range', 'numReqs');
    expectArgumentError(() => k.sample(1n, 2n, 3n, 1, 1, 'stream' as never), 'invalid_type', 'stream');
  });

  it('the device sampler: null pointers and sizes are InvalidArgumentError', () => {
    const sample = a.sample!;
    const args = [1n, 1n, 1n, 1n, 1n, 1n, 10, 1, 2, 0n] as const;
    const names = ['logits', 'params', 'sampleRows', 'sampled', 'logprobs'];
    names.forEach((name, i) => {
      const bad = [...args] as unknown[];
      bad[i] = 0n;
      expectArgumentError(() => (sample as (...x: unknown[]) => void)(...bad), 'invalid_value', name);
    });
    expectArgumentError(() => sample(1n, 1n, 1n, 1n, 1n, 1n, 10, 3, 2, 0n), 'out_of_range', 'numReqs');
    expectArgumentError(() => a.samplerWorkspaceBytes!(0, 1), 'out_of_range', 'vocabSize');
    expectArgumentError(() => a.samplerWorkspaceBytes!(10, Number.NaN), 'out_of_range', 'maxNumReqs');
  });

  // Valid counts reach a launch with made-up pointers: only where no device can run it.
  it.runIf(noDevice)(
    'hostile values at count arguments: an InvalidArgumentError, a CudaError or a result (property)',
    () => {
      const k = new a.SyntheticKernels(dims);
      fc.assert(
        fc.property(hostileScalar, (n) => {
          for (const call of [
            () => k.embed(1n, 2n, 3n, n as number, 0n),
            () => k.project(n as number, 1n, 2n, 3n, 4n, 0, 0n),
            () => a.samplerWorkspaceBytes!(n as number, 1),
            () => new a.SyntheticKernels({ ...dims, maxNumTokens: n as number }),
          ]) {
            try {
              call();
            } catch (err) {
              expect(isFlashgraphError(err), String(err)).toBe(true);
              if (!(err instanceof CudaError)) expect(err).toBeInstanceOf(InvalidArgumentError);
            }
          }
        }),
        { numRuns: 60 },
      );
    },
  );

  it.runIf(noDevice)('a launch without a driver is a CudaError with cudaName and cudaCode', () => {
    const k = new a.SyntheticKernels(dims);
    for (const [call, name] of [
      [() => k.embed(1n, 2n, 3n, 1, 0n), 'embed launch'],
      [() => a.sample!(1n, 1n, 1n, 1n, 1n, 1n, 10, 1, 2, 0n), 'sample launch'],
    ] as const) {
      const err = caught(call) as CudaError;
      expect(err).toBeInstanceOf(CudaError);
      expect(err.code).toBe('cuda_error');
      expect(err.cudaName).toMatch(/^cudaError/);
      expect(typeof err.cudaCode).toBe('number');
      expect(err.cudaCode).toBeGreaterThan(0);
      expect(err.call).toBe(name);
    }
  });

  it('an addon error outside the contract is an EngineError native_error naming the call', () => {
    const err = engineNativeError(new Error('unexpected'), 'SyntheticKernels.embed');
    expect(err).toBeInstanceOf(EngineError);
    expect([err.code, err.path]).toEqual(['native_error', 'SyntheticKernels.embed']);
    expect(engineNativeError('text', 'sample').message).toContain('text');
  });
});
