// Which graphs each capture size gets and the padded request count of each. Computed once per
// runner, before any GPU work, in O(number of capture sizes): nothing here is sized by a token
// count, so a config whose largest size is 2^31 - 1 costs what one with 512 does.
import { captureSizeRoutes, type GraphRoute, type ResolvedGraphConfig } from '@flashgraph/config';
import { checkBoolean, checkInt, checkOptions, INT32_MAX, optional } from '@flashgraph/errors';

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
  const given = checkOptions('args', args ?? null, [
    'paddedTokens',
    'uniformDecode',
    'uniformDecodeQueryLen',
    'maxNumReqs',
  ]);
  const paddedTokens = checkInt('args.paddedTokens', given.paddedTokens, { min: 1, max: INT32_MAX });
  const uniformDecode = checkBoolean('args.uniformDecode', given.uniformDecode);
  const k = checkInt('args.uniformDecodeQueryLen', given.uniformDecodeQueryLen, { min: 1, max: INT32_MAX });
  const maxNumReqs = optional(given.maxNumReqs, undefined, (v) =>
    checkInt('args.maxNumReqs', v, { min: 1, max: INT32_MAX }),
  );
  const reqs = uniformDecode ? Math.ceil(paddedTokens / k) : paddedTokens;
  return maxNumReqs === undefined ? reqs : Math.min(reqs, maxNumReqs);
}

/** The graphs one capture size gets. */
export interface SizePlan {
  readonly size: number;
  /** How a batch of this size that is not uniform decode runs (`captureSizeRoutes` of @flashgraph/config). */
  readonly mixed: GraphRoute;
  /** How a uniform decode batch of this size runs. */
  readonly decode: GraphRoute;
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
  readonly maxCaptureSize: number;
}

export function buildCapturePlan(config: ResolvedGraphConfig, maxNumReqs: number | undefined): CapturePlan {
  // What each size captures is the config package's decision (captureSizeRoutes), the one the
  // attention metadata builders read too; this adds only the padded request counts.
  const k = config.uniformDecodeQueryLen;
  const sizes = captureSizeRoutes(config, maxNumReqs).map(({ size, mixed, decode }): SizePlan => {
    const reqs = (uniformDecode: boolean) =>
      padRequestCount({
        paddedTokens: size,
        uniformDecode,
        uniformDecodeQueryLen: k,
        ...(maxNumReqs === undefined ? {} : { maxNumReqs }),
      });
    return {
      size,
      mixed,
      decode,
      fullMixed: mixed.graph === 'full',
      fullDecode: decode.decodeGraph,
      piecewise: mixed.graph === 'piecewise' || decode.graph === 'piecewise',
      mixedReqs: reqs(false),
      decodeReqs: reqs(true),
    };
  });
  return { sizes, maxCaptureSize: config.maxCaptureSize };
}
