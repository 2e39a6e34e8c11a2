// Internal state of the handle classes, kept in WeakMaps keyed by the public objects. This is the
// brand check: a plain object or a prototype-forged look-alike has no entry and is rejected with a
// TypeError, and no class needs to import another to check its arguments.
import { DisposedError } from './errors.js';
import { checkHandle, describe } from './validate.js';

export interface StreamState {
  handle: bigint;
  device: number;
  owned: boolean;
  disposed: boolean;
  capturing: boolean;
}

/** One cudaMalloc allocation; views share it. */
export interface Allocation {
  ptr: bigint;
  byteLength: number;
  device: number;
  freed: boolean;
}

export interface BufferState {
  alloc: Allocation;
  /** offset of this buffer (or view) inside the allocation */
  offset: number;
  ptr: bigint;
  byteLength: number;
  isView: boolean;
  disposed: boolean;
}

export interface EventState {
  handle: bigint;
  device: number;
  timing: boolean;
  disposed: boolean;
}

export const streamStates = new WeakMap<object, StreamState>();
export const bufferStates = new WeakMap<object, BufferState>();
export const eventStates = new WeakMap<object, EventState>();

export function liveStream(value: unknown, name: string): StreamState {
  const s = typeof value === 'object' && value !== null ? streamStates.get(value) : undefined;
  if (!s)
    throw new TypeError(
      `${name} must be a Stream (from Stream.create() or Stream.fromHandle()), got ${describe(value)}`,
    );
  if (s.disposed) throw new DisposedError(`${name} (Stream)`);
  return s;
}

export function liveBuffer(value: unknown, name: string): BufferState {
  const b = typeof value === 'object' && value !== null ? bufferStates.get(value) : undefined;
  if (!b)
    throw new TypeError(
      `${name} must be a DeviceBuffer (from DeviceBuffer.alloc() or .view()), got ${describe(value)}`,
    );
  if (b.disposed || b.alloc.freed) throw new DisposedError(`${name} (DeviceBuffer)`);
  return b;
}

export function liveEvent(value: unknown, name: string): EventState {
  const e = typeof value === 'object' && value !== null ? eventStates.get(value) : undefined;
  if (!e) throw new TypeError(`${name} must be an Event (from Event.create()), got ${describe(value)}`);
  if (e.disposed) throw new DisposedError(`${name} (Event)`);
  return e;
}

/** An optional stream option: the stream's handle, or the legacy default stream (0n). */
export function optionalStream(value: unknown, name: string, device: number): bigint {
  if (value === undefined) return 0n;
  const s = liveStream(value, name);
  if (s.device !== device)
    throw new RangeError(`${name} is on device ${s.device} but the memory is on device ${device}`);
  return s.handle;
}

/** `Stream | bigint` (the interop form): the handle, and the device when known. */
export function streamOrHandle(value: unknown, name: string): { handle: bigint; device: number | undefined } {
  if (typeof value === 'bigint') return { handle: checkHandle(value, name, true), device: undefined };
  const s = liveStream(value, `${name} (a Stream or a bigint handle)`);
  return { handle: s.handle, device: s.device };
}
