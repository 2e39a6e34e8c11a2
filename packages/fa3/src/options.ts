// createAttention's options: checked once, frozen, and turned into the native capacity object.
// Every capacity is bounded by what the device indexes in int32 (slots, sequence lengths).
import { estimateSplitWorkspaceBytes } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import { ATTENTION_DTYPES, type AttentionDtype, type KvCacheDtype } from './dtype.js';
import { checkHeads, type HeadDim } from './heads.js';
import type { Caps } from './native.js';
import { MAX_NUM_SPLITS } from './plan-splits.js';
import {
  checkArgInt,
  checkArgNumber,
  checkArgOneOf,
  checkArgs,
  checkBool,
  checkWindow,
  INT32_MAX,
  outOfRange,
} from './validate.js';

export type { AttentionDtype, HeadDim };

/** The keys createAttention reads; any other key is an `unknown_option`. */
const OPTION_KEYS = [
  'numHeadsQ',
  'numHeadsKv',
  'headDim',
  'dtype',
  'kvDtype',
  'pageSize',
  'numPages',
  'maxNumReqs',
  'maxNumTokens',
  'maxNumPagesPerReq',
  'maxNumSplits',
  'causal',
  'window',
  'softcap',
  'device',
] as const;

/** Device-side index products the addon keeps below 2^30 (validate_caps in native/fa3/kernels/api.cu). */
const INDEX_LIMIT = 2 ** 30;

export interface AttentionOptions {
  /** Query heads (Hq), 1..4096, a multiple of numHeadsKv. */
  numHeadsQ: number;
  /** KV heads (Hkv), 1..1024; Hq / Hkv query heads share one KV head (GQA). */
  numHeadsKv: number;
  headDim: HeadDim;
  dtype: AttentionDtype;
  /**
   * The KV cache's element type: `dtype` (the default) or `'fp8_e4m3'` (one byte per element,
   * written by writeKvCache as e4m3(x / descale) with per-KV-head descale factors; query and
   * output stay in `dtype`).
   */
  kvDtype?: KvCacheDtype;
  /** Tokens per KV-cache page: a positive multiple of 16. */
  pageSize: number;
  /** Pages in the cache `[numPages, pageSize, Hkv, D]`; numPages x pageSize <= 2^31 - 1 slots. */
  numPages: number;
  /** Requests per step (B) at most. */
  maxNumReqs: number;
  /** Query tokens per step (T = totalQ) at most. */
  maxNumTokens: number;
  /** Page-table row length; maxNumPagesPerReq x pageSize bounds every sequence length. */
  maxNumPagesPerReq: number;
  /**
   * The split capacity S, 1..256: the fp32 partials are sized for it and every step's split
   * request (`numSplits` of schedule / forward, 0 = heuristic) is held to it.
   */
  maxNumSplits: number;
  /** Bottom-right aligned causal mask. */
  causal: boolean;
  /** FA3 `window_size` `[left, right]`, -1 = unbounded; default no window. */
  window?: [number, number];
  /** `softcap * tanh(s / softcap)` on the scaled scores; 0 (default) = off. */
  softcap?: number;
  /** CUDA device ordinal of the workspace (default 0). */
  device?: number;
}

export interface ResolvedAttentionOptions {
  readonly numHeadsQ: number;
  readonly numHeadsKv: number;
  readonly headDim: HeadDim;
  readonly dtype: AttentionDtype;
  readonly kvDtype: KvCacheDtype;
  readonly pageSize: number;
  readonly numPages: number;
  readonly maxNumReqs: number;
  readonly maxNumTokens: number;
  readonly maxNumPagesPerReq: number;
  readonly maxNumSplits: number;
  readonly causal: boolean;
  readonly window: readonly [number, number];
  readonly softcap: number;
  readonly device: number;
}

