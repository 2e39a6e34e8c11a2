// Hostile input (issue 17) against every public function and method, through the recording fake
// addon: random values of every kind (NaN, +-Infinity, -0, negatives, fractions, 2^31, 2^53,
// huge array-likes, null, wrong types, prototype keys, forged handles) in every argument position.
// Each call must return a valid result or throw a FlashgraphError naming one of its arguments,
// within a second, with no native call made for a rejected argument, and leave the object it was
// called on as it was and still usable.
import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../src/native.js', async () => {
  const { createFakeNative } = await import('./fake-native.js');
  const fake = createFakeNative();
  return {
    ADDON_FILE: 'flashgraph_cuda.node',
    addonCandidates: () => [],
    loadNative: () => ({ addon: fake.addon, path: 'fake' }),
    fake,
  };
});

import {
  CudaError,
  createNativeAddonLoader,
  cudaStatus,
  DeviceBuffer,
  deviceGraphMemory,
  deviceSynchronize,
  deviceSynchronizeAsync,
  Event,
  fromBf16,
  fromFp16,
  kernels,
  memGetInfo,
  nativeAddonCandidates,
  PinnedHostBuffer,
  Stream,
  toBf16,
  toFp16,
} from '../src/index.js';
import * as nativeModule from '../src/native.js';
import type { FakeNative } from './fake-native.js';

const fake = (nativeModule as unknown as { fake: FakeNative }).fake;
beforeEach(() => fake.reset());

const HOSTILE: unknown[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  -1,
  0.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  Number.MAX_VALUE,
  null,
  undefined,
  '',
  '16',
  true,
  {},
  [],
  [1, 2],
  { length: 2 ** 53 },
  { length: -1 },
  new Float64Array(4),
  new Uint8Array(1 << 20),
  1n,
  -1n,
  2n ** 64n,
  Symbol('hostile'),
  () => 1,
  JSON.parse('{"__proto__": {"device": 1, "stream": 1}}'),
  { constructor: 1 },
  { toString: 1, valueOf: 2 },
  Object.create(null),
  Object.create(DeviceBuffer.prototype),
  Object.create(Stream.prototype),
  Object.create(Event.prototype),
  { handle: 0x2000n, device: 0 },
  { ptr: 0x1000n, byteLength: 64, device: 0 },
];

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.anything({ withBigInt: true, withTypedArray: true, withNullPrototype: true }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }) },
);

/** Each argument: valid or hostile, so checks deep in the list are reached too. */
function argsOf(valid: readonly (() => unknown)[]): fc.Arbitrary<unknown[]> {
  return fc.tuple(
    ...valid.map((v) =>
      fc.oneof(
        fc.constant(undefined).map(() => v()),
        hostile,
      ),
    ),
  );
}

type Outcome = { ok: true } | { ok: false; error: unknown };

async function outcome(fn: () => unknown): Promise<Outcome> {
  const started = performance.now();
  try {
    await fn();
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  } finally {
    // Bounded: every check is up front, so nothing may loop over a hostile size.
    expect(performance.now() - started).toBeLessThan(1000);
  }
}

/** A rejection must be typed, name one of `paths`, and come before any native call that changes state. */
function expectTypedRejection(o: Outcome, paths: readonly string[], callsBefore: number): void {
  if (o.ok) return;
  const error = o.error as { path?: string; code?: string };
  expect(isFlashgraphError(error), `not a FlashgraphError: ${String(o.error)}`).toBe(true);
  if (error instanceof InvalidArgumentError) {
    expect(
      paths.some((p) => error.path === p || error.path?.startsWith(`${p}.`) || error.path?.startsWith(`${p} `)),
    ).toBe(true);
    const mutating = fake.calls
      .slice(callsBefore)
      .filter((c) => !/^(streamPriorityRange|streamGetDevice|status)$/.test(c.name));
    expect(mutating.map((c) => c.name)).toEqual([]);
  } else if (!(error instanceof CudaError)) {
    expect(error.code).toBe('disposed');
  }
}

interface Target {
  name: string;
  paths: readonly string[];
  valid: readonly (() => unknown)[];
  call: (...args: unknown[]) => unknown;
}

const stream = () => Stream.create();
const buffer = () => DeviceBuffer.alloc(64);

