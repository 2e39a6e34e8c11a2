// Which graphs each capture size gets, the padded request count of each, and the O(1) table that
// maps a token count to its capture size. Computed once per runner, before any GPU work.
import { padToCaptureSize, type ResolvedGraphConfig } from '@flashgraph/config';

export interface PadRequestCountArgs {
  /** The capture size the batch was padded to. */
  paddedTokens: number;
  uniformDecode: boolean;
  /** Query tokens per request in a uniform decode step (`config.uniformDecodeQueryLen`). */
  uniformDecodeQueryLen: number;
  /** Most requests in one step; no cap when omitted. */
  maxNumReqs?: number;
}

/**
 * The request count a graph of `paddedTokens` tokens is captured (and replayed) with. Capture and
 * replay must agree, because the graph's metadata (cu_seqlens, seq_lens, the AoT split schedule)
 * is sized by it.
 *
 * - Uniform decode, query length k: `ceil(paddedTokens / k)`: the real requests, then dummy
 *   requests of k padding tokens each (the last one shorter when k does not divide the size).
 * - Otherwise: `paddedTokens`, since a batch of that many tokens may hold that many requests.
 * - Both capped at `maxNumReqs`. Dummy requests have 0 query tokens and seq_len 0 (cu_seqlens
 *   repeats its last value); padding tokens use slot -1.
 */
export function padRequestCount(args: PadRequestCountArgs): number {
  const { paddedTokens, uniformDecode, uniformDecodeQueryLen, maxNumReqs } = args;
  if (!Number.isInteger(paddedTokens) || paddedTokens < 1) {
    throw new RangeError(`paddedTokens must be an integer >= 1, got ${String(paddedTokens)}`);
  }
  if (!Number.isInteger(uniformDecodeQueryLen) || uniformDecodeQueryLen < 1) {
    throw new RangeError(`uniformDecodeQueryLen must be an integer >= 1, got ${String(uniformDecodeQueryLen)}`);
  }
  if (maxNumReqs !== undefined && (!Number.isInteger(maxNumReqs) || maxNumReqs < 1)) {
    throw new RangeError(`maxNumReqs must be an integer >= 1, got ${String(maxNumReqs)}`);
  }
  const reqs = uniformDecode ? Math.ceil(paddedTokens / uniformDecodeQueryLen) : paddedTokens;
  return maxNumReqs === undefined ? reqs : Math.min(reqs, maxNumReqs);
}

/** The graphs one capture size gets. */
export interface SizePlan {
  readonly size: number;
  /** A full graph that serves every batch of this size no decode graph serves (mode `full`). */
  readonly fullMixed: boolean;
  /**
   * A full graph for uniform decode batches, for the sizes one can pad to (modes `full`,
   * `full_decode_only`, `full_and_piecewise`). In `full` it sits next to the mixed graph, so a
   * decode step replays kernels captured for decode (their attention metadata states the decode
   * query length, not the padded token count).
   */
  readonly fullDecode: boolean;
  /** Piecewise graphs for the batches no full graph serves. */
  readonly piecewise: boolean;
  /** Padded request count of a mixed (not uniform decode) batch of this size. */
  readonly mixedReqs: number;
  /** Padded request count of a uniform decode batch of this size. */
  readonly decodeReqs: number;
}

export interface CapturePlan {
  /** Every capture size, ascending, with its graphs (possibly none). */
  readonly sizes: readonly SizePlan[];
  /** `padIndex[n]` = index in `sizes` of the size a batch of n tokens pads to; -1 for none. */
  readonly padIndex: Int32Array;
  readonly maxCaptureSize: number;
}

/**
 * A uniform decode batch of r requests has r * k tokens; the sizes some r in 1..maxReqs pads to
 * are the only ones a full decode graph can serve, so only those get one.
 */
function decodeReachable(
  config: ResolvedGraphConfig,
  sizeIndex: Map<number, number>,
  maxNumReqs: number | undefined,
): Set<number> {
  const k = config.uniformDecodeQueryLen;
  const reachable = new Set<number>();
  let maxReqs = Math.floor(config.maxCaptureSize / k);
  if (maxNumReqs !== undefined) maxReqs = Math.min(maxReqs, maxNumReqs);
  for (let r = 1; r <= maxReqs; r++) {
    const size = padToCaptureSize(config, r * k);
    if (size !== undefined && sizeIndex.has(size)) reachable.add(size);
  }
  return reachable;
}

export function buildCapturePlan(config: ResolvedGraphConfig, maxNumReqs: number | undefined): CapturePlan {
  const sizeIndex = new Map<number, number>();
  config.captureSizes.forEach((size, i) => {
    sizeIndex.set(size, i);
  });
  // Mode `full` too: uniform decode batches get their own graph next to the mixed one.
  const fullDecodeWanted = config.fullGraphsFor === 'uniform_decode' || config.fullGraphsFor === 'all';
  const reachable = fullDecodeWanted ? decodeReachable(config, sizeIndex, maxNumReqs) : new Set<number>();
  const k = config.uniformDecodeQueryLen;
  const sizes = config.captureSizes.map(
    (size): SizePlan => ({
      size,
      fullMixed: config.fullGraphsFor === 'all',
      fullDecode: fullDecodeWanted && reachable.has(size),
      piecewise: config.piecewise && config.fullGraphsFor !== 'all',
      mixedReqs: padRequestCount({
        paddedTokens: size,
        uniformDecode: false,
        uniformDecodeQueryLen: k,
        maxNumReqs,
      }),
      decodeReqs: padRequestCount({
        paddedTokens: size,
        uniformDecode: true,
        uniformDecodeQueryLen: k,
        maxNumReqs,
      }),
    }),
  );
  const max = config.maxCaptureSize;
  const padIndex = new Int32Array(max + 1).fill(-1);
  for (let n = 1; n <= max; n++) {
    const size = padToCaptureSize(config, n);
    const index = size === undefined ? undefined : sizeIndex.get(size);
    padIndex[n] = index ?? -1;
  }
  return { sizes, padIndex, maxCaptureSize: max };
}