export function resolveOptions(opts: unknown): { options: ResolvedAttentionOptions; caps: Caps } {
  const fn = 'createAttention';
  const o = checkArgs(fn, opts, OPTION_KEYS);
  const { numHeadsQ, numHeadsKv, headDim, qheadsPerKvhead } = checkHeads(fn, o);
  const dtype = checkArgOneOf(fn, 'dtype', o.dtype, ATTENTION_DTYPES);
  // A cache of the other 16-bit type has no kernel: the query dtype or fp8 only.
  const kvDtype =
    o.kvDtype === undefined ? dtype : checkArgOneOf(fn, 'kvDtype', o.kvDtype, [dtype, 'fp8_e4m3'] as const);
  const pageSize = checkArgInt(fn, 'pageSize', o.pageSize, 16, 1 << 16);
  if (pageSize % 16 !== 0) outOfRange(fn, 'pageSize', pageSize, 'a multiple of 16 in [16, 65536]');
  const numPages = checkArgInt(fn, 'numPages', o.numPages, 1, Math.floor(INT32_MAX / pageSize));
  const maxNumReqs = checkArgInt(fn, 'maxNumReqs', o.maxNumReqs, 1, INT32_MAX - 1);
  // Packed query rows (tokens x G) and a request's keys (pages x pageSize) stay below 2^30 on the device.
  const maxNumTokens = checkArgInt(
    fn,
    'maxNumTokens',
    o.maxNumTokens,
    1,
    Math.floor((INDEX_LIMIT - 1) / qheadsPerKvhead),
  );
  const maxNumPagesPerReq = checkArgInt(
    fn,
    'maxNumPagesPerReq',
    o.maxNumPagesPerReq,
    1,
    Math.floor((INDEX_LIMIT - 1) / pageSize),
  );
  const maxNumSplits = checkArgInt(fn, 'maxNumSplits', o.maxNumSplits, 1, MAX_NUM_SPLITS);
  const causal = checkBool(fn, 'causal', o.causal);
  const window = checkWindow(fn, o.window, causal);
  const softcap = o.softcap === undefined ? 0 : checkArgNumber(fn, 'softcap', o.softcap, 0, false);
  const device = o.device === undefined ? 0 : checkArgInt(fn, 'device', o.device, 0, 1023);
  // The fp32 partials must be addressable: config's formula (its one definition) refuses sizes
  // past 2^53; the error here names this option instead.
  try {
    estimateSplitWorkspaceBytes({ maxNumSplits, numHeadsQ, maxNumTokens, headDim });
  } catch {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: `${fn}.maxNumTokens`,
      value: maxNumTokens,
      allowed: 'maxNumSplits x numHeadsQ x maxNumTokens x (headDim + 1) x 4 <= 2^53 - 1 bytes of split partials',
      fix: 'Lower maxNumTokens, maxNumSplits or numHeadsQ.',
    });
  }
  const options: ResolvedAttentionOptions = Object.freeze({
    numHeadsQ,
    numHeadsKv,
    headDim,
    dtype,
    kvDtype,
    pageSize,
    numPages,
    maxNumReqs,
    maxNumTokens,
    maxNumPagesPerReq,
    maxNumSplits,
    causal,
    window: Object.freeze([window[0], window[1]] as const),
    softcap,
    device,
  });
  const caps: Caps = {
    numHeadsQ,
    numHeadsKv,
    headDim,
    dtype,
    kvDtype,
    pageSize,
    numPages,
    maxNumReqs,
    maxNumTokens,
    maxNumPagesPerReq,
    maxNumSplits,
    causal,
    windowLeft: window[0],
    windowRight: window[1],
    softcap,
  };
  return { options, caps };
}

/**
 * Minimum workspace: the fp32 split partials (O and LSE), sized by @flashgraph/config's
 * `estimateSplitWorkspaceBytes`, the one owner of that formula (the addon's workspaceLayout is
 * pinned to it by the native parity test).
 */
export function partialsBytes(o: ResolvedAttentionOptions): number {
  return estimateSplitWorkspaceBytes({
    maxNumSplits: o.maxNumSplits,
    numHeadsQ: o.numHeadsQ,
    maxNumTokens: o.maxNumTokens,
    headDim: o.headDim,
  });
}

/** Worst-case work tiles of one step; tile offsets are int32 on the device. */
export function worstCaseTiles(o: ResolvedAttentionOptions, blockM: number): number {
  const g = o.numHeadsQ / o.numHeadsKv;
  // sum_b ceil(q_b * G / blockM) <= floor(T * G / blockM) + B, times Hkv heads, times S splits
  // (max_total_tiles in scheduling.h).
  return o.numHeadsKv * o.maxNumSplits * (Math.floor((o.maxNumTokens * g) / blockM) + o.maxNumReqs);
}
