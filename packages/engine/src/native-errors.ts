// The engine addon is on native/common's error contract and loads wrapped (`wrapNativeLoader` of
// @flashgraph/cuda), so its calls throw FlashgraphErrors: CudaError (cudaName, cudaCode, call) for
// a CUDA failure such as a kernel launch, InvalidArgumentError naming the argument, and for
// anything else an EngineError `native_error`.
import { type NativeAddonLoad, wrapNativeLoader } from '@flashgraph/cuda';
import { EngineError } from './errors.js';

/** The EngineError for an addon error outside the CUDA / argument contract (none is known today). */
export function engineNativeError(err: unknown, call: string): EngineError {
  return new EngineError('native_error', `${call}: ${err instanceof Error ? err.message : String(err)}`, {
    path: call,
    cause: err,
  });
}

/** `loader` with the addon it loads wrapped. */
export function withEngineErrors<T extends object>(loader: () => NativeAddonLoad<T>): () => NativeAddonLoad<T> {
  return wrapNativeLoader(loader, engineNativeError);
}
