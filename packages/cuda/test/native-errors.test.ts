// wrapNativeAddon / nativeErrorToFlashgraph on a stand-in addon whose functions and class throw
// the native contract's plain Errors (the shapes native/common's headers build): every call comes
// back a FlashgraphError of the right class, code and fields; results and `new` work as before.
import { DisposedError, FlashgraphError, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import { AddonLoadError, CudaError } from '../src/errors.js';
import { nativeErrorToFlashgraph, wrapNativeAddon, wrapNativeLoader } from '../src/native-errors.js';

class Fallback extends FlashgraphError {}
const fallback = (err: unknown, call: string) =>
  new Fallback({
    code: 'native_error',
    path: call,
    problem: err instanceof Error ? err.message : String(err),
    cause: err,
  });

function cudaFailure(): Error {
  return Object.assign(new Error('cudaErrorInvalidValue: embed launch failed: invalid argument'), {
    cudaCode: 1,
    cudaName: 'cudaErrorInvalidValue',
    cudaCall: 'embed launch',
  });
}

function argumentFailure(path: string): Error {
  return Object.assign(new RangeError(`addon: ${path}: out of range (allowed integer in [0, 8])`), {
    code: 'out_of_range',
    path,
    allowed: 'integer in [0, 8]',
  });
}

// What a node-addon-api ObjectWrap class looks like from JS: methods on the prototype.
class NativeKernels {
  readonly dims: number;
  constructor(options: { dims?: unknown }) {
    if (typeof options?.dims !== 'number') throw argumentFailure('options.dims');
    this.dims = options.dims;
  }
  launch(n: number): number {
    if (n > 8) throw argumentFailure('numTokens');
    if (n < 0) throw cudaFailure();
    return n * this.dims;
  }
  gone(): void {
    throw Object.assign(new Error('addon: Gemm: this Gemm was disposed'), { code: 'disposed', path: 'Gemm' });
  }
  odd(): void {
    throw new Error('something the contract does not name');
  }
}

const addon = {
  version: 3,
  status: () => ({ available: false }),
  sample: (ptr: bigint) => {
    if (ptr === 0n) throw argumentFailure('logits');
    return 'sampled';
  },
  Kernels: NativeKernels,
};

function caught(call: () => unknown): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('wrapNativeAddon', () => {
  const wrapped = wrapNativeAddon(addon, fallback);

  it('keeps results, members and construction', () => {
    expect(wrapped.version).toBe(3);
    expect(wrapped.status()).toEqual({ available: false });
    expect(wrapped.sample(1n)).toBe('sampled');
    const k = new wrapped.Kernels({ dims: 3 });
    expect(k.launch(2)).toBe(6);
    expect(Object.isFrozen(wrapped)).toBe(true);
  });

  it('argument errors become InvalidArgumentError with the native code, path and allowed range', () => {
    for (const err of [
      caught(() => wrapped.sample(0n)),
      caught(() => new wrapped.Kernels({})),
      caught(() => new wrapped.Kernels({ dims: 1 }).launch(9)),
    ]) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(isFlashgraphError(err)).toBe(true);
      expect((err as InvalidArgumentError).code).toBe('out_of_range');
      expect((err as InvalidArgumentError).allowed).toBe('integer in [0, 8]');
    }
    expect((caught(() => new wrapped.Kernels({})) as InvalidArgumentError).path).toBe('options.dims');
  });

  it('CUDA failures become CudaError with cudaName, cudaCode and the call', () => {
    const err = caught(() => new wrapped.Kernels({ dims: 1 }).launch(-1)) as CudaError;
    expect(err).toBeInstanceOf(CudaError);
    expect([err.code, err.cudaName, err.cudaCode, err.call]).toEqual([
      'cuda_error',
      'cudaErrorInvalidValue',
      1,
      'embed launch',
    ]);
  });

  it('disposed objects become DisposedError; anything else goes to the fallback with the call', () => {
    const k = new wrapped.Kernels({ dims: 1 });
    const gone = caught(() => k.gone()) as DisposedError;
    expect(gone).toBeInstanceOf(DisposedError);
    expect([gone.code, gone.what, gone.path]).toEqual(['disposed', 'Gemm', 'Kernels.gone']);
    const odd = caught(() => k.odd()) as Fallback;
    expect(odd).toBeInstanceOf(Fallback);
    expect([odd.code, odd.path]).toEqual(['native_error', 'Kernels.odd']);
    // A method called on something that is not a wrapped instance is no crash either.
    const detached = k.launch as (n: number) => number;
    expect(caught(() => detached(1))).toBeInstanceOf(Fallback);
  });

  it('passes FlashgraphErrors through unchanged', () => {
    const own = new InvalidArgumentError({ code: 'invalid_value', path: 'x', value: 1, allowed: 'y' });
    expect(nativeErrorToFlashgraph(own, 'call', fallback)).toBe(own);
    expect(nativeErrorToFlashgraph('a string', 'call', fallback)).toBeInstanceOf(Fallback);
    expect(nativeErrorToFlashgraph(null, 'call', fallback)).toBeInstanceOf(Fallback);
  });
});

describe('wrapNativeLoader', () => {
  it('wraps the loaded addon once and passes a failed load through', () => {
    let loads = 0;
    const loaded = wrapNativeLoader(() => {
      loads++;
      return { addon, path: '/x.node' };
    }, fallback);
    const first = loaded();
    expect(loaded()).toBe(first);
    expect(loads).toBe(1);
    expect(first.addon && 'path' in first ? first.path : null).toBe('/x.node');
    expect(caught(() => first.addon!.sample(0n))).toBeInstanceOf(InvalidArgumentError);
    const failed = {
      addon: null,
      reason: 'missing',
      error: new AddonLoadError({ file: 'x.node', reason: 'missing', attempts: [], fix: 'f' }),
    } as const;
    expect(wrapNativeLoader<typeof addon>(() => failed, fallback)()).toBe(failed);
  });
});
