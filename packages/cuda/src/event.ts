// Event: a cudaEvent_t for ordering between streams and timing.
import { anyCapturing, callNative } from './capture-guard.js';
import { type EventState, eventStates, liveEvent, liveStream } from './handles.js';
import { requireCuda, resolveDevice } from './status.js';
import type { Stream } from './stream.js';
import { checkOptionalBoolean, checkOptions } from './validate.js';

const eventFinalizer = new FinalizationRegistry<bigint>((handle) => {
  if (anyCapturing()) return;
  try {
    requireCuda().eventDestroy(handle);
  } catch {
    // nothing to report to
  }
});

const constructing = Symbol('Event.construct');

export class Event {
  private constructor(token: symbol, state: EventState) {
    if (token !== constructing) throw new TypeError('use Event.create() to get an Event');
    eventStates.set(this, state);
  }

  /** Creates an event; `timing: true` (default false) allows elapsedMs() at some cost per record. */
  static create(opts?: { timing?: boolean; device?: number }): Event {
    const o = checkOptions(opts, 'opts');
    const timing = checkOptionalBoolean(o.timing, 'opts.timing', false);
    const device = resolveDevice(o.device);
    const native = requireCuda();
    const handle = callNative(native, () => native.eventCreate(device, timing));
    const event = new Event(constructing, { handle, device, timing, disposed: false });
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
      throw new TypeError('elapsedMs() needs two events created with Event.create({ timing: true })');
    }
    const native = requireCuda();
    return callNative(native, () => native.eventElapsedMs(e.handle, other.handle));
  }

  /** Destroys the event. Idempotent. */
  dispose(): void {
    const e = eventStates.get(this);
    if (!e || e.disposed) return;
    const native = requireCuda();
    callNative(native, () => native.eventDestroy(e.handle));
    eventFinalizer.unregister(this);
    e.disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
