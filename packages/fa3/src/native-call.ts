// Calls into the addon: a missing addon becomes NoCudaDeviceError at the first GPU call, and every
// addon error a FlashgraphError. The addon follows native/common's error contract
// (docs/architecture.md), so @flashgraph/cuda's nativeErrorToFlashgraph makes its argument errors
// InvalidArgumentError (path `<addon function>.<argument>`) and its CUDA errors CudaError; the
// rest (`fa3Name` errors, or a plain `Error('<name>: <what>')`) become Fa3Error (the fa3 names of
// FA3_NATIVE_ERROR_CODES; anything else `native_error`) or, for a CUDA name, CudaError.
import { CudaError, NoCudaDeviceError, nativeErrorToFlashgraph } from '@flashgraph/cuda';
import type { FlashgraphError } from '@flashgraph/errors';
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

/** The FlashgraphError for `err`, thrown by the addon while running the fa3 call `fn`. */
export function translateNativeError(fn: string, err: unknown): FlashgraphError {
  const typed = nativeErrorToFlashgraph(err, fn, fa3NativeError);
  // The addon's CUDA errors name the addon function as the call; `path` adds the fa3 call that made it.
  if (typed instanceof CudaError && typed.path === undefined && typed.cause === err && err instanceof Error) {
    return new CudaError({
      cudaCode: typed.cudaCode,
      cudaName: typed.cudaName,
      call: typed.call,
      path: fn,
      problem: err.message,
      cause: err,
    });
  }
  return typed;
}

// An addon error outside the argument / CUDA contract.
function fa3NativeError(err: unknown, fn: string): FlashgraphError {
  const message = err instanceof Error ? err.message : String(err);
  const fa3Name = (err as { fa3Name?: unknown } | null)?.fa3Name;
  if (typeof fa3Name === 'string') {
    // codedError's message: `flashgraph_fa3: <function>: <fa3Name>: <what>`.
    const at = message.indexOf(`${fa3Name}: `);
    const what = at < 0 ? message : message.slice(at + fa3Name.length + 2);
    return new Fa3Error({ code: fa3ErrorCode(fa3Name), call: fn, problem: what, nativeName: fa3Name, cause: err });
  }
  const m = /^([A-Za-z0-9_]+): ?([\s\S]*)$/.exec(message);
  if (!m) return new Fa3Error({ code: 'native_error', call: fn, problem: message, cause: err });
  const [, name, what] = m as unknown as [string, string, string];
  if (name.startsWith('cuda')) return makeCudaError(fn, name, what, err);
  return new Fa3Error({ code: fa3ErrorCode(name), call: fn, problem: what, nativeName: name, cause: err });
}

function makeCudaError(fn: string, cudaName: string, what: string, cause: unknown): CudaError {
  // The error may carry the numeric code; -1 when it only gave the name.
  const code = (cause as { cudaCode?: unknown } | null)?.cudaCode;
  return new CudaError(`${fn}: ${cudaName}: ${what}`, typeof code === 'number' ? code : -1, cudaName, fn);
}
