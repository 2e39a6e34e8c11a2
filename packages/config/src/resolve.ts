// resolveGraphConfig: structural checks, mode resolution, capture sizes, strict AoT limit; every
// problem collected into one ConfigError, every adjustment returned as a warning.
import { captureSizeLadder, defaultMaxCaptureSize, normalizeUserSizes, roundDefaultSizes } from './capture-sizes.js';
import { ConfigError } from './config-error.js';
import { hasFullDecodeGraphs, modeProperties } from './mode-properties.js';
import { requestedMode, resolveMode } from './mode-resolution.js';
import { registerPadTable } from './pad-table.js';
import { type ReadContext, type ReadInput, readContext, readInput } from './read-options.js';
import { DEFAULT_MAX_NUM_SPLITS, DEFAULT_NUM_WARMUPS } from './schema.js';
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
  if (input.maxCaptureSize !== undefined && given.length > 0 && !input.captureSizesHasInvalid) {
    const largest = Math.max(...given);
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

function checkMaxAotBatch(mode: GraphMode, sizes: Sizes, context: ReadContext, issues: ConfigIssue[]): void {
  const limit = context.backend?.maxAotBatch;
  const max = sizes.sizes[sizes.sizes.length - 1]!;
  if (limit === undefined || !modeProperties(mode).hasFullGraphs || max <= limit) return;
  issues.push({
    code: 'max_aot_batch_exceeded',
    path: sizes.maxPath,
    value: max,
    rule: `the max capture size ${max} is above the backend's maxAotBatch ${limit}: its AoT metadata holds at most ${limit} tokens`,
    fix:
      sizes.maxPath === 'captureSizes'
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
  const rawSizes = (input as { captureSizes?: unknown } | null)?.captureSizes;
  if (mode === 'none') {
    for (const key of ['captureSizes', 'maxCaptureSize'] as const) {
      const given =
        key === 'captureSizes' ? Array.isArray(rawSizes) && rawSizes.length > 0 : read.maxCaptureSize !== undefined;
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
      const rawLength = Array.isArray(rawSizes) ? rawSizes.length : 0;
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
  if (mode === undefined || ctx.uniformDecodeQueryLen === undefined || (mode !== 'none' && sizes === undefined)) {
    // Unreachable: without issues every branch above produced a mode and sizes.
    throw new Error('@flashgraph/config: internal error: no mode or capture sizes resolved without an issue');
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
    hasFullGraphs: properties.hasFullGraphs,
    fullGraphsFor: properties.fullGraphsFor,
    piecewise: properties.piecewise,
  });
  registerPadTable(resolved);
  return resolved;
}
