// The package's error classes and the mapping from the addon's plain Errors to CudaError.

/** A CUDA runtime call failed. `cudaName` is the CUDA error enum name, `code` its number. */
export class CudaError extends Error {
  override readonly name = 'CudaError';
  readonly code: number;
  readonly cudaName: string;
  /** The CUDA runtime call (or kernel launch) that failed, e.g. `cudaMemcpyAsync`. */
  readonly call: string;
  constructor(message: string, code: number, cudaName: string, call: string) {
    super(message);
    this.code = code;
    this.cudaName = cudaName;
    this.call = call;
  }
}

/** No usable CUDA device (no addon, no driver, no device). `reason` says what to do about it. */
export class NoCudaDeviceError extends Error {
  override readonly name = 'NoCudaDeviceError';
  readonly reason: string;
  constructor(reason: string) {
    super(`no CUDA device available: ${reason}`);
    this.reason = reason;
  }
}

/** A Stream, Event, DeviceBuffer, PinnedHostBuffer, Graph or GraphExec was used after dispose(). */
export class DisposedError extends Error {
  override readonly name = 'DisposedError';
  constructor(what: string) {
    super(`${what} was used after dispose()`);
  }
}

interface NativeCudaErrorShape {
  message: string;
  cudaCode: number;
  cudaName: string;
  cudaCall: string;
}

function isNativeCudaError(err: unknown): err is NativeCudaErrorShape & Error {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeCudaErrorShape>).cudaCode === 'number' &&
    typeof (err as Partial<NativeCudaErrorShape>).cudaName === 'string'
  );
}

/** CudaError for an Error thrown by the addon; anything else is returned unchanged. */
export function toCudaError(err: unknown, suffix = ''): unknown {
  if (!isNativeCudaError(err)) return err;
  return new CudaError(err.message + suffix, err.cudaCode, err.cudaName, err.cudaCall ?? 'unknown');
}
