// The models addon is on native/common's error contract and loads wrapped (`wrapNativeLoader` of
// @flashgraph/cuda), so its calls throw FlashgraphErrors: CudaError (cudaName, cudaCode, call) for
// a CUDA failure such as a kernel launch, InvalidArgumentError naming the argument, DisposedError
// for a Gemm used after dispose(), ModelsError `cublas_error` (a cuBLASLt status) or
// `cublaslt_unavailable`, and for anything else ModelsError `native_error`.
import { type NativeAddonLoad, wrapNativeLoader } from '@flashgraph/cuda';
import { ModelsError } from './errors.js';

/** The ModelsError for an addon error outside the CUDA / argument / disposed contract. */
export function modelsNativeError(err: unknown, call: string): ModelsError {
  const message = err instanceof Error ? err.message : String(err);
  const e = err as { code?: unknown; cublasStatus?: unknown } | null;
  if (err instanceof Error && e?.code === 'cublas_error') {
    return new ModelsError('cublas_error', call, message, {
      ...(typeof e.cublasStatus === 'number' ? { value: e.cublasStatus } : {}),
      fix: 'Check the cuBLASLt the addon loaded (`flashgraph doctor`), and the shapes and dtypes of the GEMM.',
      cause: err,
    });
  }
  if (err instanceof Error && e?.code === 'cublaslt_unavailable') {
    return new ModelsError('cublaslt_unavailable', call, message, {
      fix: 'Install cuBLASLt (libcublas for CUDA 13) or set FLASHGRAPH_CUBLASLT to libcublasLt.so.13 or .so.12.',
      cause: err,
    });
  }
  return new ModelsError('native_error', call, message, { cause: err });
}

/** `loader` with the addon it loads wrapped. */
export function withModelsErrors<T extends object>(loader: () => NativeAddonLoad<T>): () => NativeAddonLoad<T> {
  return wrapNativeLoader(loader, modelsNativeError);
}
