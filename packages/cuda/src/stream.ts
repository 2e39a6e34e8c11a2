// Stream: a cudaStream_t, created here (owned) or wrapped from another library (not owned).
import {
  checkBoolean,
  checkInt,
  checkOneOf,
  checkOptions,
  DisposedError,
  INT32_MAX,
  optional,
} from '@flashgraph/errors';
import { anyCapturing, callNative, callNativeAsync, markCapturing, unmarkCapturing } from './capture-guard.js';
import type { Event } from './event.js';
import { Graph } from './graph.js';
import { liveEvent, type StreamState, streamStates } from './handles.js';
import { internalToken } from './internal-token.js';
import type { NativeCuda } from './native.js';
import { checkDevice, requireCuda, resolveDevice } from './status.js';
import { checkHandle, notConstructible, wrongObject } from './validate.js';

export type CaptureMode = 'global' | 'thread_local' | 'relaxed';
const CAPTURE_MODE_NAMES = ['global', 'thread_local', 'relaxed'] as const satisfies readonly CaptureMode[];
const CAPTURE_MODES: Record<CaptureMode, 0 | 1 | 2> = { global: 0, thread_local: 1, relaxed: 2 };
const CREATE_KEYS = ['device', 'nonBlocking', 'priority'] as const;

export interface StreamCreateOptions {
  device?: number;
  /** cudaStreamNonBlocking: no implicit synchronization with the legacy default stream */
  nonBlocking?: boolean;
  /** lower is higher priority; must be within the device's range */
  priority?: number;
}

// Owned streams dropped without dispose() are destroyed by this safety net.
const streamFinalizer = new FinalizationRegistry<bigint>((handle) => {
  const native = requireCuda();
  if (anyCapturing()) return; // destroying a stream during a capture could invalidate it: leak instead
  try {
    native.streamDestroy(handle);
  } catch {
    // nothing to report to: the process may be exiting
  }
});

const constructing = Symbol('Stream.construct');

function newStreamState(handle: bigint, device: number): StreamState {
  return { handle, device, owned: false, disposed: false, capturing: false, pending: 0, destroyWhenIdle: false };
}

function destroyStream(native: NativeCuda, s: StreamState, stream: Stream): void {
  s.destroyWhenIdle = false;
  callNative(native, () => native.streamDestroy(s.handle));
  streamFinalizer.unregister(stream);
}

export class Stream {
  private constructor(token: symbol, state: StreamState) {
    if (token !== constructing) throw notConstructible('Stream', 'Stream.create() or Stream.fromHandle()');
    streamStates.set(this, state);
  }

  /** Creates a stream on a device (default 0). Blocking by default (orders with the legacy stream). */
  static create(options?: StreamCreateOptions): Stream {
    const o = checkOptions('options', options, CREATE_KEYS);
    const device = resolveDevice(o.device);
    const nonBlocking = optional(o.nonBlocking, false, (v) => checkBoolean('options.nonBlocking', v));
    if (o.priority !== undefined) checkInt('options.priority', o.priority, { min: -INT32_MAX - 1, max: INT32_MAX });
    const native = requireCuda();
    let priority = 0;
    if (o.priority !== undefined) {
      const [least, greatest] = callNative(native, () => native.streamPriorityRange(device));
      priority = checkInt('options.priority', o.priority, { min: greatest, max: least });
    }
    const handle = callNative(native, () => native.streamCreate(device, nonBlocking, priority));
    const stream = new Stream(constructing, { ...newStreamState(handle, device), owned: true });
    streamFinalizer.register(stream, handle, stream);
    return stream;
  }

  /**
   * Wraps a stream created by another library (a bigint cudaStream_t; 0n is the legacy default
   * stream). Not owned: dispose() forgets it and never destroys it.
   */
  static fromHandle(handle: bigint, options?: { device?: number }): Stream {
    checkHandle('handle', handle, true);
    const o = checkOptions('options', options, ['device']);
    if (o.device !== undefined) checkDevice(o.device, 'options.device');
    const native = requireCuda();
    const device =
      o.device === undefined
        ? callNative(native, () => native.streamGetDevice(handle))
        : checkDevice(o.device, 'options.device');
    return new Stream(constructing, newStreamState(handle, device));
  }

