// Every error docs/errors.md lists for fa3, with its class, code and brand: Fa3Error codes from the
// addon's error names (one table), argument errors as InvalidArgumentError, CUDA runtime names as
// @flashgraph/cuda's CudaError. `not_scheduled` needs a device: test/gpu/api.gpu.ts checks it.
import { readFileSync } from 'node:fs';
import { CudaError } from '@flashgraph/cuda';
import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FA3_NATIVE_ERROR_CODES, Fa3Error, fa3ErrorCode } from '../src/errors.js';
import { translateNativeError } from '../src/native-call.js';
import { planSplits } from '../src/reference.js';

function documentedCodes(className: string): string[] {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const codes: string[] = [];
  for (const line of doc.split('\n')) {
    const m = /^\| `([a-z_]+)` \| `(\w+)` \(fa3\) \|/.exec(line);
    if (m && m[2] === className) codes.push(m[1]!);
  }
  return codes;
}

describe('documented errors of fa3', () => {
  afterEach(() => {
    vi.doUnmock('../src/native.js');
    vi.resetModules();
  });

  it('the documented Fa3Error codes are exactly the Fa3ErrorCode set', () => {
    expect(documentedCodes('Fa3Error').sort()).toEqual([
      'addon_mismatch',
      'native_error',
      'no_device',
      'not_scheduled',
    ]);
  });

  it('addon error names map to stable codes in one table; unknown names are native_error', () => {
    expect(FA3_NATIVE_ERROR_CODES).toEqual({ fa3ErrorNoDevice: 'no_device' });
    const noDevice = translateNativeError('createAttention', new Error('fa3ErrorNoDevice: no sm_90 device'));
    expect(noDevice).toBeInstanceOf(Fa3Error);
    expect(isFlashgraphError(noDevice)).toBe(true);
    expect(noDevice).toMatchObject({ code: 'no_device', call: 'createAttention', nativeName: 'fa3ErrorNoDevice' });
    expect(fa3ErrorCode('fa3ErrorSomethingNew')).toBe('native_error');
    expect(fa3ErrorCode('constructor')).toBe('native_error');
    for (const message of ['fa3ErrorSomethingNew: x', 'no name here', '']) {
      expect(translateNativeError('Attention.forward', new Error(message))).toMatchObject({ code: 'native_error' });
    }
    expect(translateNativeError('f', 'a string')).toMatchObject({ code: 'native_error' });
    const cuda = translateNativeError(
      'Attention.forward',
      Object.assign(new Error('cudaErrorInvalidValue: bad'), { cudaCode: 1 }),
    );
    expect(cuda).toBeInstanceOf(CudaError);
    // The addon's own shapes (native/common's contract, docs/architecture.md): an fa3-named
    // codedError, an argument error, a CUDA error.
    const coded = translateNativeError(
      'createAttention',
      Object.assign(new Error('flashgraph_fa3: prepare: fa3ErrorNoDevice: no sm_90 device'), {
        code: 'fa3_error',
        path: 'prepare',
        fa3Name: 'fa3ErrorNoDevice',
      }),
    );
    expect(coded).toBeInstanceOf(Fa3Error);
    expect(coded).toMatchObject({ code: 'no_device', call: 'createAttention', nativeName: 'fa3ErrorNoDevice' });
    expect(coded.message).toBe('createAttention: fa3ErrorNoDevice: no sm_90 device');
    const argument = translateNativeError(
      'Attention.forward',
      Object.assign(new RangeError('flashgraph_fa3: forward.numReqs: out of range (allowed integer in [0, 4])'), {
        code: 'out_of_range',
        path: 'forward.numReqs',
        allowed: 'integer in [0, 4]',
      }),
    );
    expect(argument).toBeInstanceOf(InvalidArgumentError);
    expect(argument).toMatchObject({ code: 'out_of_range', path: 'forward.numReqs', allowed: 'integer in [0, 4]' });
    const launch = translateNativeError(
      'Attention.forward',
      Object.assign(new Error('cudaErrorLaunchFailure: forward failed: unspecified launch failure'), {
        cudaCode: 719,
        cudaName: 'cudaErrorLaunchFailure',
        cudaCall: 'forward',
      }),
    );
    expect(launch).toBeInstanceOf(CudaError);
    expect(launch).toMatchObject({ cudaCode: 719, call: 'forward', path: 'Attention.forward' });
    expect(launch.message).toMatch(
      /^Attention\.forward: cudaErrorLaunchFailure: forward failed: unspecified launch failure\. /,
    );
  });

  it('addon_mismatch: an addon reporting an impossible SM count', async () => {
    vi.doMock('../src/native.js', async (original) => ({
      ...(await original<typeof import('../src/native.js')>()),
      loadNative: () => ({
        addon: { status: () => ({ available: true, smCount: 0 }) },
      }),
    }));
    const { createAttention } = await import('../src/attention.js');
    const options = {
      numHeadsQ: 4,
      numHeadsKv: 1,
      headDim: 64 as const,
      dtype: 'bf16' as const,
      pageSize: 16,
      numPages: 4,
      maxNumReqs: 1,
      maxNumTokens: 1,
      maxNumPagesPerReq: 1,
      maxNumSplits: 1,
      causal: true,
    };
    let caught: unknown;
    try {
      createAttention(options);
    } catch (err) {
      caught = err;
    }
    expect(isFlashgraphError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'addon_mismatch', call: 'createAttention', name: 'Fa3Error' });
  });

  it('argument errors are InvalidArgumentError with <function>.<argument> paths', () => {
    let caught: unknown;
    try {
      planSplits({ cuSeqlensQ: new Int32Array(1), seqLens: new Int32Array(0), numReqs: 0 } as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect(caught).toMatchObject({ code: 'invalid_type', path: 'planSplits.numHeadsQ' });
  });
});
