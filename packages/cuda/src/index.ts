// @flashgraph/cuda: the CUDA runtime from TypeScript. See README.md.

export type { NativeAddonLoad, NativeAddonSpec } from './addon-loader.js';
export {
  createNativeAddonLoader,
  NATIVE_BUILD_COMMAND,
  NATIVE_REQUIREMENTS,
  nativeAddonCandidates,
} from './addon-loader.js';
export { deviceGraphMemory, deviceSynchronize, deviceSynchronizeAsync, memGetInfo } from './device.js';
export type { CopyOptions } from './device-buffer.js';
export { DeviceBuffer } from './device-buffer.js';
export type { Disposable } from './disposable.js';
export { fromBf16, fromFp16, toBf16, toFp16 } from './dtype-conversions.js';
export type { AddonAttempt, CudaErrorInit, NoCudaDeviceCode } from './errors.js';
export { AddonLoadError, CudaError, DisposedError, NoCudaDeviceError, toCudaError } from './errors.js';
export { Event } from './event.js';
export { Graph, GraphExec } from './graph.js';
export { kernels } from './kernels.js';
export type { NativeErrorFallback } from './native-errors.js';
export { nativeErrorToFlashgraph, wrapNativeAddon, wrapNativeLoader } from './native-errors.js';
export type { PinnedCopyOptions } from './pinned-host-buffer.js';
export { PinnedHostBuffer } from './pinned-host-buffer.js';
export { nativePlatformPackage } from './platform-package.js';
export type { CudaDeviceInfo, CudaStatus } from './status.js';
export { cudaStatus } from './status.js';
export type { CaptureMode, StreamCreateOptions } from './stream.js';
export { Stream } from './stream.js';
