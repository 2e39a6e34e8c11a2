// Default capture sizes (vLLM's ladder) and the normalisation of user-given sizes.
import type { ConfigWarning } from './types.js';

/** The default max capture size is never above this (larger steps are prefill-heavy, eager is fine). */
export const DEFAULT_MAX_CAPTURE_SIZE_LIMIT = 512;

export interface SizeLimits {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  uniformDecodeQueryLen: number;
}

/** min(2 x maxNumSeqs x uniformDecodeQueryLen, 512), capped by maxNumBatchedTokens. */
export function defaultMaxCaptureSize(limits: SizeLimits): number {
  return Math.min(
    2 * limits.maxNumSeqs * limits.uniformDecodeQueryLen,
    DEFAULT_MAX_CAPTURE_SIZE_LIMIT,
    limits.maxNumBatchedTokens,
  );
}

/** How many sizes `captureSizeLadder(max)` returns, in O(1): checked before the ladder is built. */
export function captureSizeLadderLength(max: number): number {
  if (max < 1) return 0;
  const small = (max >= 1 ? 1 : 0) + (max >= 2 ? 1 : 0) + (max >= 4 ? 1 : 0);
  const eights = Math.floor(Math.min(max, 255) / 8);
  const sixteens = max >= 256 ? Math.floor((max - 256) / 16) + 1 : 0;
  const onLadder = max <= 2 || max === 4 || (max < 256 ? max % 8 === 0 : max % 16 === 0);
  return small + eights + sixteens + (onLadder ? 0 : 1);
}

/** 1, 2, 4, multiples of 8 below 256, multiples of 16 from 256, all <= max; max always included. */
export function captureSizeLadder(max: number): number[] {
  const sizes: number[] = [];
  for (const size of [1, 2, 4]) if (size <= max) sizes.push(size);
  for (let size = 8; size < 256 && size <= max; size += 8) sizes.push(size);
  for (let size = 256; size <= max; size += 16) sizes.push(size);
  if (sizes[sizes.length - 1] !== max) sizes.push(max);
  return sizes;
}

/**
 * With k query tokens per decode request, a uniform decode batch has a multiple of k tokens, so
 * every size is rounded up to a multiple of k and sizes above floor(max / k) * k are dropped
 * (vLLM's rule for the defaults, which keeps the max within its limit); that max is kept.
 */
export function roundDefaultSizes(sizes: readonly number[], k: number): number[] {
  const max = Math.floor(sizes[sizes.length - 1]! / k) * k;
  const rounded = new Set<number>();
  if (max > 0) rounded.add(max);
  for (const size of sizes) {
    const up = Math.ceil(size / k) * k;
    if (up <= max) rounded.add(up);
  }
  return [...rounded].sort((a, b) => a - b);
}

export interface UserSizesResult {
  sizes: number[];
  warnings: ConfigWarning[];
}

const list = (sizes: readonly number[]) => sizes.join(', ');

/**
 * User sizes: de-duplicated, rounded up to multiples of k (when k > 1 in a decode-full mode),
 * sizes above maxNumBatchedTokens dropped, sorted ascending. Adjustments come back as warnings.
 */
export function normalizeUserSizes(
  given: readonly number[],
  options: { maxNumBatchedTokens: number; roundTo: number },
): UserSizesResult {
  const warnings: ConfigWarning[] = [];
  const k = options.roundTo;
  const unique = [...new Set(given)].sort((a, b) => a - b);
  const roundedPairs: string[] = [];
  const rounded = new Set<number>();
  for (const size of unique) {
    const up = k > 1 ? Math.ceil(size / k) * k : size;
    if (up !== size) roundedPairs.push(`${size} -> ${up}`);
    rounded.add(up);
  }
  if (roundedPairs.length > 0) {
    warnings.push({
      code: 'capture_sizes_rounded',
      path: 'captureSizes',
      message:
        `capture sizes rounded up to multiples of uniformDecodeQueryLen ${k}, so a uniform decode ` +
        `batch fills a graph exactly: ${roundedPairs.join(', ')}`,
    });
  }
  const kept: number[] = [];
  const dropped: number[] = [];
  for (const size of [...rounded].sort((a, b) => a - b)) {
    (size <= options.maxNumBatchedTokens ? kept : dropped).push(size);
  }
  if (dropped.length > 0) {
    warnings.push({
      code: 'capture_sizes_dropped',
      path: 'captureSizes',
      message:
        `capture sizes ${list(dropped)} dropped: above maxNumBatchedTokens ${options.maxNumBatchedTokens}, ` +
        'so no step could use them',
    });
  }
  return { sizes: kept, warnings };
}
