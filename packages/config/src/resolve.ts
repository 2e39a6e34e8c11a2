// resolveGraphConfig: structural checks, mode resolution, capture sizes, strict AoT limit; every
// problem collected into one ConfigError, every adjustment returned as a warning.

import { FlashgraphError } from '@flashgraph/errors';
import {
  captureSizeLadder,
  captureSizeLadderLength,
  defaultMaxCaptureSize,
  normalizeUserSizes,
  roundDefaultSizes,
} from './capture-sizes.js';
import { ConfigError } from './config-error.js';
import { fullDecodeSizesOf } from './decode-graph-sizes.js';
import { hasFullDecodeGraphs, modeProperties } from './mode-properties.js';
import { requestedMode, resolveMode } from './mode-resolution.js';
import { registerPadTable } from './pad-table.js';
import { type ReadContext, type ReadInput, readContext, readInput } from './read-options.js';
import { DEFAULT_MAX_NUM_SPLITS, DEFAULT_NUM_WARMUPS, MAX_NUM_CAPTURE_SIZES } from './schema.js';
import type {
  ConfigIssue,
  ConfigWarning,
  GraphConfigContext,
  GraphConfigInput,
  GraphMode,
  ResolvedGraphConfig,
} from './types.js';

interface Sizes {
  sizes: number[];
  /** Where the max came from, for the maxAotBatch error. */
  maxPath: 'captureSizes' | 'maxCaptureSize';
}

function userSizes(
  input: ReadInput & { captureSizes: number[] },
  rawLength: number,
  context: ReadContext,
  roundTo: number,
  issues: ConfigIssue[],
  warnings: ConfigWarning[],
): Sizes | undefined {
  const given = input.captureSizes;
  if (rawLength === 0) {
    issues.push({
      code: 'empty_capture_sizes',
      path: 'captureSizes',
      value: [],
      rule: 'must list at least one capture size',
      fix: "remove captureSizes to use the defaults, or set mode: 'none' to capture no graphs",
    });
    return undefined;
  }
  // Checked against the valid entries even when others are invalid: every problem in one error.
  if (input.maxCaptureSize !== undefined && given.length > 0) {
    let largest = given[0]!;
    for (const size of given) if (size > largest) largest = size;
    if (input.maxCaptureSize !== largest) {
      issues.push({
        code: 'max_capture_size_mismatch',
        path: 'maxCaptureSize',
        value: input.maxCaptureSize,
        rule: `maxCaptureSize ${input.maxCaptureSize} must equal the largest of captureSizes, ${largest}, when both are given`,
        fix: `set maxCaptureSize to ${largest}, or remove it (the largest capture size is the max)`,
      });
    }
  }
  if (given.length === 0 || context.maxNumBatchedTokens === undefined) return undefined;
  const normalized = normalizeUserSizes(given, { maxNumBatchedTokens: context.maxNumBatchedTokens, roundTo });
  warnings.push(...normalized.warnings);
  if (normalized.sizes.length === 0) {
    const rounded = roundTo > 1 ? ` after rounding up to multiples of uniformDecodeQueryLen ${roundTo}` : '';
    issues.push({
      code: 'no_capture_size_fits',
      path: 'captureSizes',
      value: given,
      rule: `at least one capture size must be <= maxNumBatchedTokens ${context.maxNumBatchedTokens}${rounded}`,
      fix: `add a capture size of at most ${context.maxNumBatchedTokens}, or raise maxNumBatchedTokens`,
    });
    return undefined;
  }
  return { sizes: normalized.sizes, maxPath: 'captureSizes' };
}

