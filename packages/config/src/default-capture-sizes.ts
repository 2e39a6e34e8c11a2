// defaultCaptureSizes: the public view of the default ladder for a context.
import { captureSizeLadder, defaultMaxCaptureSize } from './capture-sizes.js';
import { ConfigError } from './config-error.js';
import { readContext } from './read-options.js';
import type { ConfigIssue, GraphConfigContext } from './types.js';

/**
 * The capture sizes used when none are given: 1, 2, 4, multiples of 8 below 256, multiples of 16
 * up to max = min(2 x maxNumSeqs x uniformDecodeQueryLen, 512) capped by maxNumBatchedTokens, and
 * max itself. (resolveGraphConfig additionally rounds them to multiples of uniformDecodeQueryLen
 * in modes with full decode graphs.) Throws ConfigError for an invalid context.
 */
export function defaultCaptureSizes(context: GraphConfigContext): number[] {
  const issues: ConfigIssue[] = [];
  const ctx = readContext(context, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return captureSizeLadder(
    defaultMaxCaptureSize({
      maxNumSeqs: ctx.maxNumSeqs!,
      maxNumBatchedTokens: ctx.maxNumBatchedTokens!,
      uniformDecodeQueryLen: ctx.uniformDecodeQueryLen!,
    }),
  );
}
