// DeviceBuffer: device memory from cudaMalloc, with bounds-checked copies and byte-range views.
// Copies to/from JS memory complete before returning (see native/cuda/src/memory.cc for why), or,
// with readAsync()/writeAsync(), before the Promise settles, waiting on a worker thread;
// PinnedHostBuffer does asynchronous, capturable copies.
import { checkInt, checkOptions, DisposedError } from '@flashgraph/errors';
import { anyCapturing, callNative, callNativeAsync } from './capture-guard.js';
import {
  type Allocation,
  type BufferState,
  bufferStates,
  deviceMismatch,
  liveBuffer,
  optionalStream,
} from './handles.js';
import type { NativeCuda } from './native.js';
import { deviceTotalMemory, requireCuda, resolveDevice } from './status.js';
import type { Stream } from './stream.js';
import { bytesOf, checkHostView, checkRange, checkSize, MAX_SIZE, notConstructible, wrongObject } from './validate.js';

const COPY_KEYS = ['offset', 'stream'] as const;

// Allocations whose DeviceBuffer was garbage-collected while a capture was running: freeing then
// would break the capture, so they are freed at the next allocation or dispose outside a capture.
const pendingFrees: Allocation[] = [];

function freeAllocation(native: NativeCuda, alloc: Allocation): void {
  if (alloc.pending > 0) {
    alloc.freeWhenIdle = true; // an async copy still uses it: freed when the copy ends
    return;
  }
  alloc.freeWhenIdle = false;
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
    if (token !== constructing) throw notConstructible('DeviceBuffer', 'DeviceBuffer.alloc() or buffer.view()');
    bufferStates.set(this, state);
  }

  /** Allocates `byteLength` bytes (uninitialized) on a device (default 0). 0 bytes gives ptr 0n. */
  static alloc(byteLength: number, options?: { device?: number }): DeviceBuffer {
    checkSize('byteLength', byteLength);
    const o = checkOptions('options', options, ['device']);
    const device = resolveDevice(o.device);
    // No allocation can exceed the device's memory: say so up front instead of via cudaMalloc.
    const bytes = checkSize('byteLength', byteLength, 0, deviceTotalMemory(device) ?? MAX_SIZE);
    const native = requireCuda();
    flushPendingFrees(native);
    const ptr = bytes === 0 ? 0n : callNative(native, () => native.malloc(device, bytes));
    const alloc: Allocation = { ptr, byteLength: bytes, device, freed: false, pending: 0, freeWhenIdle: false };
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
    if (!s) throw wrongObject('this', this, 'a DeviceBuffer (from DeviceBuffer.alloc() or .view())');
    if (s.disposed || s.alloc.freed || s.alloc.freeWhenIdle) throw new DisposedError('DeviceBuffer');
    return s;
  }

  /** The checked arguments of a copy between JS memory and this buffer. */
  #hostCopy(path: string, host: unknown, options: unknown) {
    const s = this.#state();
    const view = checkHostView(path, host);
    const o = checkOptions('options', options, COPY_KEYS);
    const offset = o.offset === undefined ? 0 : checkSize('options.offset', o.offset, 0, s.byteLength);
    checkRange(path, offset, view.byteLength, s.byteLength);
    const stream = optionalStream(o.stream, 'options.stream', s.alloc.device);
    return { s, view, ptr: s.ptr + BigInt(offset), stream };
  }

  /** Runs an async copy, keeping the allocation alive (a dispose() meanwhile frees it afterwards). */
  async #whileCopying(s: BufferState, copy: () => Promise<void>): Promise<void> {
    s.alloc.pending++;
    try {
      await copy();
    } finally {
      s.alloc.pending--;
      if (s.alloc.pending === 0 && s.alloc.freeWhenIdle) {
        freeAllocation(requireCuda(), s.alloc);
        allocationFinalizer.unregister(this);
      }
    }
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
  write(src: ArrayBufferView, options?: CopyOptions): void {
    const { s, view, ptr, stream } = this.#hostCopy('src', src, options);
    if (view.byteLength === 0) return;
    const native = requireCuda();
    callNative(native, () => native.memcpyHtoD(s.alloc.device, ptr, bytesOf(view), stream), [stream]);
  }

  /** Fills all of `dst` from this buffer starting at `offset`; returns `dst`. */
  read<T extends ArrayBufferView>(dst: T, options?: CopyOptions): T {
    const { s, view, ptr, stream } = this.#hostCopy('dst', dst, options);
    if (view.byteLength === 0) return dst;
    const native = requireCuda();
    callNative(native, () => native.memcpyDtoH(s.alloc.device, bytesOf(view), ptr, stream), [stream]);
    return dst;
  }

  /**
   * write() whose copy and wait run on a worker thread: the Promise resolves once the bytes are
   * on the device, and timers and I/O keep running meanwhile. Do not transfer or resize `src`'s
   * buffer until then. Not capturable (JS memory never goes into a graph).
   */
  async writeAsync(src: ArrayBufferView, options?: CopyOptions): Promise<void> {
    const { s, view, ptr, stream } = this.#hostCopy('src', src, options);
    if (view.byteLength === 0) return;
    const native = requireCuda();
    await this.#whileCopying(s, () =>
      callNativeAsync(native, () => native.memcpyHtoDAsync(s.alloc.device, ptr, bytesOf(view), stream), [stream]),
    );
  }

  /** read() whose copy and wait run on a worker thread; resolves to `dst` once it is filled. */
  async readAsync<T extends ArrayBufferView>(dst: T, options?: CopyOptions): Promise<T> {
    const { s, view, ptr, stream } = this.#hostCopy('dst', dst, options);
    if (view.byteLength === 0) return dst;
    const native = requireCuda();
    await this.#whileCopying(s, () =>
      callNativeAsync(native, () => native.memcpyDtoHAsync(s.alloc.device, bytesOf(view), ptr, stream), [stream]),
    );
    return dst;
  }

  /**
   * Sets bytes to `byte` (0..255). With `stream` the memset is only enqueued (asynchronous and
   * capturable); without, it runs on the legacy stream and completes before returning.
   */
  fill(byte: number, options?: { offset?: number; byteLength?: number; stream?: Stream }): void {
    const s = this.#state();
    const value = checkInt('byte', byte, { min: 0, max: 255 });
    const o = checkOptions('options', options, ['offset', 'byteLength', 'stream']);
    const offset = o.offset === undefined ? 0 : checkSize('options.offset', o.offset, 0, s.byteLength);
    const length =
      o.byteLength === undefined
        ? s.byteLength - offset
        : checkSize('options.byteLength', o.byteLength, 0, s.byteLength);
    checkRange('options.byteLength', offset, length, s.byteLength);
    const stream = optionalStream(o.stream, 'options.stream', s.alloc.device);
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
    options?: { srcOffset?: number; dstOffset?: number; byteLength?: number; stream?: Stream },
  ): void {
    const d = this.#state();
    const s = liveBuffer(src, 'src');
    if (s.alloc.device !== d.alloc.device) throw deviceMismatch('src', s.alloc.device, d.alloc.device, 'this buffer');
    const o = checkOptions('options', options, ['srcOffset', 'dstOffset', 'byteLength', 'stream']);
    const srcOffset = o.srcOffset === undefined ? 0 : checkSize('options.srcOffset', o.srcOffset, 0, s.byteLength);
    const dstOffset = o.dstOffset === undefined ? 0 : checkSize('options.dstOffset', o.dstOffset, 0, d.byteLength);
    const length =
      o.byteLength === undefined
        ? s.byteLength - srcOffset
        : checkSize('options.byteLength', o.byteLength, 0, s.byteLength);
    checkRange('options.byteLength (source range)', srcOffset, length, s.byteLength);
    checkRange('options.byteLength (destination range)', dstOffset, length, d.byteLength);
    const stream = optionalStream(o.stream, 'options.stream', d.alloc.device);
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
    const offset = checkSize('byteOffset', byteOffset, 0, s.byteLength);
    const length =
      byteLength === undefined ? s.byteLength - offset : checkSize('byteLength', byteLength, 0, s.byteLength);
    checkRange('byteLength', offset, length, s.byteLength);
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

  /**
   * Frees the memory (owner) or detaches the view. Idempotent. Keep buffers alive while a graph
   * uses them. With a readAsync()/writeAsync() in flight, the memory is freed when it ends.
   */
  dispose(): void {
    const s = bufferStates.get(this);
    if (!s || s.disposed) return;
    if (!s.isView) {
      const native = requireCuda();
      freeAllocation(native, s.alloc);
      if (!s.alloc.freeWhenIdle) allocationFinalizer.unregister(this);
      flushPendingFrees(native);
    }
    s.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
