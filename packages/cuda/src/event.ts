// Event: a cudaEvent_t for ordering between streams and timing.
import { checkBoolean, checkOptions, InvalidArgumentError, optional } from '@flashgraph/errors';
import { anyCapturing, callNative, callNativeAsync } from './capture-guard.js';
import { type EventState, eventStates, liveEvent, liveStream } from './handles.js';
import type { NativeCuda } from './native.js';
import { requireCuda, resolveDevice } from './status.js';
import type { Stream } from './stream.js';
import { notConstructible } from './validate.js';

const eventFinalizer = new FinalizationRegistry<bigint>((handle) => {
  if (anyCapturing()) return;
  try {
    requireCuda().eventDestroy(handle);
  } catch {
    // nothing to report to
  }
});

const constructing = Symbol('Event.construct');

function destroyEvent(native: NativeCuda, e: EventState, event: Event): void {
  e.destroyWhenIdle = false;
  callNative(native, () => native.eventDestroy(e.handle));
  eventFinalizer.unregister(event);
}

export class Event {
  private constructor(token: symbol, state: EventState) {
    if (token !== constructing) throw notConstructible('Event', 'Event.create()');
    eventStates.set(this, state);
  }

  /** Creates an event; `timing: true` (default false) allows elapsedMs() at some cost per record. */
  static create(options?: { timing?: boolean; device?: number }): Event {
    const o = checkOptions('options', options, ['timing', 'device']);
    const timing = optional(o.timing, false, (v) => checkBoolean('options.timing', v));
    const device = resolveDevice(o.device);
    const native = requireCuda();
    const handle = callNative(native, () => native.eventCreate(device, timing));
    const event = new Event(constructing, {
      handle,
      device,
      timing,
      disposed: false,
      pending: 0,
      destroyWhenIdle: false,
    });
    eventFinalizer.register(event, handle, event);
    return event;
  }

  /** The cudaEvent_t as a bigint. */
  get handle(): bigint {
    return liveEvent(this, 'this').handle;
  }

  /** Records the event at the current end of `stream`'s queue (also inside a capture). */
  record(stream: Stream): void {
    const e = liveEvent(this, 'this');
    const s = liveStream(stream, 'stream');
    const native = requireCuda();
    callNative(native, () => native.eventRecord(s.device, e.handle, s.handle), [s.handle]);
  }

  /** Waits until the work before the last record() has completed. */
  synchronize(): void {
    const e = liveEvent(this, 'this');
    const native = requireCuda();
    callNative(native, () => native.eventSynchronize(e.handle));
  }

  /**
   * Waits, off the JS thread, until the work before the last record() has completed: timers and
   * I/O keep running meanwhile. The event stays alive until the wait ends, even if disposed.
   */
  async synchronizeAsync(): Promise<void> {
    const e = liveEvent(this, 'this');
    const native = requireCuda();
    e.pending++;
    try {
      await callNativeAsync(native, () => native.eventSynchronizeAsync(e.handle));
    } finally {
      e.pending--;
      if (e.pending === 0 && e.destroyWhenIdle) destroyEvent(native, e, this);
    }
  }

  /** true when the work before the last record() has completed (or the event was never recorded). */
  query(): boolean {
    const e = liveEvent(this, 'this');
    const native = requireCuda();
    return callNative(native, () => native.eventQuery(e.handle));
  }

  /** Milliseconds from this event to `end`; both need `timing: true` and must have completed. */
  elapsedMs(end: Event): number {
    const e = liveEvent(this, 'this');
    const other = liveEvent(end, 'end');
    if (!e.timing || !other.timing) {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: e.timing ? 'end.timing' : 'this.timing',
        value: false,
        allowed: 'true',
        problem: 'elapsedMs() needs two events created with Event.create({ timing: true })',
      });
    }
    const native = requireCuda();
    return callNative(native, () => native.eventElapsedMs(e.handle, other.handle));
  }

  /** Destroys the event (when a synchronizeAsync() in flight ends, if there is one). Idempotent. */
  dispose(): void {
    const e = eventStates.get(this);
    if (!e || e.disposed) return;
    const native = requireCuda();
    if (e.pending > 0) e.destroyWhenIdle = true;
    else destroyEvent(native, e, this);
    e.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