const functions: Target[] = [
  {
    name: 'DeviceBuffer.alloc',
    paths: ['byteLength', 'options'],
    valid: [() => 16, () => ({})],
    call: (a, b) => DeviceBuffer.alloc(a as number, b as never),
  },
  {
    name: 'PinnedHostBuffer.alloc',
    paths: ['byteLength'],
    valid: [() => 16],
    call: (a) => PinnedHostBuffer.alloc(a as number),
  },
  {
    name: 'Stream.create',
    paths: ['options'],
    valid: [() => ({ nonBlocking: true })],
    call: (a) => Stream.create(a as never),
  },
  {
    name: 'Stream.fromHandle',
    paths: ['handle', 'options'],
    valid: [() => 0n, () => ({ device: 0 })],
    call: (a, b) => Stream.fromHandle(a as bigint, b as never),
  },
  {
    name: 'Event.create',
    paths: ['options'],
    valid: [() => ({ timing: true })],
    call: (a) => Event.create(a as never),
  },
  { name: 'memGetInfo', paths: ['device'], valid: [() => 0], call: (a) => memGetInfo(a as number) },
  { name: 'deviceGraphMemory', paths: ['device'], valid: [() => 0], call: (a) => deviceGraphMemory(a as number) },
  { name: 'deviceSynchronize', paths: ['device'], valid: [() => 0], call: (a) => deviceSynchronize(a as number) },
  {
    name: 'deviceSynchronizeAsync',
    paths: ['device'],
    valid: [() => 0],
    call: (a) => deviceSynchronizeAsync(a as number),
  },
  { name: 'toBf16', paths: ['src'], valid: [() => new Float32Array(4)], call: (a) => toBf16(a as Float32Array) },
  { name: 'toFp16', paths: ['src'], valid: [() => new Float32Array(4)], call: (a) => toFp16(a as Float32Array) },
  { name: 'fromBf16', paths: ['src'], valid: [() => new Uint16Array(4)], call: (a) => fromBf16(a as Uint16Array) },
  { name: 'fromFp16', paths: ['src'], valid: [() => new Uint16Array(4)], call: (a) => fromFp16(a as Uint16Array) },
  {
    name: 'kernels.fillInt32',
    paths: ['buf', 'value', 'count', 'stream'],
    valid: [buffer, () => 7, () => 4, () => 0n],
    call: (a, b, c, d) => kernels.fillInt32(a as never, b as number, c as number, d as never),
  },
  {
    name: 'kernels.addFloat32',
    paths: ['a', 'b', 'out', 'count', 'stream'],
    valid: [buffer, buffer, buffer, () => 4, stream],
    call: (a, b, c, d, e) => kernels.addFloat32(a as never, b as never, c as never, d as number, e as never),
  },
  {
    name: 'kernels.copyBytes',
    paths: ['dst', 'src', 'byteLength', 'stream'],
    valid: [buffer, buffer, () => 16, stream],
    call: (a, b, c, d) => kernels.copyBytes(a as never, b as never, c as number, d as never),
  },
  {
    name: 'createNativeAddonLoader',
    paths: ['spec'],
    valid: [() => ({ file: 'x.node', moduleUrl: import.meta.url, buildCommand: 'make' })],
    call: (a) => createNativeAddonLoader(a as never),
  },
  {
    name: 'nativeAddonCandidates',
    paths: ['spec'],
    valid: [() => ({ file: 'x.node', moduleUrl: import.meta.url, buildCommand: 'make' })],
    call: (a) => nativeAddonCandidates(a as never),
  },
];

describe('hostile arguments to the functions', () => {
  it.each(functions.map((t) => [t.name, t] as const))('%s', async (_name, t) => {
    await fc.assert(
      fc.asyncProperty(argsOf(t.valid), async (args) => {
        fake.reset();
        expectTypedRejection(await outcome(() => t.call(...args)), t.paths, 0);
      }),
      { numRuns: 150 },
    );
  });

  it('cudaStatus() takes nothing and never throws', () => {
    expect(() => cudaStatus()).not.toThrow();
  });
});

interface MethodTarget<T> {
  name: string;
  paths: readonly string[];
  valid: readonly (() => unknown)[];
  call: (target: T, ...args: unknown[]) => unknown;
}

/** Snapshot of what a rejected call must leave as it was. */
function snapshot(target: object): string {
  const read = (f: () => unknown) => {
    try {
      return String(f());
    } catch (e) {
      return `threw ${(e as { code?: string }).code}`;
    }
  };
  const t = target as Record<string, unknown>;
  return ['ptr', 'byteLength', 'device', 'handle'].map((k) => read(() => t[k])).join('|');
}

