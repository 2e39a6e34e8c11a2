// The package's error classes and the mapping from the addon's plain Errors (the native error
// contract of docs/architecture.md) to FlashgraphErrors.
import { DisposedError, FlashgraphError, InvalidArgumentError } from '@flashgraph/errors';

export { DisposedError };

export interface CudaErrorInit {
  /** The cudaError_t value, e.g. 2 for cudaErrorMemoryAllocation. */
  cudaCode: number;
  /** The CUDA error enum name, e.g. `cudaErrorMemoryAllocation`. */
  cudaName: string;
  /** The CUDA runtime call (or kernel launch) that failed, e.g. `cudaMemcpyAsync`. */
  call: string;
  /** The whole problem text; default `<cudaName>: <call> failed`. */
  problem?: string;
  /** Where in the public API (e.g. `createAttention`), when the call alone does not say. */
  path?: string;
  fix?: string;
  cause?: unknown;
}

// What to do about the failures a user can act on; the rest speak for themselves.
const FIXES: Record<string, string> = {
  cudaErrorMemoryAllocation: 'Free device memory (dispose() buffers, graphs and engines) or ask for less.',
  cudaErrorStreamCaptureUnsupported:
    'Do not synchronize, allocate with cudaMalloc or copy from JS memory while a stream is being captured.',
  cudaErrorStreamCaptureInvalidated: 'Begin a new capture without the forbidden call.',
  cudaErrorIllegalAddress:
    'A kernel read or wrote outside its memory; the CUDA context is lost until the process restarts.',
  cudaErrorLaunchFailure: 'A kernel faulted; the CUDA context is lost until the process restarts.',
  cudaErrorInsufficientDriver: 'Install or update the NVIDIA driver (see cudaStatus().reason).',
  cudaErrorNoDevice: 'Check `nvidia-smi` and CUDA_VISIBLE_DEVICES (see cudaStatus().reason).',
};

/** A CUDA runtime call failed (code `cuda_error`); `cudaCode`/`cudaName` say which CUDA error. */
export class CudaError extends FlashgraphError {
  declare readonly code: 'cuda_error';
  readonly cudaCode: number;
  readonly cudaName: string;
  /** The CUDA runtime call (or kernel launch) that failed, e.g. `cudaMemcpyAsync`. */
  readonly call: string;

  constructor(init: CudaErrorInit);
  /** @deprecated the 0.0 form: `new CudaError(message, cudaCode, cudaName, call)`; pass a CudaErrorInit. */
  constructor(message: string, cudaCode: number, cudaName: string, call: string);
  constructor(init: CudaErrorInit | string, cudaCode?: number, cudaName?: string, call?: string) {
    const i: CudaErrorInit =
      typeof init === 'string'
        ? { cudaCode: cudaCode ?? -1, cudaName: cudaName ?? 'cudaErrorUnknown', call: call ?? 'unknown', problem: init }
        : init;
    const fix = i.fix ?? FIXES[i.cudaName];
    super({
      code: 'cuda_error',
      problem: i.problem ?? `${i.cudaName}: ${i.call} failed`,
      ...(i.path === undefined ? {} : { path: i.path }),
      ...(fix === undefined ? {} : { fix }),
      ...(i.cause === undefined ? {} : { cause: i.cause }),
    });
    this.cudaCode = i.cudaCode;
    this.cudaName = i.cudaName;
    this.call = i.call;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), cudaCode: this.cudaCode, cudaName: this.cudaName, call: this.call };
  }
}

export type NoCudaDeviceCode = 'no_cuda_device' | 'addon_load_failed';

/**
 * No usable CUDA device (code `no_cuda_device`): no driver, no device, or (the subclass
 * AddonLoadError, code `addon_load_failed`) no addon that loads. `reason` says what to do.
 */
export class NoCudaDeviceError extends FlashgraphError {
  declare readonly code: NoCudaDeviceCode;
  readonly reason: string;

  constructor(reason: string, init: { code?: NoCudaDeviceCode; fix?: string; cause?: unknown } = {}) {
    super({
      code: init.code ?? 'no_cuda_device',
      problem: `no CUDA device available: ${reason}`,
      ...(init.fix === undefined ? {} : { fix: init.fix }),
      ...(init.cause === undefined ? {} : { cause: init.cause }),
    });
    this.reason = reason;
  }
}

/** One place an addon was looked for, and why it was not used. */
export interface AddonAttempt {
  /** The file, or `<platform package>/<file>` when that package is not installed. */
  path: string;
  problem: string;
}

/**
 * A native addon is missing or does not load here (code `addon_load_failed`): `attempts` names
 * every path tried and why it failed (missing, a glibc too old, a damaged file, a crash at load);
 * the fix states the requirements and the rebuild command.
 */
export class AddonLoadError extends NoCudaDeviceError {
  /** The addon's file name, e.g. `flashgraph_fa3.node`. */
  readonly file: string;
  readonly attempts: readonly AddonAttempt[];
  /**
   * The platform package expected to hold the prebuilt addon on this machine, e.g.
   * `@flashgraph/cuda-linux-x64-gnu` (set by the loader; absent when built by other code).
   */
  readonly platformPackage?: string;

  constructor(init: {
    file: string;
    reason: string;
    attempts: readonly AddonAttempt[];
    fix: string;
    platformPackage?: string;
  }) {
    super(init.reason, { code: 'addon_load_failed', fix: init.fix });
    this.file = init.file;
    this.attempts = Object.freeze(init.attempts.map((a) => Object.freeze({ ...a })));
    if (init.platformPackage !== undefined) this.platformPackage = init.platformPackage;
  }
}

interface NativeCudaErrorShape {
  message: string;
  cudaCode: number;
  cudaName: string;
  cudaCall?: string;
}

interface NativeArgumentErrorShape {
  message: string;
  code: 'invalid_type' | 'out_of_range' | 'invalid_value';
  path: string;
  allowed: string;
}

function isNativeCudaError(err: unknown): err is NativeCudaErrorShape & Error {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeCudaErrorShape>).cudaCode === 'number' &&
    typeof (err as Partial<NativeCudaErrorShape>).cudaName === 'string'
  );
}

function isNativeArgumentError(err: unknown): err is NativeArgumentErrorShape & Error {
  const e = err as Partial<NativeArgumentErrorShape>;
  return (
    err instanceof Error &&
    !(err instanceof FlashgraphError) &&
    (e.code === 'invalid_type' || e.code === 'out_of_range' || e.code === 'invalid_value') &&
    typeof e.path === 'string' &&
    typeof e.allowed === 'string'
  );
}

/**
 * The FlashgraphError for an Error thrown by an addon that follows the native error contract:
 * CUDA failures (`cudaCode`, `cudaName`, `cudaCall`) become CudaError, argument errors (`code`,
 * `path`, `allowed`) InvalidArgumentError; anything else is returned unchanged.
 */
export function toCudaError(err: unknown, suffix = ''): unknown {
  if (isNativeCudaError(err)) {
    return new CudaError({
      cudaCode: err.cudaCode,
      cudaName: err.cudaName,
      call: err.cudaCall ?? 'unknown',
      problem: err.message + suffix,
      cause: err,
    });
  }
  if (isNativeArgumentError(err)) {
    return new InvalidArgumentError({
      code: err.code,
      path: err.path,
      value: undefined,
      allowed: err.allowed,
      problem: err.message,
    });
  }
  return err;
}