function defaultSizes(
  input: ReadInput,
  context: Required<Pick<ReadContext, 'maxNumSeqs' | 'maxNumBatchedTokens' | 'uniformDecodeQueryLen'>>,
  roundTo: number,
  issues: ConfigIssue[],
  warnings: ConfigWarning[],
): Sizes | undefined {
  let max = defaultMaxCaptureSize(context);
  if (input.maxCaptureSize !== undefined) {
    max = input.maxCaptureSize;
    if (max > context.maxNumBatchedTokens) {
      warnings.push({
        code: 'max_capture_size_capped',
        path: 'maxCaptureSize',
        message: `maxCaptureSize ${max} is above maxNumBatchedTokens ${context.maxNumBatchedTokens}; using ${context.maxNumBatchedTokens}`,
      });
      max = context.maxNumBatchedTokens;
    }
  }
  const count = captureSizeLadderLength(max);
  if (count > MAX_NUM_CAPTURE_SIZES) {
    const fromUser = input.maxCaptureSize !== undefined;
    issues.push({
      code: 'too_many_capture_sizes',
      path: fromUser ? 'maxCaptureSize' : 'context.maxNumBatchedTokens',
      value: fromUser ? input.maxCaptureSize : context.maxNumBatchedTokens,
      rule: `the default ladder up to ${max} has ${count} capture sizes, more than the limit of ${MAX_NUM_CAPTURE_SIZES} (one graph each)`,
      fix: `lower maxCaptureSize to at most ${ladderMaxWithin(MAX_NUM_CAPTURE_SIZES)}, or list the sizes you want in captureSizes`,
    });
    return undefined;
  }
  let sizes = captureSizeLadder(max);
  if (roundTo > 1) sizes = roundDefaultSizes(sizes, roundTo);
  if (sizes.length === 0) {
    const fromUser = input.maxCaptureSize !== undefined;
    issues.push({
      code: 'no_capture_size_fits',
      path: fromUser ? 'maxCaptureSize' : 'context.maxNumBatchedTokens',
      value: fromUser ? input.maxCaptureSize : context.maxNumBatchedTokens,
      rule: `the max capture size ${max} is below uniformDecodeQueryLen ${roundTo}, so no uniform decode batch fits a graph`,
      fix: fromUser
        ? `raise maxCaptureSize to at least ${roundTo}`
        : `raise maxNumBatchedTokens to at least ${roundTo}`,
    });
    return undefined;
  }
  return { sizes, maxPath: 'maxCaptureSize' };
}

/** The largest max capture size whose default ladder stays within `count` sizes. */
function ladderMaxWithin(count: number): number {
  // Above 256 the ladder grows by one size per 16 tokens: invert that, then step back if needed.
  let max = 256 + (count - captureSizeLadderLength(256)) * 16;
  while (captureSizeLadderLength(max) > count) max--;
  return max;
}

/**
 * The largest capture size that gets a full graph: every size in mode `full`; in the decode-only
 * modes the largest size a uniform decode batch of at most maxNumSeqs requests pads to (larger
 * sizes get piecewise graphs or run eagerly, so a backend's AoT limit does not apply to them).
 */
function largestFullGraphSize(
  mode: GraphMode,
  sizes: readonly number[],
  maxNumSeqs: number | undefined,
  k: number,
): number | undefined {
  const properties = modeProperties(mode);
  if (!properties.hasFullGraphs || sizes.length === 0) return undefined;
  if (properties.fullGraphsFor === 'all' || maxNumSeqs === undefined) return sizes[sizes.length - 1];
  const decode = fullDecodeSizesOf(mode, sizes, k, maxNumSeqs);
  return decode[decode.length - 1];
}

function checkMaxAotBatch(mode: GraphMode, sizes: Sizes, context: ReadContext, issues: ConfigIssue[]): void {
  const limit = context.backend?.maxAotBatch;
  if (limit === undefined) return;
  const largest = largestFullGraphSize(mode, sizes.sizes, context.maxNumSeqs, context.uniformDecodeQueryLen ?? 1);
  if (largest === undefined || largest <= limit) return;
  const decodeOnly = modeProperties(mode).fullGraphsFor === 'uniform_decode';
  issues.push({
    code: 'max_aot_batch_exceeded',
    path: sizes.maxPath,
    value: largest,
    rule: decodeOnly
      ? `capture size ${largest} gets a full decode graph (uniform decode batches of up to maxNumSeqs ${context.maxNumSeqs} requests pad to it), but the backend's maxAotBatch is ${limit}: its AoT metadata holds at most ${limit} tokens`
      : `the max capture size ${largest} is above the backend's maxAotBatch ${limit}: its AoT metadata holds at most ${limit} tokens`,
    fix: decodeOnly
      ? `lower maxNumSeqs so decode batches fit ${limit} tokens, add a capture size between the largest decode batch and ${limit}, or use mode 'piecewise'`
      : sizes.maxPath === 'captureSizes'
        ? `remove capture sizes above ${limit}, or use mode 'piecewise'`
        : `set maxCaptureSize: ${limit}, or use mode 'piecewise'`,
  });
}

