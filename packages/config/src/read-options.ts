// Structural validation (zod) of the input and context, returning what is usable so that the
// semantic rules can still run on the valid parts: ConfigError reports every problem at once.
import { type BackendCapability, fa3BackendCapability } from './backend.js';
import { graphConfigContextSchema, graphConfigInputSchema } from './schema.js';
import { structuralIssues } from './structural-issues.js';
import type { ConfigIssue, GraphMode } from './types.js';

/** Valid input fields; a field that was absent or invalid is `undefined` (see `invalid`). */
export interface ReadInput {
  mode?: GraphMode;
  /** The valid entries of captureSizes (when it is an array; absent when it is not). */
  captureSizes?: number[];
  /** Whether some entry of captureSizes was invalid. */
  captureSizesHasInvalid: boolean;
  maxCaptureSize?: number;
  maxNumSplits?: number;
  numWarmups?: number;
  fullCudaGraph?: boolean;
  /** Top-level keys that were given but invalid. */
  invalid: Set<string>;
}

function topKey(path: string): string {
  return path.split(/[.[]/, 1)[0]!;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function readInput(input: unknown, issues: ConfigIssue[]): ReadInput {
  const parsed = graphConfigInputSchema.safeParse(input);
  const found = parsed.success ? [] : structuralIssues(parsed.error, input, '');
  issues.push(...found);
  const result: ReadInput = { captureSizesHasInvalid: false, invalid: new Set() };
  if (!isRecord(input)) return result;
  // Only a bad value itself marks its key invalid; a bad captureSizes entry leaves the others usable.
  for (const issue of found) {
    if (issue.path !== '' && issue.code !== 'unknown_option' && topKey(issue.path) === issue.path)
      result.invalid.add(issue.path);
  }
  const take = <K extends keyof ReadInput>(key: K) =>
    result.invalid.has(key) ? undefined : (input[key] as ReadInput[K] | undefined);

  const sizes = input.captureSizes;
  if (Array.isArray(sizes)) {
    const bad = new Set(found.map((issue) => issue.path));
    result.captureSizes = sizes.filter((_, i) => !bad.has(`captureSizes[${i}]`)) as number[];
    result.captureSizesHasInvalid = result.captureSizes.length !== sizes.length;
  }
  const mode = take('mode');
  if (mode !== undefined) result.mode = mode;
  for (const key of ['maxCaptureSize', 'maxNumSplits', 'numWarmups'] as const) {
    const value = take(key);
    if (value !== undefined) result[key] = value;
  }
  const fullCudaGraph = take('fullCudaGraph');
  if (fullCudaGraph !== undefined) result.fullCudaGraph = fullCudaGraph;
  return result;
}

/** Valid context fields with defaults applied; `undefined` where the given value was invalid. */
export interface ReadContext {
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  uniformDecodeQueryLen?: number;
  backend?: BackendCapability;
  supportsPiecewise?: boolean;
}

export function readContext(context: unknown, issues: ConfigIssue[]): ReadContext {
  const parsed = graphConfigContextSchema.safeParse(context);
  const found = parsed.success ? [] : structuralIssues(parsed.error, context, 'context');
  issues.push(...found);
  if (!isRecord(context)) return {};
  const bad = (key: string) =>
    found.some(
      (issue) =>
        issue.code !== 'unknown_option' &&
        (issue.path === `context.${key}` || issue.path.startsWith(`context.${key}.`)),
    );
  const result: ReadContext = {};
  if (!bad('maxNumSeqs')) result.maxNumSeqs = context.maxNumSeqs as number;
  if (!bad('maxNumBatchedTokens')) result.maxNumBatchedTokens = context.maxNumBatchedTokens as number;
  if (!bad('uniformDecodeQueryLen'))
    result.uniformDecodeQueryLen = (context.uniformDecodeQueryLen as number | undefined) ?? 1;
  if (!bad('backend')) result.backend = (context.backend as BackendCapability | undefined) ?? fa3BackendCapability;
  if (!bad('supportsPiecewise')) result.supportsPiecewise = (context.supportsPiecewise as boolean | undefined) ?? true;
  return result;
}
