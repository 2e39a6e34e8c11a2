// Whether the models' CUDA backend can run here, and why not (for `flashgraph doctor` and for
// `loadHfModel`'s `backends`): the addon, a CUDA device, and cuBLASLt found at run time.
import { cudaStatus } from '@flashgraph/cuda';
import { loadModelsNative, type NativeCublasLtStatus } from '../../native.js';

export interface ModelsCudaStatus {
  /** true when the addon loaded, a CUDA device is visible and cuBLASLt was found. */
  readonly available: boolean;
  /** Why not (the first missing piece), with what to do. */
  readonly reason?: string;
  /** The loaded flashgraph_models.node, or null. */
  readonly addonPath: string | null;
  /** Where cuBLASLt was found or looked for; null when the addon itself did not load. */
  readonly cublasLt: NativeCublasLtStatus | null;
}

export function modelsCudaStatus(): ModelsCudaStatus {
  const native = loadModelsNative();
  if (!native.addon) {
    return {
      available: false,
      reason: `the models' CUDA addon did not load: ${native.reason}`,
      addonPath: null,
      cublasLt: null,
    };
  }
  const cublasLt = native.addon.cublasLt();
  const cuda = cudaStatus();
  const reason = !cuda.available
    ? `no CUDA device: ${cuda.reason}`
    : !cublasLt.available
      ? `cuBLASLt was not found: ${cublasLt.reason}`
      : undefined;
  return {
    available: reason === undefined,
    ...(reason === undefined ? {} : { reason }),
    addonPath: native.path,
    cublasLt,
  };
}