  #state(): StreamState {
    const s = streamStates.get(this);
    if (!s) throw wrongObject('this', this, 'a Stream (from Stream.create() or Stream.fromHandle())');
    if (s.disposed) throw new DisposedError('Stream');
    return s;
  }

  /** The cudaStream_t as a bigint: hand it to other addons (see README, interop contract). */
  get handle(): bigint {
    return this.#state().handle;
  }

  get device(): number {
    return this.#state().device;
  }

  /** Waits until all work queued on the stream is done. */
  synchronize(): void {
    const s = this.#state();
    const native = requireCuda();
    callNative(native, () => native.streamSynchronize(s.handle), [s.handle]);
  }

  /**
   * Waits, off the JS thread, until all work queued on the stream is done: timers and I/O keep
   * running meanwhile (the wait occupies one libuv pool thread). Rejects with CudaError when
   * queued work failed. The stream stays alive until the wait ends, even if disposed meanwhile.
   */
  async synchronizeAsync(): Promise<void> {
    const s = this.#state();
    const native = requireCuda();
    s.pending++;
    try {
      await callNativeAsync(native, () => native.streamSynchronizeAsync(s.handle), [s.handle]);
    } finally {
      s.pending--;
      if (s.pending === 0 && s.destroyWhenIdle) destroyStream(native, s, this);
    }
  }

  /** true when all work queued on the stream is done. */
  query(): boolean {
    const s = this.#state();
    const native = requireCuda();
    return callNative(native, () => native.streamQuery(s.handle), [s.handle]);
  }

  /** Later work on this stream waits until `event` (recorded on any stream) has happened. */
  waitEvent(event: Event): void {
    const s = this.#state();
    const e = liveEvent(event, 'event');
    const native = requireCuda();
    callNative(native, () => native.streamWaitEvent(s.handle, e.handle), [s.handle]);
  }

  /** Starts capturing the work queued on this stream into a graph (cudaStreamBeginCapture). */
  beginCapture(mode: CaptureMode = 'thread_local'): void {
    const s = this.#state();
    const m = checkOneOf('mode', mode, CAPTURE_MODE_NAMES);
    const native = requireCuda();
    callNative(native, () => native.streamBeginCapture(s.device, s.handle, CAPTURE_MODES[m]), [s.handle]);
    s.capturing = true;
    markCapturing(s.handle, () => {
      s.capturing = false;
    });
  }

  /** Ends the capture and returns the captured graph. */
  endCapture(): Graph {
    const s = this.#state();
    const native = requireCuda();
    try {
      const graph = callNative(native, () => native.streamEndCapture(s.handle), [s.handle]);
      return new Graph(internalToken, graph, s.device);
    } finally {
      // Whether it succeeded or not, the stream is no longer capturing.
      s.capturing = false;
      unmarkCapturing(s.handle);
    }
  }

  /** true while a capture is in progress on the stream (also one begun by another library). */
  isCapturing(): boolean {
    const s = this.#state();
    const native = requireCuda();
    return callNative(native, () => native.streamCaptureStatus(s.handle), [s.handle]) !== 0;
  }

  /**
   * Destroys an owned stream (ending a capture left open); forgets a wrapped one. Idempotent. With
   * a synchronizeAsync() in flight, the stream is destroyed when that wait ends.
   */
  dispose(): void {
    const s = streamStates.get(this);
    if (!s || s.disposed) return;
    if (s.owned) {
      const native = requireCuda();
      if (s.capturing) {
        native.streamAbandonCapture(s.handle);
        unmarkCapturing(s.handle);
      }
      if (s.pending > 0) s.destroyWhenIdle = true;
      else destroyStream(native, s, this);
    }
    s.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
