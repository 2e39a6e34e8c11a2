// Device-wide queries and synchronization.
import { callNative, callNativeAsync } from './capture-guard.js';
import { requireCuda, resolveDevice } from './status.js';

/** Free and total device memory in bytes (cudaMemGetInfo), for a device (default 0). */
export function memGetInfo(device?: number): { freeBytes: number; totalBytes: number } {
  const d = resolveDevice(device, 'device');
  const native = requireCuda();
  return callNative(native, () => native.memGetInfo(d));
}

/**
 * Memory of graph allocations (memory nodes, e.g. cudaMallocAsync captured into graphs) on a
 * device: in use now (`usedBytes`), the high-water mark of use (`highBytes`), and what the
 * allocator holds from the driver (`reservedBytes`).
 */
export function deviceGraphMemory(device?: number): { usedBytes: number; highBytes: number; reservedBytes: number } {
  const d = resolveDevice(device, 'device');
  const native = requireCuda();
  const m = callNative(native, () => native.graphMemory(d));
  return { usedBytes: m.usedBytes, highBytes: m.highBytes, reservedBytes: m.reservedBytes };
}

/** deviceSynchronize off the JS thread: timers and I/O keep running while the device finishes. */
export async function deviceSynchronizeAsync(device?: number): Promise<void> {
  const d = resolveDevice(device, 'device');
  const native = requireCuda();
  await callNativeAsync(native, () => native.deviceSynchronizeAsync(d));
}

/** Waits until all work on a device (default 0) is done (cudaDeviceSynchronize). */
export function deviceSynchronize(device?: number): void {
  const d = resolveDevice(device, 'device');
  const native = requireCuda();
  callNative(native, () => native.deviceSynchronize(d));
}
