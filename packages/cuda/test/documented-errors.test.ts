// Every error the README documents, produced through the public API (with the recording fake
// addon), checked for its class, its stable `code`, the brand that survives duplicate copies, and
// a row in docs/errors.md.
import { readFileSync } from 'node:fs';
import { DisposedError, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../src/native.js', async () => {
  const { createFakeNative } = await import('./fake-native.js');
  const fake = createFakeNative();
  return {
    ADDON_FILE: 'flashgraph_cuda.node',
    addonCandidates: () => [],
    loadNative: () => ({ addon: fake.addon, path: 'fake' }),
    fake,
  };
});

import * as cuda from '../src/index.js';
import * as nativeModule from '../src/native.js';
import type { FakeNative } from './fake-native.js';

const fake = (nativeModule as unknown as { fake: FakeNative }).fake;
const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

async function thrownBy(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const cases: [string, abstract new (...args: never[]) => unknown, string, () => unknown][] = [
  ['a wrong type', InvalidArgumentError, 'invalid_type', () => cuda.DeviceBuffer.alloc('16' as never)],
  ['an out-of-range size', InvalidArgumentError, 'out_of_range', () => cuda.DeviceBuffer.alloc(-1)],
  [
    'an unknown capture mode',
    InvalidArgumentError,
    'invalid_value',
    () => cuda.Stream.create().beginCapture('x' as never),
  ],
  [
    'a misspelt option',
    InvalidArgumentError,
    'unknown_option',
    () => cuda.Stream.create({ nonblocking: true } as never),
  ],
  [
    'use after dispose',
    DisposedError,
    'disposed',
    () => {
      const s = cuda.Stream.create();
      s.dispose();
      return s.synchronize();
    },
  ],
  [
    'a failed CUDA call',
    cuda.CudaError,
    'cuda_error',
    () => {
      fake.failNext('malloc', 'cudaErrorMemoryAllocation', 2);
      return cuda.DeviceBuffer.alloc(1 << 30);
    },
  ],
  [
    'a failed async wait',
    cuda.CudaError,
    'cuda_error',
    () => {
      const s = cuda.Stream.create();
      fake.failNext('streamSynchronizeAsync', 'cudaErrorIllegalAddress', 700);
      return s.synchronizeAsync();
    },
  ],
];

describe('documented errors', () => {
  it.each(cases)('%s: the class, the code, the brand and a row in docs/errors.md', async (_n, type, code, fn) => {
    const error = await thrownBy(fn);
    expect(error).toBeInstanceOf(type);
    expect((error as { code: string }).code).toBe(code);
    expect(isFlashgraphError(error)).toBe(true);
    expect(errorsDoc).toContain(`| \`${code}\` |`);
  });

  it('NoCudaDeviceError and AddonLoadError: codes documented, AddonLoadError is a NoCudaDeviceError', () => {
    const plain = new cuda.NoCudaDeviceError('no driver');
    expect([plain.code, plain.reason, isFlashgraphError(plain)]).toEqual(['no_cuda_device', 'no driver', true]);
    expect(plain.message).toBe('no CUDA device available: no driver');
    const load = new cuda.AddonLoadError({
      file: 'x.node',
      reason: 'x.node could not be loaded',
      attempts: [{ path: '/a/x.node', problem: 'missing' }],
      fix: 'Rebuild it.',
    });
    expect(load).toBeInstanceOf(cuda.NoCudaDeviceError);
    expect([load.code, load.file, load.attempts]).toEqual([
      'addon_load_failed',
      'x.node',
      [{ path: '/a/x.node', problem: 'missing' }],
    ]);
    for (const c of ['no_cuda_device', 'addon_load_failed', 'cuda_error']) expect(errorsDoc).toContain(`| \`${c}\` |`);
  });

  it('CudaError carries cudaCode, cudaName and call, in its JSON too; the 0.0 constructor form still works', async () => {
    const s = cuda.Stream.create();
    fake.failNext('streamSynchronize', 'cudaErrorLaunchFailure', 719);
    const error = (await thrownBy(() => s.synchronize())) as InstanceType<typeof cuda.CudaError>;
    expect(error.toJSON()).toMatchObject({
      name: 'CudaError',
      code: 'cuda_error',
      cudaCode: 719,
      cudaName: 'cudaErrorLaunchFailure',
      call: 'streamSynchronize',
    });
    expect(error.fix).toMatch(/restarts/);
    const legacy = new cuda.CudaError('fa3: cudaErrorInvalidValue: bad', 1, 'cudaErrorInvalidValue', 'forward');
    expect([legacy.code, legacy.cudaCode, legacy.call, legacy.message]).toEqual([
      'cuda_error',
      1,
      'forward',
      'fa3: cudaErrorInvalidValue: bad',
    ]);
  });
});
