// Internal state of the handle classes, kept in WeakMaps keyed by the public objects. This is the
// brand check: a plain object or a prototype-forged look-alike has no entry and is rejected with an
// InvalidArgumentError (invalid_type), and no class needs to import another to check its arguments.
import { DisposedError, InvalidArgumentError } from '@flashgraph/errors';
import { checkHandle, wrongObject } from './validate.js';

export interface StreamState {
  handle: bigint;
  device: number;
  owned: boolean;
  disposed: boolean;
  capturing: boolean;
  /** Async waits in flight; an owned stream disposed meanwhile is destroyed when they end. */
  pending: number;
  destroyWhenIdle: boolean;
}

/** One cudaMalloc allocation; views share it. */
export interface Allocation {
  ptr: bigint;
  byteLength: number;
  device: number;
  freed: boolean;
  /** Async copies in flight; a free asked for meanwhile happens when they end. */
  pending: number;
  freeWhenIdle: boolean;
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
  pending: number;
  destroyWhenIdle: boolean;
}

export const streamStates = new WeakMap<object, StreamState>();
export const bufferStates = new WeakMap<object, BufferState>();
export const eventStates = new WeakMap<object, EventState>();

export function liveStream(value: unknown, name: string): StreamState {
  const s = typeof value === 'object' && value !== null ? streamStates.get(value) : undefined;
  if (!s) throw wrongObject(name, value, 'a Stream (from Stream.create() or Stream.fromHandle())');
  if (s.disposed) throw new DisposedError('Stream', name);
  return s;
}

export function liveBuffer(value: unknown, name: string): BufferState {
  const b = typeof value === 'object' && value !== null ? bufferStates.get(value) : undefined;
  if (!b) throw wrongObject(name, value, 'a DeviceBuffer (from DeviceBuffer.alloc() or .view())');
  if (b.disposed || b.alloc.freed || b.alloc.freeWhenIdle) throw new DisposedError('DeviceBuffer', name);
  return b;
}

export function liveEvent(value: unknown, name: string): EventState {
  const e = typeof value === 'object' && value !== null ? eventStates.get(value) : undefined;
  if (!e) throw wrongObject(name, value, 'an Event (from Event.create())');
  if (e.disposed) throw new DisposedError('Event', name);
  return e;
}

/** An optional stream option: the stream's handle, or the legacy default stream (0n). */
export function optionalStream(value: unknown, name: string, device: number): bigint {
  if (value === undefined) return 0n;
  const s = liveStream(value, name);
  if (s.device !== device) throw deviceMismatch(name, s.device, device, 'the memory');
  return s.handle;
}

/** `Stream | bigint` (the interop form): the handle, and the device when known. */
export function streamOrHandle(value: unknown, name: string): { handle: bigint; device: number | undefined } {
  if (typeof value === 'bigint') return { handle: checkHandle(name, value, true), device: undefined };
  const s = typeof value === 'object' && value !== null ? streamStates.get(value) : undefined;
  if (!s) throw wrongObject(name, value, 'a Stream or a bigint cudaStream_t');
  return { handle: liveStream(value, name).handle, device: s.device };
}

/** Two operands on different devices (a stream and a buffer, two buffers, a graph and a stream). */
export function deviceMismatch(path: string, got: number, expected: number, what: string): InvalidArgumentError {
  return new InvalidArgumentError({
    code: 'invalid_value',
    path,
    value: got,
    allowed: `device ${expected}`,
    problem: `is on device ${got} but ${what} is on device ${expected}`,
  });
}
