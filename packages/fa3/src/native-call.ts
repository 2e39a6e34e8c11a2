// Calls into the addon: a missing addon becomes NoCudaDeviceError at the first GPU call, and an
// addon `Error('<name>: <what>')` becomes CudaError (CUDA runtime names) or Fa3Error (fa3 checks).
import { CudaError, NoCudaDeviceError } from '@flashgraph/cuda';
import { Fa3Error } from './errors.js';
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
  if (!(err instanceof Error) || err.constructor !== Error) return err instanceof Error ? err : new Error(String(err));
  const m = /^([A-Za-z0-9_]+): ?([\s\S]*)$/.exec(err.message);
  if (!m) return new Fa3Error(fn, 'fa3ErrorUnknown', err.message, { cause: err });
  const [, name, what] = m as unknown as [string, string, string];
  if (name.startsWith('cuda')) return makeCudaError(fn, name, what, err);
  return new Fa3Error(fn, name, what, { cause: err });
}

function makeCudaError(fn: string, cudaName: string, what: string, cause: Error): Error {
  // The addon may attach the numeric code; -1 when it only gave the name.
  const code = (cause as Error & { cudaCode?: unknown }).cudaCode;
  return new CudaError(`${fn}: ${cudaName}: ${what}`, typeof code === 'number' ? code : -1, cudaName, fn);
}
