// PinnedHostBuffer: page-locked host memory (cudaMallocHost) seen from JS as an ArrayBuffer, for
// asynchronous and capturable copies to and from the device. dispose() frees the memory at once
// and detaches the ArrayBuffer, so views taken earlier become empty instead of dangling.
import { totalmem } from 'node:os';
import { checkOptions, DisposedError, InvalidArgumentError } from '@flashgraph/errors';
import { callNative } from './capture-guard.js';
import type { DeviceBuffer } from './device-buffer.js';
import { deviceMismatch, liveBuffer, liveStream } from './handles.js';
import { requireCuda } from './status.js';
import type { Stream } from './stream.js';
import { checkRange, checkSize, notConstructible, wrongObject } from './validate.js';

const PINNED_COPY_KEYS = ['stream', 'srcOffset', 'dstOffset', 'byteLength'] as const;

interface PinnedState {
  buffer: ArrayBuffer;
  ptr: bigint;
  byteLength: number;
  bytes: Uint8Array;
  disposed: boolean;
}

const pinnedStates = new WeakMap<object, PinnedState>();
const constructing = Symbol('PinnedHostBuffer.construct');

export interface PinnedCopyOptions {
  stream: Stream;
  srcOffset?: number;
  dstOffset?: number;
  byteLength?: number;
}

export class PinnedHostBuffer {
  private constructor(token: symbol, state: PinnedState) {
    if (token !== constructing) throw notConstructible('PinnedHostBuffer', 'PinnedHostBuffer.alloc()');
    pinnedStates.set(this, state);
  }

  /** Allocates `byteLength` bytes of page-locked host memory (uninitialized; 0 bytes gives ptr 0n). */
  static alloc(byteLength: number): PinnedHostBuffer {
    // Page-locked memory comes out of the host's RAM: more than all of it can never succeed.
    const bytes = checkSize('byteLength', byteLength, 0, totalmem());
    const native = requireCuda();
    if (bytes === 0) {
      const buffer = new ArrayBuffer(0);
      return new PinnedHostBuffer(constructing, {
        buffer,
        ptr: 0n,
        byteLength: 0,
        bytes: new Uint8Array(buffer),
        disposed: false,
      });
    }
    // The ArrayBuffer's own finalizer (in the addon) frees the memory if dispose() is never called.
    const { buffer, ptr } = callNative(native, () => native.pinnedAlloc(bytes));
    return new PinnedHostBuffer(constructing, {
      buffer,
      ptr,
      byteLength: bytes,
      bytes: new Uint8Array(buffer),
      disposed: false,
    });
  }

  #state(): PinnedState {
    const s = pinnedStates.get(this);
    if (!s) throw wrongObject('this', this, 'a PinnedHostBuffer (from PinnedHostBuffer.alloc())');
    if (s.disposed) throw new DisposedError('PinnedHostBuffer');
    return s;
  }

  get byteLength(): number {
    return this.#state().byteLength;
  }

  /** Host address of the first byte, as a bigint. */
  get ptr(): bigint {
    return this.#state().ptr;
  }

  /** A Uint8Array over all of the pinned memory. */
  get bytes(): Uint8Array {
    return this.#state().bytes;
  }

  #typed<T>(
    ctor: { new (b: ArrayBuffer, o: number, l: number): T; BYTES_PER_ELEMENT: number; name: string },
    offsetBytes: unknown,
    length: unknown,
  ): T {
    const s = this.#state();
    const size = ctor.BYTES_PER_ELEMENT;
    const offset = offsetBytes === undefined ? 0 : checkSize('offsetBytes', offsetBytes, 0, s.byteLength);
    if (offset % size !== 0) {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: 'offsetBytes',
        value: offset,
        allowed: `a multiple of ${size} for a ${ctor.name}`,
        problem: 'misaligned',
      });
    }
    const maxLength = Math.floor((s.byteLength - offset) / size);
    const n = length === undefined ? maxLength : checkSize('length', length, 0, maxLength);
    return new ctor(s.buffer, offset, n);
  }

  /** An Int32Array over the pinned memory (offsetBytes a multiple of 4; length defaults to the rest). */
  int32(offsetBytes?: number, length?: number): Int32Array {
    return this.#typed(Int32Array, offsetBytes, length);
  }

  /** A Float32Array over the pinned memory (offsetBytes a multiple of 4; length defaults to the rest). */
  float32(offsetBytes?: number, length?: number): Float32Array {
    return this.#typed(Float32Array, offsetBytes, length);
  }

  #copy(device: unknown, options: unknown, toDevice: boolean): void {
    const p = this.#state();
    const d = liveBuffer(device, toDevice ? 'dst' : 'src');
    const o = checkOptions('options', options, PINNED_COPY_KEYS);
    if (o.stream === undefined) {
      throw new InvalidArgumentError({
        code: 'invalid_type',
        path: 'options.stream',
        value: undefined,
        allowed: 'a Stream',
        problem: 'required: pinned copies are asynchronous',
        fix: 'Pass { stream } and wait with stream.synchronize() or stream.synchronizeAsync().',
      });
    }
    const stream = liveStream(o.stream, 'options.stream');
    if (stream.device !== d.alloc.device)
      throw deviceMismatch('options.stream', stream.device, d.alloc.device, 'the DeviceBuffer');
    const [srcLength, dstLength] = toDevice ? [p.byteLength, d.byteLength] : [d.byteLength, p.byteLength];
    const srcOffset = o.srcOffset === undefined ? 0 : checkSize('options.srcOffset', o.srcOffset, 0, srcLength);
    const dstOffset = o.dstOffset === undefined ? 0 : checkSize('options.dstOffset', o.dstOffset, 0, dstLength);
    const length =
      o.byteLength === undefined ? srcLength - srcOffset : checkSize('options.byteLength', o.byteLength, 0, srcLength);
    checkRange('options.byteLength (source range)', srcOffset, length, srcLength);
    checkRange('options.byteLength (destination range)', dstOffset, length, dstLength);
    if (length === 0) return;
    const hostOffset = toDevice ? srcOffset : dstOffset;
    const deviceOffset = toDevice ? dstOffset : srcOffset;
    const native = requireCuda();
    callNative(
      native,
      () =>
        native.pinnedCopy(
          d.alloc.device,
          p.ptr + BigInt(hostOffset),
          d.ptr + BigInt(deviceOffset),
          length,
          toDevice,
          stream.handle,
        ),
      [stream.handle],
    );
  }

  /**
   * Enqueues a copy of this pinned memory into `dst` on `options.stream` (asynchronous, capturable).
   * `byteLength` defaults to the rest of this buffer after `srcOffset`. Do not modify the source
   * bytes or dispose either buffer before the stream has passed the copy.
   */
  copyToDevice(dst: DeviceBuffer, options: PinnedCopyOptions): void {
    this.#copy(dst, options, true);
  }

  /**
   * Enqueues a copy from `src` into this pinned memory on `options.stream` (asynchronous,
   * capturable); read the bytes after `options.stream.synchronize()`. `byteLength` defaults to the
   * rest of `src` after `srcOffset`.
   */
  copyFromDevice(src: DeviceBuffer, options: PinnedCopyOptions): void {
    this.#copy(src, options, false);
  }

  /** Frees the pinned memory now and detaches its ArrayBuffer. Idempotent. */
  dispose(): void {
    const s = pinnedStates.get(this);
    if (!s || s.disposed) return;
    if (s.byteLength > 0) {
      const native = requireCuda();
      callNative(native, () => native.pinnedFree(s.buffer));
    }
    s.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
