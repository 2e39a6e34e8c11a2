// Kernel paths that are written, compiled, checked on the CPU (references, scheduling maths) and
// passed the fa3 GPU suites once (2026-12-05, an H100), but have not yet run under
// compute-sanitizer or the native self-test: head dims 96 and 192 and attention sinks (issue 15).
// Until they have, createAttention and forward accept them only when the process opts in with
// FLASHGRAPH_FA3_UNVERIFIED=1, as the wgmma kernel runs only when asked for. Read at each call,
// so a test can opt in after import.
import { invalidValue } from './validate.js';

/** The switch that lets createAttention / forward use the paths below. */
export const UNVERIFIED_ENV = 'FLASHGRAPH_FA3_UNVERIFIED';

/** Head dims whose kernels are not fully checked on a GPU yet (behind FLASHGRAPH_FA3_UNVERIFIED=1). */
export const UNVERIFIED_HEAD_DIMS: readonly number[] = Object.freeze([96, 192]);
/** Whether attention sinks are not fully checked on a GPU yet (behind FLASHGRAPH_FA3_UNVERIFIED=1). */
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
    `${what} passed the GPU suites but has not run under compute-sanitizer yet; set ${UNVERIFIED_ENV}=1 to use it anyway.`,
  );
}