async function hostileMethods<T extends object>(
  create: () => T,
  stillUsable: (target: T) => unknown,
  methods: MethodTarget<T>[],
): Promise<void> {
  for (const m of methods) {
    const target = create();
    await fc.assert(
      fc.asyncProperty(argsOf(m.valid), async (args) => {
        const before = snapshot(target);
        const callsBefore = fake.calls.length;
        const o = await outcome(() => m.call(target, ...args));
        expectTypedRejection(o, m.paths, callsBefore);
        if (!o.ok) expect(snapshot(target), `${m.name} changed its object`).toBe(before);
      }),
      { numRuns: 120 },
    );
    expect(() => stillUsable(target), `${m.name}: the object is still usable`).not.toThrow();
  }
}

describe('hostile arguments to the methods', () => {
  it('DeviceBuffer', async () => {
    await hostileMethods(buffer, (b) => b.write(new Uint8Array(4)), [
      {
        name: 'write',
        paths: ['src', 'options'],
        valid: [() => new Uint8Array(8), () => ({ offset: 8 })],
        call: (b, a, o) => b.write(a as never, o as never),
      },
      {
        name: 'read',
        paths: ['dst', 'options'],
        valid: [() => new Uint8Array(8), () => ({ offset: 8 })],
        call: (b, a, o) => b.read(a as never, o as never),
      },
      {
        name: 'writeAsync',
        paths: ['src', 'options'],
        valid: [() => new Uint8Array(8), () => ({ stream: stream() })],
        call: (b, a, o) => b.writeAsync(a as never, o as never),
      },
      {
        name: 'readAsync',
        paths: ['dst', 'options'],
        valid: [() => new Uint8Array(8), () => ({})],
        call: (b, a, o) => b.readAsync(a as never, o as never),
      },
      {
        name: 'fill',
        paths: ['byte', 'options'],
        valid: [() => 3, () => ({ offset: 4, byteLength: 8 })],
        call: (b, a, o) => b.fill(a as number, o as never),
      },
      {
        name: 'copyFrom',
        paths: ['src', 'options'],
        valid: [buffer, () => ({ srcOffset: 8, byteLength: 8 })],
        call: (b, a, o) => b.copyFrom(a as never, o as never),
      },
      {
        name: 'view',
        paths: ['byteOffset', 'byteLength'],
        valid: [() => 8, () => 8],
        call: (b, a, l) => b.view(a as number, l as number),
      },
    ]);
  });

  it('PinnedHostBuffer', async () => {
    await hostileMethods(
      () => PinnedHostBuffer.alloc(64),
      (p) => p.int32(),
      [
        {
          name: 'int32',
          paths: ['offsetBytes', 'length'],
          valid: [() => 8, () => 2],
          call: (p, a, b) => p.int32(a as number, b as number),
        },
        {
          name: 'float32',
          paths: ['offsetBytes', 'length'],
          valid: [() => 8, () => 2],
          call: (p, a, b) => p.float32(a as number, b as number),
        },
        {
          name: 'copyToDevice',
          paths: ['dst', 'options'],
          valid: [buffer, () => ({ stream: stream() })],
          call: (p, a, o) => p.copyToDevice(a as never, o as never),
        },
        {
          name: 'copyFromDevice',
          paths: ['src', 'options'],
          valid: [buffer, () => ({ stream: stream() })],
          call: (p, a, o) => p.copyFromDevice(a as never, o as never),
        },
      ],
    );
  });

  it('Stream', async () => {
    await hostileMethods(stream, (s) => s.query(), [
      { name: 'waitEvent', paths: ['event'], valid: [() => Event.create()], call: (s, e) => s.waitEvent(e as never) },
      {
        name: 'beginCapture',
        paths: ['mode'],
        valid: [() => 'relaxed'],
        call: (s, m) => {
          s.beginCapture(m as never);
          s.endCapture().dispose(); // a valid capture ends, so the next run starts from the same state
        },
      },
    ]);
  });

  it('Event', async () => {
    await hostileMethods(
      () => Event.create({ timing: true }),
      (e) => e.query(),
      [
        { name: 'record', paths: ['stream'], valid: [stream], call: (e, s) => e.record(s as never) },
        {
          name: 'elapsedMs',
          paths: ['end'],
          valid: [() => Event.create({ timing: true })],
          call: (e, end) => e.elapsedMs(end as never),
        },
      ],
    );
  });

  it('GraphExec', async () => {
    const capture = () => {
      const s = Stream.create();
      s.beginCapture();
      return s.endCapture();
    };
    await hostileMethods(
      () => capture().instantiate(),
      (x) => x.launch(stream()),
      [
        { name: 'launch', paths: ['stream'], valid: [stream], call: (x, s) => x.launch(s as never) },
        { name: 'upload', paths: ['stream'], valid: [stream], call: (x, s) => x.upload(s as never) },
        { name: 'update', paths: ['graph'], valid: [capture], call: (x, g) => x.update(g as never) },
      ],
    );
  });
});
