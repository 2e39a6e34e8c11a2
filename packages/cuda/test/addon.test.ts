// The real flashgraph_cuda.node on a machine without a GPU (CI): it loads, cudaStatus() reports
// unavailability with an actionable reason and never throws, every GPU entry point throws
// NoCudaDeviceError carrying that reason, and CUDA failures surface as CudaError-shaped Errors.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NativeCuda } from '../src/native.js';

const prebuilt = fileURLToPath(new URL('../prebuilds/linux-x64/flashgraph_cuda.node', import.meta.url));
// The workspace's platform package (packages/cuda-linux-x64-gnu), filled only when it is packed.
const platformCopy = fileURLToPath(new URL('../../cuda-linux-x64-gnu/flashgraph_cuda.node', import.meta.url));
const hasAddon = existsSync(prebuilt);
const require = createRequire(import.meta.url);

afterEach(() => {
  vi.doUnmock('node:fs');
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe.skipIf(!hasAddon)('flashgraph_cuda.node', () => {
  const addon = () => require(prebuilt) as NativeCuda;

  it('loads and exports the whole native contract', () => {
    const names = Object.keys(addon()).sort();
    for (const fn of [
      'status',
      'streamCreate',
      'malloc',
      'free',
      'pinnedAlloc',
      'graphExecUpdate',
      'streamAbandonCapture',
      'convert',
    ]) {
      expect(names).toContain(fn);
    }
  });

  it('status() reports the machine without throwing', () => {
    const s = addon().status();
    expect(s.runtimeVersion).toBeGreaterThanOrEqual(12000);
    if (!s.available) {
      expect(s.devices).toEqual([]);
      expect(s.errorName).toMatch(/^cuda(ErrorInsufficientDriver|ErrorNoDevice|Error\w+)$/);
      expect(s.reason).toMatch(/driver|device/i);
    }
  });

  it('a failing CUDA call throws an Error carrying the CUDA name, code and call', () => {
    const s = addon().status();
    if (s.available) return; // only meaningful without a device
    let err: (Error & Record<string, unknown>) | undefined;
    try {
      addon().malloc(0, 16);
    } catch (e) {
      err = e as Error & Record<string, unknown>;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(new RegExp(`^${s.errorName}: cuda\\w+ failed: `));
    expect(err?.cudaName).toBe(s.errorName);
    expect(typeof err?.cudaCode).toBe('number');
    expect(err?.cudaCall).toMatch(/^cuda/);
  });

  it('an async wait runs on a worker thread and rejects with the CUDA-shaped error', async () => {
    const s = addon().status();
    if (s.available) return; // only meaningful without a device
    for (const wait of [
      () => addon().streamSynchronizeAsync(0n),
      () => addon().eventSynchronizeAsync(1n),
      () => addon().deviceSynchronizeAsync(0),
      () => addon().memcpyDtoHAsync(0, new Uint8Array(8), 0x1000n, 0n),
    ]) {
      const promise = wait();
      expect(promise).toBeInstanceOf(Promise);
      const err = (await promise.catch((e: unknown) => e)) as Error & Record<string, unknown>;
      expect(err.message).toMatch(new RegExp(`^${s.errorName}: cuda\\w+ failed: `));
      expect([err.cudaName, typeof err.cudaCode]).toEqual([s.errorName, 'number']);
    }
  });

  it('the addon re-checks argument types itself', () => {
    expect(() => addon().malloc(0, -1)).toThrow(RangeError);
    expect(() => addon().streamSynchronize(5 as unknown as bigint)).toThrow(TypeError);
    expect(() => addon().memcpyHtoD(0, 1n, {} as Uint8Array, 0n)).toThrow(TypeError);
    // The native error contract: code, path and allowed, like an InvalidArgumentError.
    expect(() => addon().malloc(0, 1.5)).toThrow(
      expect.objectContaining({
        code: 'out_of_range',
        path: 'byteLength',
        allowed: 'integer in [0, 9007199254740991]',
        message: 'flashgraph_cuda: byteLength: out of range (allowed integer in [0, 9007199254740991])',
      }),
    );
    expect(() => addon().streamSynchronizeAsync(5 as unknown as bigint)).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'stream', allowed: 'bigint' }),
    );
    expect(() => addon().pinnedFree(new ArrayBuffer(8))).toThrow(/not a pinned buffer/);
    expect(() => addon().pinnedCopy(0, 1n, 1n, 8, true, 0n)).toThrow(/not inside a live pinned allocation/);
  });
});

