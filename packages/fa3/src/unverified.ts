// Kernel paths that are written, compiled and checked on the CPU (references, scheduling maths)
// but have not yet run on a GPU: head dims 96 and 192 and attention sinks (issue 15). Until a
// device run passes, createAttention and forward accept them only when the process opts in with
// FLASHGRAPH_FA3_UNVERIFIED=1, as the wgmma kernel runs only when asked for. Read at each call,
// so a test can opt in after import.
import { invalidValue } from './validate.js';

/** The switch that lets createAttention / forward use the paths below. */
export const UNVERIFIED_ENV = 'FLASHGRAPH_FA3_UNVERIFIED';

/** Head dims whose kernels have not run on a GPU yet (behind FLASHGRAPH_FA3_UNVERIFIED=1). */
export const UNVERIFIED_HEAD_DIMS: readonly number[] = Object.freeze([96, 192]);
/** Whether attention sinks have not run on a GPU yet (behind FLASHGRAPH_FA3_UNVERIFIED=1). */
export const SINKS_UNVERIFIED = true;

export function unverifiedEnabled(): boolean {
  return process.env[UNVERIFIED_ENV] === '1';
}

/** Throws an `invalid_value` for `name` (a path under fn) unless the process opted in. */
export function requireUnverified(fn: string, name: string, value: unknown, what: string, allowed: string): void {
  if (unverifiedEnabled()) return;
  invalidValue(
    fn,
    name,
    value,
    allowed,
    `${what} is built but has not run on a GPU yet; set ${UNVERIFIED_ENV}=1 to use it anyway.`,
  );
}
