// Every native call goes through callNative() (callNativeAsync() for the Promise-returning waits):
// addon Errors become CudaError, and when a call broke a stream capture (a synchronizing or otherwise forbidden call while capturing), the broken
// capture is ended and its partial graph destroyed, so the stream is usable again.
import { toCudaError } from './errors.js';
import type { NativeCuda } from './native.js';

type OnAbandon = () => void;
// Streams with a capture begun through Stream.beginCapture(), by handle.
const capturing = new Map<bigint, OnAbandon>();

export function markCapturing(handle: bigint, onAbandon: OnAbandon): void {
  capturing.set(handle, onAbandon);
}

export function unmarkCapturing(handle: bigint): void {
  capturing.delete(handle);
}

export function anyCapturing(): boolean {
  return capturing.size > 0;
}

const hex = (h: bigint) => `0x${h.toString(16)}`;

/** Ends the captures that an error invalidated; returns a sentence for the error message. */
function repairCaptures(native: NativeCuda, streams: readonly bigint[]): string {
  const candidates = new Set<bigint>([...capturing.keys(), ...streams]);
  const ended: bigint[] = [];
  for (const handle of candidates) {
    let status: number;
    try {
      status = native.streamCaptureStatus(handle);
    } catch {
      continue; // e.g. the legacy stream during a global capture elsewhere
    }
    if (status !== 2) continue; // only invalidated captures: an active one may go on
    native.streamAbandonCapture(handle);
    const onAbandon = capturing.get(handle);
    capturing.delete(handle);
    onAbandon?.();
    ended.push(handle);
  }
  if (ended.length === 0) return '';
  return ` (this invalidated the stream capture on stream ${ended.map(hex).join(', ')}; the capture was ended and its partial graph destroyed, so the stream is usable again: begin a new capture without the forbidden call)`;
}

function translate(native: NativeCuda, err: unknown, streams: readonly bigint[]): unknown {
  const suffix = capturing.size > 0 || streams.length > 0 ? repairCaptures(native, streams) : '';
  return toCudaError(err, suffix);
}

/** Runs a native call; errors become CudaError (after repairing captures the call broke). */
export function callNative<T>(native: NativeCuda, fn: () => T, streams: readonly bigint[] = []): T {
  try {
    return fn();
  } catch (err) {
    throw translate(native, err, streams);
  }
}

/** callNative for an addon function that returns a Promise (a wait on a worker thread). */
export async function callNativeAsync<T>(
  native: NativeCuda,
  fn: () => Promise<T>,
  streams: readonly bigint[] = [],
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(native, err, streams);
  }
}
