// padToCaptureSize: the smallest captured size >= n, by binary search over the capture sizes.
// Memory is O(number of capture sizes), never O(max capture size): a config whose largest size is
// 2^31 - 1 tokens costs what one with 512 does. With at most 4096 sizes the search is <= 12 steps.
import { checkInt, InvalidArgumentError } from '@flashgraph/errors';

// Checked copies keyed by the (frozen) resolved config, so the config itself stays plain
// JSON-printable data and the per-call check is one WeakMap lookup.
const checked = new WeakMap<object, Float64Array>();

function checkedSizes(resolved: { captureSizes: readonly number[] }): Float64Array {
  let sizes = checked.get(resolved);
  if (sizes === undefined) {
    const given: unknown = resolved.captureSizes;
    const allowed = 'ascending positive safe integers (the captureSizes of resolveGraphConfig)';
    if (!Array.isArray(given)) {
      throw new InvalidArgumentError({ code: 'invalid_type', path: 'resolved.captureSizes', value: given, allowed });
    }
    sizes = new Float64Array(given.length);
    let previous = 0;
    for (let i = 0; i < given.length; i++) {
      const size: unknown = given[i];
      if (!Number.isSafeInteger(size) || (size as number) <= previous) {
        throw new InvalidArgumentError({
          code: 'invalid_value',
          path: `resolved.captureSizes[${i}]`,
          value: size,
          allowed,
        });
      }
      previous = size as number;
      sizes[i] = previous;
    }
    checked.set(resolved, sizes);
  }
  return sizes;
}

/** Index of the smallest of ascending `sizes` >= n, or -1 when n is above the largest. */
export function padIndexOf(sizes: ArrayLike<number>, n: number): number {
  let lo = 0;
  let hi = sizes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sizes[mid]! >= n) hi = mid;
    else lo = mid + 1;
  }
  return lo < sizes.length ? lo : -1;
}

/** Checks `resolved.captureSizes` ahead of the first lookup (resolveGraphConfig calls it). */
export function registerPadTable(resolved: { captureSizes: readonly number[] }): void {
  checkedSizes(resolved);
}

/**
 * The capture size a step of `numTokens` tokens replays: the smallest captured size >= numTokens,
 * or `undefined` above the max capture size (or when nothing is captured): that step runs eagerly.
 */
export function padToCaptureSize(
  resolved: { readonly captureSizes: readonly number[] },
  numTokens: number,
): number | undefined {
  if (resolved === null || typeof resolved !== 'object') {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'resolved',
      value: resolved,
      allowed: 'the object returned by resolveGraphConfig',
    });
  }
  checkInt('numTokens', numTokens, { min: 1, max: Number.MAX_SAFE_INTEGER });
  const sizes = checkedSizes(resolved);
  const index = padIndexOf(sizes, numTokens);
  return index < 0 ? undefined : sizes[index];
}
