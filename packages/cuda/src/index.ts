// @flashgraph/cuda: the CUDA runtime from TypeScript. See README.md.
export { cudaStatus } from './status.js';
export type { CudaStatus, CudaDeviceInfo } from './status.js';
export { Stream } from './stream.js';
export type { CaptureMode, StreamCreateOptions } from './stream.js';
export { Event } from './event.js';
export { DeviceBuffer } from './device-buffer.js';
export type { CopyOptions } from './device-buffer.js';
export { PinnedHostBuffer } from './pinned-host-buffer.js';
export type { PinnedCopyOptions } from './pinned-host-buffer.js';
export { Graph, GraphExec } from './graph.js';
export { memGetInfo, deviceGraphMemory, deviceSynchronize } from './device.js';
export { kernels } from './kernels.js';
export { toBf16, fromBf16, toFp16, fromFp16 } from './dtype-conversions.js';
export { CudaError, NoCudaDeviceError, DisposedError } from './errors.js';
export { createNativeAddonLoader, nativeAddonCandidates } from './addon-loader.js';
export type { NativeAddonLoad, NativeAddonSpec } from './addon-loader.js';
