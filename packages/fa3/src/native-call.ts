// Calls into the addon: a missing addon becomes NoCudaDeviceError at the first GPU call, and an
// addon `Error('<name>: <what>')` becomes CudaError (CUDA runtime names) or Fa3Error (the fa3
// names of FA3_NATIVE_ERROR_CODES; anything else `native_error`).
import { CudaError, NoCudaDeviceError } from '@flashgraph/cuda';
import { isFlashgraphError } from '@flashgraph/errors';
import { Fa3Error, fa3ErrorCode } from './errors.js';
import { loadNative, type NativeFa3 } from './native.js';

export function requireNative(fn: string): NativeFa3 {
  const r = loadNative();
  if (r.addon) return r.addon;
  throw new NoCudaDeviceError(`${fn}: ${r.reason}`);
}

export function callNative<T>(fn: string, thunk: () => T): T {
  try {
    return thunk();
  } catch (err) {
    throw translateNativeError(fn, err);
  }
}

export function translateNativeError(fn: string, err: unknown): Error {
  // Already typed (a CudaError or FlashgraphError from a layer below): passed on unchanged.
  if (isFlashgraphError(err) || err instanceof CudaError) return err as Error;
  const message = err instanceof Error ? err.message : String(err);
  const m = /^([A-Za-z0-9_]+): ?([\s\S]*)$/.exec(message);
  if (!m) return new Fa3Error({ code: 'native_error', call: fn, problem: message, cause: err });
  const [, name, what] = m as unknown as [string, string, string];
  if (name.startsWith('cuda')) return makeCudaError(fn, name, what, err);
  return new Fa3Error({ code: fa3ErrorCode(name), call: fn, problem: what, nativeName: name, cause: err });
}

function makeCudaError(fn: string, cudaName: string, what: string, cause: unknown): Error {
  // The addon may attach the numeric code; -1 when it only gave the name.
  const code = (cause as { cudaCode?: unknown } | null)?.cudaCode;
  return new CudaError(`${fn}: ${cudaName}: ${what}`, typeof code === 'number' ? code : -1, cudaName, fn);
}
