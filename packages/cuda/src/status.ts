// cudaStatus() and the gate every GPU entry point passes through (requireCuda, checkDevice).
import { checkInt, INT32_MAX } from '@flashgraph/errors';
import { NoCudaDeviceError } from './errors.js';
import { loadNative, type NativeCuda } from './native.js';

export interface CudaDeviceInfo {
  index: number;
  name: string;
  /** "major.minor", e.g. "9.0" for Hopper */
  computeCapability: string;
  multiProcessorCount: number;
  totalMemory: number;
  l2CacheSize: number;
  sharedMemoryPerBlockOptin: number;
  pciBusId?: string;
}

export interface CudaStatus {
  available: boolean;
  /** Why CUDA is unavailable, and what to do about it (present only when unavailable). */
  reason?: string;
  /** CUDA version the driver supports, e.g. 13000 (absent without a driver). */
  driverVersion?: number;
  /** CUDA runtime version linked into the addon, e.g. 13000 (0 when the addon did not load). */
  runtimeVersion: number;
  devices: CudaDeviceInfo[];
}

let cachedStatus: CudaStatus | undefined;

function computeStatus(): CudaStatus {
  const loaded = loadNative();
  if (!loaded.addon) return { available: false, reason: loaded.reason, runtimeVersion: 0, devices: [] };
  try {
    const s = loaded.addon.status();
    const out: CudaStatus = { available: s.available, runtimeVersion: s.runtimeVersion, devices: s.devices };
    if (s.driverVersion > 0) out.driverVersion = s.driverVersion;
    if (!s.available) out.reason = s.reason ?? 'CUDA is unavailable (no reason given)';
    return out;
  } catch (err) {
    return {
      available: false,
      reason: `querying CUDA failed: ${(err as Error).message}`,
      runtimeVersion: 0,
      devices: [],
    };
  }
}

/** Whether a CUDA driver and device are usable, and which devices there are. Never throws. */
export function cudaStatus(): CudaStatus {
  cachedStatus ??= computeStatus();
  const s = cachedStatus;
  return { ...s, devices: s.devices.map((d) => ({ ...d })) };
}

/**
 * The addon, when CUDA is usable; otherwise AddonLoadError (the addon does not load here) or
 * NoCudaDeviceError (no driver or device), both with the reason.
 */
export function requireCuda(): NativeCuda {
  cachedStatus ??= computeStatus();
  const loaded = loadNative();
  if (!loaded.addon) throw loaded.error;
  if (!cachedStatus.available) throw new NoCudaDeviceError(cachedStatus.reason ?? 'unknown');
  return loaded.addon;
}

/**
 * Validates a device index: an integer >= 0, and below the device count when CUDA is available
 * (without CUDA the next requireCuda() reports that instead).
 */
export function checkDevice(value: unknown, name = 'device'): number {
  cachedStatus ??= computeStatus();
  const count = cachedStatus.devices.length;
  return checkInt(name, value, { min: 0, max: cachedStatus.available && count > 0 ? count - 1 : INT32_MAX });
}

/** The device's memory in bytes when CUDA is available (the ceiling of one allocation), else undefined. */
export function deviceTotalMemory(device: number): number | undefined {
  cachedStatus ??= computeStatus();
  return cachedStatus.available ? cachedStatus.devices[device]?.totalMemory : undefined;
}

export function resolveDevice(value: unknown, name = 'options.device'): number {
  return value === undefined ? 0 : checkDevice(value, name);
}
