// Loads flashgraph_cuda.node once, lazily: $FLASHGRAPH_NATIVE_DIR, this package's prebuilds (a
// binary built here), then the platform package (addon-loader.ts). Never throws: a missing or
// broken addon becomes a reason string that cudaStatus() reports and every GPU call turns into
// NoCudaDeviceError. The interface below is the addon's
// contract (native/cuda/src/*.cc).
import {
  createNativeAddonLoader,
  type NativeAddonLoad,
  type NativeAddonSpec,
  nativeAddonCandidates,
} from './addon-loader.js';

export const ADDON_FILE = 'flashgraph_cuda.node';

export interface NativeDeviceInfo {
  index: number;
  name: string;
  computeCapability: string;
  multiProcessorCount: number;
  totalMemory: number;
  l2CacheSize: number;
  sharedMemoryPerBlockOptin: number;
  pciBusId?: string;
}

export interface NativeStatus {
  available: boolean;
  reason?: string;
  errorName?: string;
  driverVersion: number;
  runtimeVersion: number;
  devices: NativeDeviceInfo[];
}

/** The functions of flashgraph_cuda.node. Pointers, streams, events and graphs are bigints. */
export interface NativeCuda {
  status(): NativeStatus;
  streamCreate(device: number, nonBlocking: boolean, priority: number): bigint;
  streamPriorityRange(device: number): [number, number];
  streamDestroy(stream: bigint): void;
  streamSynchronize(stream: bigint): void;
  streamQuery(stream: bigint): boolean;
  streamGetDevice(stream: bigint): number;
  streamWaitEvent(stream: bigint, event: bigint): void;
  eventCreate(device: number, timing: boolean): bigint;
  eventDestroy(event: bigint): void;
  eventRecord(device: number, event: bigint, stream: bigint): void;
  eventSynchronize(event: bigint): void;
  eventQuery(event: bigint): boolean;
  eventElapsedMs(start: bigint, end: bigint): number;
  malloc(device: number, byteLength: number): bigint;
  free(device: number, ptr: bigint, byteLength: number): void;
  memcpyHtoD(device: number, dst: bigint, src: Uint8Array, stream: bigint): void;
  memcpyDtoH(device: number, dst: Uint8Array, src: bigint, stream: bigint): void;
  memcpyDtoD(device: number, dst: bigint, src: bigint, byteLength: number, stream: bigint, sync: boolean): void;
  memset(device: number, ptr: bigint, byte: number, byteLength: number, stream: bigint, sync: boolean): void;
  memGetInfo(device: number): { freeBytes: number; totalBytes: number };
  deviceSynchronize(device: number): void;
  graphMemory(device: number): {
    usedBytes: number;
    highBytes: number;
    reservedBytes: number;
    reservedHighBytes: number;
  };
  pinnedAlloc(byteLength: number): { buffer: ArrayBuffer; ptr: bigint };
  pinnedFree(buffer: ArrayBuffer): boolean;
  pinnedCopy(
    device: number,
    hostPtr: bigint,
    devicePtr: bigint,
    byteLength: number,
    toDevice: boolean,
    stream: bigint,
  ): void;
  streamBeginCapture(device: number, stream: bigint, mode: 0 | 1 | 2): void;
  streamEndCapture(stream: bigint): bigint;
  /** 0 none, 1 active, 2 invalidated */
  streamCaptureStatus(stream: bigint): 0 | 1 | 2;
  streamAbandonCapture(stream: bigint): boolean;
  graphInstantiate(device: number, graph: bigint): bigint;
  graphDestroy(graph: bigint): void;
  graphNodeCount(graph: bigint): number;
  graphExecDestroy(exec: bigint): void;
  graphLaunch(exec: bigint, stream: bigint): void;
  graphUpload(exec: bigint, stream: bigint): void;
  graphExecUpdate(exec: bigint, graph: bigint): { ok: boolean; result: number; reason?: string };
  fillInt32(device: number, ptr: bigint, value: number, count: number, stream: bigint): void;
  addFloat32(device: number, a: bigint, b: bigint, out: bigint, count: number, stream: bigint): void;
  copyBytes(device: number, dst: bigint, src: bigint, byteLength: number, stream: bigint): void;
  launchEmpty(stream: bigint): void;
  /** kind: 0 f32->bf16, 1 f32->fp16, 2 bf16->f32, 3 fp16->f32 (the hardware conversions) */
  convert(device: number, kind: 0 | 1 | 2 | 3, src: bigint, dst: bigint, count: number, stream: bigint): void;
  // The waits on a libuv worker thread (async.cc): each Promise rejects with the CUDA-shaped Error.
  streamSynchronizeAsync(stream: bigint): Promise<void>;
  eventSynchronizeAsync(event: bigint): Promise<void>;
  deviceSynchronizeAsync(device: number): Promise<void>;
  memcpyHtoDAsync(device: number, dst: bigint, src: Uint8Array, stream: bigint): Promise<void>;
  memcpyDtoHAsync(device: number, dst: Uint8Array, src: bigint, stream: bigint): Promise<void>;
}

export type LoadResult = NativeAddonLoad<NativeCuda>;

const spec: NativeAddonSpec = {
  file: ADDON_FILE,
  moduleUrl: import.meta.url,
  buildCommand: 'npx -y pnpm@10.34.9 --filter @flashgraph/cuda build',
};

/** Where the addon is looked for, in order. */
export const addonCandidates = (): string[] => nativeAddonCandidates(spec);

/** The addon, or null with the reason it could not be loaded. Never throws; loads once. */
export const loadNative: () => LoadResult = createNativeAddonLoader<NativeCuda>(spec);