describe.skipIf(!hasAddon)('the public API without a device', async () => {
  const cuda = await import('../src/index.js');
  const status = cuda.cudaStatus();

  it('cudaStatus() never throws and explains what to do', () => {
    expect(() => cuda.cudaStatus()).not.toThrow();
    expect(cuda.cudaStatus()).toEqual(status); // stable
    if (status.available) return;
    expect(status.reason).toMatch(/install|driver|GPU/i);
    expect(status.devices).toEqual([]);
    expect(status.runtimeVersion).toBeGreaterThan(0);
  });

  const entryPoints: [string, () => unknown][] = [
    ['DeviceBuffer.alloc', () => cuda.DeviceBuffer.alloc(16)],
    ['PinnedHostBuffer.alloc', () => cuda.PinnedHostBuffer.alloc(16)],
    ['Stream.create', () => cuda.Stream.create()],
    ['Stream.fromHandle', () => cuda.Stream.fromHandle(0n)],
    ['Event.create', () => cuda.Event.create({ timing: true })],
    ['memGetInfo', () => cuda.memGetInfo()],
    ['deviceGraphMemory', () => cuda.deviceGraphMemory()],
    ['deviceSynchronize', () => cuda.deviceSynchronize()],
    ['kernels.fillInt32', () => cuda.kernels.fillInt32(0x1000n, 0, 1, 0n)],
    ['kernels.addFloat32', () => cuda.kernels.addFloat32(0x1000n, 0x1000n, 0x1000n, 1, 0n)],
    ['kernels.copyBytes', () => cuda.kernels.copyBytes(0x1000n, 0x2000n, 1, 0n)],
  ];
  it.skipIf(status.available).each(entryPoints)('%s throws NoCudaDeviceError with the reason', (_name, fn) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cuda.NoCudaDeviceError);
    expect((err as InstanceType<typeof cuda.NoCudaDeviceError>).reason).toBe(status.reason);
    expect((err as Error).message).toContain(status.reason);
  });

  it('the async waits reject with NoCudaDeviceError too', async () => {
    if (status.available) return;
    await expect(cuda.deviceSynchronizeAsync()).rejects.toBeInstanceOf(cuda.NoCudaDeviceError);
  });

  it('argument errors still come first without a device', () => {
    for (const fn of [
      () => cuda.DeviceBuffer.alloc(-1),
      () => cuda.Stream.fromHandle(-1n),
      () => cuda.kernels.fillInt32(0n, 0, 1, 0n),
    ]) {
      expect(fn).toThrow(expect.objectContaining({ code: 'out_of_range' }));
    }
  });
});

