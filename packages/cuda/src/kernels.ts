// Tiny kernels for testing the primitives by themselves (and for other packages' tests). Each
// takes `DeviceBuffer | bigint` pointers and a `Stream | bigint` stream (the interop forms),
// enqueues one launch (capturable) and returns.
import { checkInt, INT32_MAX, InvalidArgumentError } from '@flashgraph/errors';
import { callNative } from './capture-guard.js';
import type { DeviceBuffer } from './device-buffer.js';
import { bufferStates, liveBuffer, streamOrHandle } from './handles.js';
import type { NativeCuda } from './native.js';
import { requireCuda } from './status.js';
import type { Stream } from './stream.js';
import { checkHandle, checkSize, wrongObject } from './validate.js';

type Pointer = { ptr: bigint; byteLength: number | undefined; device: number | undefined };

// Element counts of the tiny kernels: the grid-stride loops index with size_t, so the bound is a
// JS-exact count whose byte size is also exact (count x 4 <= 2^53 - 1).
const MAX_INT32_COUNT = Math.floor(Number.MAX_SAFE_INTEGER / 4);

function pointerArg(value: unknown, name: string, align: number): Pointer {
  let p: Pointer;
  if (typeof value === 'bigint') {
    p = { ptr: checkHandle(name, value, false), byteLength: undefined, device: undefined };
  } else {
    if (typeof value !== 'object' || value === null || !bufferStates.has(value))
      throw wrongObject(name, value, 'a DeviceBuffer or a bigint device pointer');
    const b = liveBuffer(value, name);
    p = { ptr: b.ptr, byteLength: b.byteLength, device: b.alloc.device };
  }
  if (p.ptr % BigInt(align) !== 0n) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: name,
      value: p.ptr,
      allowed: `a ${align}-byte aligned address`,
      problem: 'misaligned',
    });
  }
  return p;
}

function fits(p: Pointer, bytes: number, name: string, what: string): void {
  if (p.byteLength !== undefined && bytes > p.byteLength) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: name,
      value: p.byteLength,
      allowed: `at least ${bytes} bytes`,
      problem: `too small for ${what}`,
    });
  }
}

/** The device every operand agrees on; an InvalidArgumentError when they disagree. */
function commonDevice(
  native: NativeCuda,
  stream: { handle: bigint; device: number | undefined },
  ptrs: Pointer[],
): number {
  const known = [stream.device, ...ptrs.map((p) => p.device)].filter((d): d is number => d !== undefined);
  const device = known[0] ?? callNative(native, () => native.streamGetDevice(stream.handle));
  if (known.some((d) => d !== device)) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'stream',
      value: known,
      allowed: 'the buffers and the stream on one device',
      problem: 'operands on different devices',
    });
  }
  return device;
}

export const kernels = {
  /** buf[0..count) = value (int32). */
  fillInt32(buf: DeviceBuffer | bigint, value: number, count: number, stream: Stream | bigint): void {
    const p = pointerArg(buf, 'buf', 4);
    const v = checkInt('value', value, { min: -INT32_MAX - 1, max: INT32_MAX });
    const n = checkSize('count', count, 0, MAX_INT32_COUNT);
    fits(p, n * 4, 'buf', `${n} int32 values`);
    const s = streamOrHandle(stream, 'stream');
    const native = requireCuda();
    const device = commonDevice(native, s, [p]);
    callNative(native, () => native.fillInt32(device, p.ptr, v, n, s.handle), [s.handle]);
  },

  /** out[i] = a[i] + b[i] for i < count (float32). `out` may alias `a` or `b`. */
  addFloat32(
    a: DeviceBuffer | bigint,
    b: DeviceBuffer | bigint,
    out: DeviceBuffer | bigint,
    count: number,
    stream: Stream | bigint,
  ): void {
    const pa = pointerArg(a, 'a', 4);
    const pb = pointerArg(b, 'b', 4);
    const po = pointerArg(out, 'out', 4);
    const n = checkSize('count', count, 0, MAX_INT32_COUNT);
    for (const [p, name] of [
      [pa, 'a'],
      [pb, 'b'],
      [po, 'out'],
    ] as const)
      fits(p, n * 4, name, `${n} float32 values`);
    const s = streamOrHandle(stream, 'stream');
    const native = requireCuda();
    const device = commonDevice(native, s, [pa, pb, po]);
    callNative(native, () => native.addFloat32(device, pa.ptr, pb.ptr, po.ptr, n, s.handle), [s.handle]);
  },

  /** dst[0..byteLength) = src[0..byteLength), as a kernel (not a memcpy node when captured). */
  copyBytes(dst: DeviceBuffer | bigint, src: DeviceBuffer | bigint, byteLength: number, stream: Stream | bigint): void {
    const pd = pointerArg(dst, 'dst', 1);
    const ps = pointerArg(src, 'src', 1);
    const n = checkSize('byteLength', byteLength);
    fits(pd, n, 'dst', `${n} bytes`);
    fits(ps, n, 'src', `${n} bytes`);
    const s = streamOrHandle(stream, 'stream');
    const native = requireCuda();
    const device = commonDevice(native, s, [pd, ps]);
    callNative(native, () => native.copyBytes(device, pd.ptr, ps.ptr, n, s.handle), [s.handle]);
  },
};
