// DeviceBuffer: device memory from cudaMalloc, with bounds-checked copies and byte-range views.
// Copies to/from JS memory complete before returning (see native/cuda/src/memory.cc for why);
// PinnedHostBuffer does asynchronous, capturable copies.
import { anyCapturing, callNative } from './capture-guard.js';
import { DisposedError } from './errors.js';
import { type Allocation, type BufferState, bufferStates, liveBuffer, optionalStream } from './handles.js';
import type { NativeCuda } from './native.js';
import { requireCuda, resolveDevice } from './status.js';
import type { Stream } from './stream.js';
import { bytesOf, checkInt, checkOptions, checkRange, checkSize, describe, isArrayBufferView } from './validate.js';

// Allocations whose DeviceBuffer was garbage-collected while a capture was running: freeing then
// would break the capture, so they are freed at the next allocation or dispose outside a capture.
const pendingFrees: Allocation[] = [];

function freeAllocation(native: NativeCuda, alloc: Allocation): void {
  if (alloc.freed || alloc.byteLength === 0) {
    alloc.freed = true;
    return;
  }
  callNative(native, () => native.free(alloc.device, alloc.ptr, alloc.byteLength));
  alloc.freed = true;
}

function flushPendingFrees(native: NativeCuda): void {
  while (pendingFrees.length > 0 && !anyCapturing()) {
    const alloc = pendingFrees.pop() as Allocation;
    try {
      freeAllocation(native, alloc);
    } catch {
      // the finalizer path has no caller to report to
    }
  }
}

const allocationFinalizer = new FinalizationRegistry<Allocation>((alloc) => {
  if (alloc.freed) return;
  if (anyCapturing()) {
    pendingFrees.push(alloc);
    return;
  }
  try {
    freeAllocation(requireCuda(), alloc);
  } catch {
    // nothing to report to
  }
});

const constructing = Symbol('DeviceBuffer.construct');

export interface CopyOptions {
  /** byte offset into this buffer (default 0) */
  offset?: number;
  /** stream to order the copy on; it completes before returning either way (default: the legacy stream) */
  stream?: Stream;
}

export class DeviceBuffer {
  private constructor(token: symbol, state: BufferState) {
    if (token !== constructing) throw new TypeError('use DeviceBuffer.alloc() or buffer.view() to get a DeviceBuffer');
    bufferStates.set(this, state);
  }

  /** Allocates `byteLength` bytes (uninitialized) on a device (default 0). 0 bytes gives ptr 0n. */
  static alloc(byteLength: number, opts?: { device?: number }): DeviceBuffer {
    const bytes = checkSize(byteLength, 'byteLength');
    const o = checkOptions(opts, 'opts');
    const device = resolveDevice(o.device);
    const native = requireCuda();
    flushPendingFrees(native);
    const ptr = bytes === 0 ? 0n : callNative(native, () => native.malloc(device, bytes));
    const alloc: Allocation = { ptr, byteLength: bytes, device, freed: false };
    const buffer = new DeviceBuffer(constructing, {
      alloc,
      offset: 0,
      ptr,
      byteLength: bytes,
      isView: false,
      disposed: false,
    });
    if (bytes > 0) allocationFinalizer.register(buffer, alloc, buffer);
    return buffer;
  }