describe.skipIf(!hasAddon)('addon loading', () => {
  it('looks in $FLASHGRAPH_NATIVE_DIR first, then the package prebuilds, then the platform package', async () => {
    vi.stubEnv('FLASHGRAPH_NATIVE_DIR', '/opt/addons/');
    const native = await import('../src/native.js');
    expect(native.addonCandidates()).toEqual(['/opt/addons/flashgraph_cuda.node', prebuilt, platformCopy]);
  });

  it('falls back to the prebuild when the directory holds a broken addon, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-native-'));
    writeFileSync(join(dir, 'flashgraph_cuda.node'), 'not an ELF file');
    vi.stubEnv('FLASHGRAPH_NATIVE_DIR', dir);
    const native = await import('../src/native.js');
    const loaded = native.loadNative();
    expect(loaded.addon).not.toBeNull();
    expect(loaded).toMatchObject({ path: prebuilt });
  });

  it('reports where it looked when no addon loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-native-'));
    writeFileSync(join(dir, 'flashgraph_cuda.node'), 'broken');
    vi.stubEnv('FLASHGRAPH_NATIVE_DIR', dir);
    vi.doMock('node:fs', async (orig) => {
      const fs = await orig<typeof import('node:fs')>();
      return { ...fs, existsSync: (p: string) => p.startsWith(dir) && fs.existsSync(p) };
    });
    const cuda = await import('../src/index.js');
    const status = cuda.cudaStatus();
    expect(status.available).toBe(false);
    expect(status.reason).toMatch(
      /flashgraph_cuda.node could not be loaded: build it with `npx @flashgraph\/cuda build-native` .*in the flashgraph repository: `npx -y pnpm@10\.34\.9 --filter @flashgraph\/cuda build`/,
    );
    expect(status.reason).toContain(`${dir}/flashgraph_cuda.node (not a Linux shared library`);
    expect(status.reason).toContain(`${prebuilt} (missing)`);
    expect(status.reason).toContain(`${platformCopy} (missing)`);
    let err: unknown;
    try {
      cuda.Stream.create();
    } catch (e) {
      err = e;
    }
    // AddonLoadError is a NoCudaDeviceError, with its own code, the attempts and the requirements.
    expect(err).toBeInstanceOf(cuda.NoCudaDeviceError);
    expect(err).toBeInstanceOf(cuda.AddonLoadError);
    const e = err as InstanceType<typeof cuda.AddonLoadError>;
    expect([e.code, e.file, e.reason]).toEqual(['addon_load_failed', 'flashgraph_cuda.node', status.reason]);
    expect(e.platformPackage).toBe('@flashgraph/cuda-linux-x64-gnu');
    expect(e.attempts.map((a) => a.path)).toEqual([`${dir}/flashgraph_cuda.node`, prebuilt, platformCopy]);
    expect(e.message).toMatch(/glibc >= 2\.34.*Node\.js >= 20.*CUDA 13\.0 \(R580 or newer\).*sm_90/);
  });
});

describe('the child-process test load', () => {
  it('explains the usual load failures', async () => {
    const { explainLoadFailure } = await import('../src/addon-probe.js');
    expect(
      explainLoadFailure(
        "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /x/flashgraph_fa3.node)",
      ),
    ).toMatch(/^needs glibc >= 2\.38, this system has glibc [\d.]+|unknown/);
    expect(explainLoadFailure('/x/a.node: invalid ELF header')).toMatch(/^not a Linux shared library/);
    expect(explainLoadFailure('/x/a.node: wrong ELF class: ELFCLASS32')).toMatch(/another CPU architecture/);
    expect(explainLoadFailure('libcuda.so.1: cannot open shared object file')).toMatch(/shared library it links/);
  });

  const cc = ['/usr/bin/cc', '/usr/bin/gcc', '/usr/bin/c++'].find((p) => existsSync(p));
  it.skipIf(!cc)('a binary that crashes while loading gives a reason, and this process lives on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-crash-'));
    writeFileSync(
      join(dir, 'boom.c'),
      '#include <stdlib.h>\n__attribute__((constructor)) static void boom(void) { abort(); }\n',
    );
    execFileSync(cc as string, ['-shared', '-fPIC', '-o', join(dir, 'flashgraph_boom.node'), join(dir, 'boom.c')]);
    vi.stubEnv('FLASHGRAPH_NATIVE_DIR', dir);
    const { createNativeAddonLoader } = await import('../src/addon-loader.js');
    const load = createNativeAddonLoader<unknown>({
      file: 'flashgraph_boom.node',
      moduleUrl: import.meta.url,
      buildCommand: 'make boom',
    });
    const r = load();
    if (!('error' in r)) throw new Error('expected the boom addon to fail');
    expect(r.error.attempts[0]).toEqual({
      path: join(dir, 'flashgraph_boom.node'),
      problem: 'loading it crashed a test process (SIGABRT)',
    });
    expect(load()).toBe(r); // memoised
  });

  it.skipIf(!hasAddon)('remembers a binary that loaded, per path, size and mtime', async () => {
    const { probeAddon } = await import('../src/addon-probe.js');
    const dir = mkdtempSync(join(tmpdir(), 'fg-probe-'));
    const copy = join(dir, 'flashgraph_cuda.node');
    copyFileSync(prebuilt, copy);
    const started = performance.now();
    expect(probeAddon(copy)).toEqual({ ok: true });
    const first = performance.now() - started;
    writeFileSync(copy, 'now broken'); // a new mtime and size: probed again
    expect(probeAddon(copy)).toMatchObject({ ok: false, problem: expect.stringMatching(/not a Linux shared library/) });
    expect(first).toBeGreaterThan(0);
  });
});
