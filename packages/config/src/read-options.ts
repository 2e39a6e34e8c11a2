// Structural validation (zod) of the input and context, returning what is usable so that the
// semantic rules can still run on the valid parts: ConfigError reports every problem at once.
// Only own properties are read: the input is first copied to a null-prototype record, so an
// inherited key (or `__proto__` set by Object.assign from a JSON file) never becomes an option.
import { checkObject } from '@flashgraph/errors';
import { type BackendCapability, fa3BackendCapability } from './backend.js';
import { graphConfigContextSchema, graphConfigInputSchema, MAX_NUM_CAPTURE_SIZES } from './schema.js';
import { structuralIssues } from './structural-issues.js';
import type { ConfigIssue, GraphMode } from './types.js';

/** Valid input fields; a field that was absent or invalid is `undefined` (see `invalid`). */
export interface ReadInput {
  mode?: GraphMode;
  /** The valid entries of captureSizes (when it is an array; absent when it is not). */
  captureSizes?: number[];
  /** The length of captureSizes as given, when it is an array (own property). */
  captureSizesLength?: number;
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
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** A null-prototype copy of the own keys of an object (nested at `nested`); anything else as is. */
export function ownKeysOnly(value: unknown, nested: readonly string[] = []): unknown {
  if (!isRecord(value)) return value;
  const copy = checkObject('', value) as Record<string, unknown>;
  for (const key of nested) if (key in copy) copy[key] = ownKeysOnly(copy[key]);
  return copy;
}

export function readInput(given: unknown, issues: ConfigIssue[]): ReadInput {
  const input = ownKeysOnly(given);
  const result: ReadInput = { captureSizesHasInvalid: false, invalid: new Set() };
  // A huge (or sparse, length 2^32 - 1) array is refused by its length, before zod walks it.
  if (isRecord(input) && Array.isArray(input.captureSizes)) result.captureSizesLength = input.captureSizes.length;
  if (isRecord(input) && Array.isArray(input.captureSizes) && input.captureSizes.length > MAX_NUM_CAPTURE_SIZES) {
    issues.push({
      code: 'invalid_value',
      path: 'captureSizes',
      value: input.captureSizes,
      rule: `must hold at most ${MAX_NUM_CAPTURE_SIZES} capture sizes (got ${input.captureSizes.length})`,
      fix: 'capture fewer sizes: every size costs a graph (or one per segment) and its capture time',
    });
    delete input.captureSizes;
    result.invalid.add('captureSizes');
  }
  const parsed = graphConfigInputSchema.safeParse(input);
  const found = parsed.success ? [] : structuralIssues(parsed.error, input, '');
  issues.push(...found);
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

export function readContext(given: unknown, issues: ConfigIssue[]): ReadContext {
  const context = ownKeysOnly(given, ['backend']);
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