  #state(): BufferState {
    const s = bufferStates.get(this);
    if (!s) throw new TypeError(`not a DeviceBuffer: ${describe(this)}`);
    if (s.disposed || s.alloc.freed) throw new DisposedError('DeviceBuffer');
    return s;
  }

  /** Device address of the first byte, as a bigint (hand it to other addons). */
  get ptr(): bigint {
    return this.#state().ptr;
  }

  get byteLength(): number {
    return this.#state().byteLength;
  }

  get device(): number {
    return this.#state().alloc.device;
  }

  /** Copies all of `src` (any TypedArray or DataView) into this buffer at `offset`. */
  write(src: ArrayBufferView, opts?: CopyOptions): void {
    const s = this.#state();
    if (!isArrayBufferView(src)) throw new TypeError(`src must be a TypedArray or DataView, got ${describe(src)}`);
    const o = checkOptions(opts, 'opts');
    const offset = o.offset === undefined ? 0 : checkSize(o.offset, 'opts.offset', 0, s.byteLength);
    checkRange(offset, src.byteLength, s.byteLength, 'write');
    const stream = optionalStream(o.stream, 'opts.stream', s.alloc.device);
    if (src.byteLength === 0) return;
    const native = requireCuda();
    callNative(native, () => native.memcpyHtoD(s.alloc.device, s.ptr + BigInt(offset), bytesOf(src), stream), [stream]);
  }

  /** Fills all of `dst` from this buffer starting at `offset`; returns `dst`. */
  read<T extends ArrayBufferView>(dst: T, opts?: CopyOptions): T {
    const s = this.#state();
    if (!isArrayBufferView(dst)) throw new TypeError(`dst must be a TypedArray or DataView, got ${describe(dst)}`);
    const o = checkOptions(opts, 'opts');
    const offset = o.offset === undefined ? 0 : checkSize(o.offset, 'opts.offset', 0, s.byteLength);
    checkRange(offset, dst.byteLength, s.byteLength, 'read');
    const stream = optionalStream(o.stream, 'opts.stream', s.alloc.device);
    if (dst.byteLength === 0) return dst;
    const native = requireCuda();
    callNative(native, () => native.memcpyDtoH(s.alloc.device, bytesOf(dst), s.ptr + BigInt(offset), stream), [stream]);
    return dst;
  }

  /**
   * Sets bytes to `byte` (0..255). With `stream` the memset is only enqueued (asynchronous and
   * capturable); without, it runs on the legacy stream and completes before returning.
   */
  fill(byte: number, opts?: { offset?: number; byteLength?: number; stream?: Stream }): void {
    const s = this.#state();
    const value = checkInt(byte, 'byte', 0, 255);
    const o = checkOptions(opts, 'opts');
    const offset = o.offset === undefined ? 0 : checkSize(o.offset, 'opts.offset', 0, s.byteLength);
    const length =
      o.byteLength === undefined ? s.byteLength - offset : checkSize(o.byteLength, 'opts.byteLength', 0, s.byteLength);
    checkRange(offset, length, s.byteLength, 'fill');
    const stream = optionalStream(o.stream, 'opts.stream', s.alloc.device);
    if (length === 0) return;
    const native = requireCuda();
    callNative(
      native,
      () => native.memset(s.alloc.device, s.ptr + BigInt(offset), value, length, stream, o.stream === undefined),
      [stream],
    );
  }

  /**
   * Device-to-device copy from `src` (same device). `byteLength` defaults to the rest of `src`
   * after `srcOffset`. Asynchronous and capturable with `stream`; without, it completes first.
   */
  copyFrom(
    src: DeviceBuffer,
    opts?: { srcOffset?: number; dstOffset?: number; byteLength?: number; stream?: Stream },
  ): void {
    const d = this.#state();
    const s = liveBuffer(src, 'src');
    if (s.alloc.device !== d.alloc.device) {
      throw new RangeError(`src is on device ${s.alloc.device} but this buffer is on device ${d.alloc.device}`);
    }
    const o = checkOptions(opts, 'opts');
    const srcOffset = o.srcOffset === undefined ? 0 : checkSize(o.srcOffset, 'opts.srcOffset', 0, s.byteLength);
    const dstOffset = o.dstOffset === undefined ? 0 : checkSize(o.dstOffset, 'opts.dstOffset', 0, d.byteLength);
    const length =
      o.byteLength === undefined
        ? s.byteLength - srcOffset
        : checkSize(o.byteLength, 'opts.byteLength', 0, s.byteLength);
    checkRange(srcOffset, length, s.byteLength, 'copyFrom (source range)');
    checkRange(dstOffset, length, d.byteLength, 'copyFrom (destination range)');
    const stream = optionalStream(o.stream, 'opts.stream', d.alloc.device);
    if (length === 0) return;
    const native = requireCuda();
    callNative(
      native,
      () =>
        native.memcpyDtoD(
          d.alloc.device,
          d.ptr + BigInt(dstOffset),
          s.ptr + BigInt(srcOffset),
          length,
          stream,
          o.stream === undefined,
        ),
      [stream],
    );
  }

  /**
   * A DeviceBuffer over bytes [byteOffset, byteOffset + byteLength) of this one. It shares the
   * memory and keeps it alive; disposing a view frees nothing, disposing the owner disposes views.
   */
  view(byteOffset: number, byteLength?: number): DeviceBuffer {
    const s = this.#state();
    const offset = checkSize(byteOffset, 'byteOffset', 0, s.byteLength);
    const length =
      byteLength === undefined ? s.byteLength - offset : checkSize(byteLength, 'byteLength', 0, s.byteLength);
    checkRange(offset, length, s.byteLength, 'view');
    const state: BufferState & { owner: DeviceBuffer } = {
      alloc: s.alloc,
      offset: s.offset + offset,
      ptr: s.ptr + BigInt(offset),
      byteLength: length,
      isView: true,
      disposed: false,
      owner: this, // keeps the owning buffer (and its finalizer) from being collected first
    };
    return new DeviceBuffer(constructing, state);
  }

  /** Frees the memory (owner) or detaches the view. Idempotent. Keep buffers alive while a graph uses them. */
  dispose(): void {
    const s = bufferStates.get(this);
    if (!s || s.disposed) return;
    if (!s.isView) {
      const native = requireCuda();
      freeAllocation(native, s.alloc);
      allocationFinalizer.unregister(this);
      flushPendingFrees(native);
    }
    s.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