/**
 * Validates a CUDA-graph configuration against the runtime's limits and the attention backend's
 * capability. Returns a frozen config, or throws a ConfigError listing every problem.
 */
export function resolveGraphConfig(input: GraphConfigInput, context: GraphConfigContext): ResolvedGraphConfig {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigWarning[] = [];
  const read = readInput(input, issues);
  const ctx = readContext(context, issues);

  const request =
    read.invalid.has('mode') || read.invalid.has('fullCudaGraph') ? undefined : requestedMode(read, issues, warnings);
  let mode: GraphMode | undefined;
  if (request && ctx.backend && ctx.uniformDecodeQueryLen !== undefined && ctx.supportsPiecewise !== undefined) {
    mode = resolveMode(
      request,
      {
        backend: ctx.backend,
        uniformDecodeQueryLen: ctx.uniformDecodeQueryLen,
        supportsPiecewise: ctx.supportsPiecewise,
      },
      issues,
      warnings,
    );
  }

  let sizes: Sizes | undefined;
  if (mode === 'none') {
    for (const key of ['captureSizes', 'maxCaptureSize'] as const) {
      const given = key === 'captureSizes' ? (read.captureSizesLength ?? 0) > 0 : read.maxCaptureSize !== undefined;
      if (given) {
        warnings.push({
          code: 'option_ignored',
          path: key,
          message: `${key} is ignored: mode is 'none', so no graphs are captured`,
        });
      }
    }
  } else if (!read.invalid.has('captureSizes') && !read.invalid.has('maxCaptureSize')) {
    const k = ctx.uniformDecodeQueryLen ?? 1;
    const roundTo = mode !== undefined && hasFullDecodeGraphs(mode) && k > 1 ? k : 1;
    if (read.captureSizes !== undefined) {
      const rawLength = read.captureSizesLength ?? 0;
      sizes = userSizes({ ...read, captureSizes: read.captureSizes }, rawLength, ctx, roundTo, issues, warnings);
    } else if (
      ctx.maxNumSeqs !== undefined &&
      ctx.maxNumBatchedTokens !== undefined &&
      ctx.uniformDecodeQueryLen !== undefined
    ) {
      const limits = {
        maxNumSeqs: ctx.maxNumSeqs,
        maxNumBatchedTokens: ctx.maxNumBatchedTokens,
        uniformDecodeQueryLen: ctx.uniformDecodeQueryLen,
      };
      sizes = defaultSizes(read, limits, roundTo, issues, warnings);
    }
    if (mode !== undefined && sizes !== undefined) checkMaxAotBatch(mode, sizes, ctx, issues);
  }

  if (issues.length > 0) throw new ConfigError(issues);
  if (
    mode === undefined ||
    ctx.uniformDecodeQueryLen === undefined ||
    ctx.maxNumSeqs === undefined ||
    ctx.maxNumBatchedTokens === undefined ||
    (mode !== 'none' && sizes === undefined)
  ) {
    // Unreachable: without issues every branch above produced a mode and sizes.
    throw new FlashgraphError({
      code: 'internal_error',
      problem: '@flashgraph/config: no mode or capture sizes resolved without an issue',
      fix: 'Please report this with the input and context.',
    });
  }
  const captureSizes = mode === 'none' ? [] : (sizes?.sizes ?? []);
  const properties = modeProperties(mode);
  const resolved: ResolvedGraphConfig = Object.freeze({
    mode,
    requestedMode: request!.mode,
    captureSizes: Object.freeze(captureSizes),
    maxCaptureSize: captureSizes.length === 0 ? 0 : captureSizes[captureSizes.length - 1]!,
    maxNumSplits: read.maxNumSplits ?? DEFAULT_MAX_NUM_SPLITS,
    numWarmups: read.numWarmups ?? DEFAULT_NUM_WARMUPS,
    warnings: Object.freeze(warnings.map((warning) => Object.freeze(warning))),
    uniformDecodeQueryLen: ctx.uniformDecodeQueryLen,
    maxNumSeqs: ctx.maxNumSeqs,
    maxNumBatchedTokens: ctx.maxNumBatchedTokens,
    hasFullGraphs: properties.hasFullGraphs,
    fullGraphsFor: properties.fullGraphsFor,
    piecewise: properties.piecewise,
  });
  registerPadTable(resolved);
  return resolved;
}
