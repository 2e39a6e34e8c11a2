// A recording stand-in for flashgraph_cuda.node, for the CPU tests of the TypeScript layer: it
// reports one device, hands out increasing handles, and logs every call, so a test can assert
// that a bad argument was rejected before any native call. The real addon is exercised by
// addon.test.ts (load, status, errors) and by the GPU suite (test/gpu).
import type { NativeCuda } from '../src/native.js';

export interface FakeNative {
  addon: NativeCuda;
  calls: { name: string; args: unknown[] }[];
  /** Makes the named function throw like the addon does for a CUDA error. */
  failNext(name: string, cudaName: string, code: number): void;
  captureStatus: Map<bigint, 0 | 1 | 2>;
  /** The next call of an async function returns a Promise that settles when `release()` is called. */
  holdNext(name: string): { release(): void };
  reset(): void;
}

export function cudaLikeError(cudaName: string, code: number, call: string): Error {
  const err = new Error(`${cudaName}: ${call} failed: fake`) as Error & Record<string, unknown>;
  err.cudaCode = code;
  err.cudaName = cudaName;
  err.cudaCall = call;
  return err;
}

export function createFakeNative(): FakeNative {
  const calls: FakeNative['calls'] = [];
  const failures = new Map<string, { cudaName: string; code: number }>();
  const captureStatus = new Map<bigint, 0 | 1 | 2>();
  const held = new Map<string, Promise<void>>();
  let next = 0x1000n;
  const handle = () => (next += 0x100n);
  const fns: Record<string, (...args: unknown[]) => unknown> = {
    status: () => ({
      available: true,
      driverVersion: 13000,
      runtimeVersion: 13000,
      devices: [
        {
          index: 0,
          name: 'Fake H100',
          computeCapability: '9.0',
          multiProcessorCount: 132,
          totalMemory: 80e9,
          l2CacheSize: 50331648,
          sharedMemoryPerBlockOptin: 232448,
        },
      ],
    }),
    streamCreate: handle,
    streamPriorityRange: () => [0, -5],
    streamGetDevice: () => 0,
    streamQuery: () => true,
    streamCaptureStatus: (s) => captureStatus.get(s as bigint) ?? 0,
    streamBeginCapture: (_d, s) => captureStatus.set(s as bigint, 1),
    streamEndCapture: (s) => {
      captureStatus.set(s as bigint, 0);
      return handle();
    },
    streamAbandonCapture: (s) => {
      const was = captureStatus.get(s as bigint) ?? 0;
      captureStatus.set(s as bigint, 0);
      return was !== 0;
    },
    eventCreate: handle,
    eventQuery: () => true,
    eventElapsedMs: () => 1.5,
    malloc: handle,
    memGetInfo: () => ({ freeBytes: 1e9, totalBytes: 8e10 }),
    graphMemory: () => ({ usedBytes: 0, highBytes: 0, reservedBytes: 0, reservedHighBytes: 0 }),
    // Like cudaMallocHost, fails for more host memory than the (fake) machine has.
    pinnedAlloc: (bytes) => {
      if ((bytes as number) > 2 ** 31) throw cudaLikeError('cudaErrorMemoryAllocation', 2, 'cudaMallocHost');
      return { buffer: new ArrayBuffer(bytes as number), ptr: handle() };
    },
    streamSynchronizeAsync: async () => undefined,
    eventSynchronizeAsync: async () => undefined,
    deviceSynchronizeAsync: async () => undefined,
    memcpyHtoDAsync: async () => undefined,
    memcpyDtoHAsync: async () => undefined,
    pinnedFree: () => true,
    graphInstantiate: handle,
    graphNodeCount: () => 3,
    graphExecUpdate: () => ({ ok: false, result: 2, reason: 'cudaGraphExecUpdate: topology changed' }),
  };
  const names = [
    'status',
    'streamCreate',
    'streamPriorityRange',
    'streamDestroy',
    'streamSynchronize',
    'streamQuery',
    'streamGetDevice',
    'streamWaitEvent',
    'eventCreate',
    'eventDestroy',
    'eventRecord',
    'eventSynchronize',
    'eventQuery',
    'eventElapsedMs',
    'malloc',
    'free',
    'memcpyHtoD',
    'memcpyDtoH',
    'memcpyDtoD',
    'memset',
    'memGetInfo',
    'deviceSynchronize',
    'graphMemory',
    'pinnedAlloc',
    'pinnedFree',
    'pinnedCopy',
    'streamBeginCapture',
    'streamEndCapture',
    'streamCaptureStatus',
    'streamAbandonCapture',
    'graphInstantiate',
    'graphDestroy',
    'graphNodeCount',
    'graphExecDestroy',
    'graphLaunch',
    'graphUpload',
    'graphExecUpdate',
    'fillInt32',
    'addFloat32',
    'copyBytes',
    'launchEmpty',
    'convert',
    'streamSynchronizeAsync',
    'eventSynchronizeAsync',
    'deviceSynchronizeAsync',
    'memcpyHtoDAsync',
    'memcpyDtoHAsync',
  ];
  const addon: Record<string, unknown> = {};
  for (const name of names) {
    addon[name] = (...args: unknown[]) => {
      calls.push({ name, args });
      const failure = failures.get(name);
      if (failure) {
        failures.delete(name);
        const error = cudaLikeError(failure.cudaName, failure.code, name);
        // The async waits reject their Promise, like the addon's workers do.
        if (name.endsWith('Async')) return Promise.reject(error);
        throw error;
      }
      const hold = held.get(name);
      if (hold) {
        held.delete(name);
        return hold;
      }
      return fns[name]?.(...args);
    };
  }
  return {
    addon: addon as unknown as NativeCuda,
    calls,
    captureStatus,
    failNext: (name, cudaName, code) => failures.set(name, { cudaName, code }),
    holdNext: (name) => {
      let release = () => {};
      held.set(
        name,
        new Promise<void>((resolve) => {
          release = resolve;
        }),
      );
      return { release: () => release() };
    },
    reset: () => {
      calls.length = 0;
      failures.clear();
      held.clear();
    },
  };
}
