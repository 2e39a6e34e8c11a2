// Turns zod's structural issues into ConfigIssues with a rule and a fix a user can act on.
import type { z } from 'zod';
import {
  BACKEND_KEYS,
  CONTEXT_KEYS,
  CUDAGRAPH_SUPPORTS,
  GRAPH_MODES,
  INPUT_KEYS,
  MAX_NUM_CAPTURE_SIZES,
  MAX_TOKEN_COUNT,
} from './schema.js';
import { suggest } from './suggest.js';
import type { ConfigIssue } from './types.js';

interface RuleText {
  rule: string;
  fix: string;
}

const quoteAll = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

const positive = `must be an integer in [1, ${MAX_TOKEN_COUNT}]`;

/** Rule and fix per path; array indices are written `[]`. */
const RULES: Record<string, RuleText> = {
  '': { rule: 'must be an object', fix: "pass an object such as { mode: 'full_and_piecewise' }" },
  $schema: { rule: 'must be a string (a JSON Schema URL or path)', fix: 'make it a string or remove it' },
  mode: {
    rule: `must be one of ${quoteAll(GRAPH_MODES)}`,
    fix: "set mode to one of those, or remove it for the default 'full_and_piecewise'",
  },
  captureSizes: {
    rule: `must be an array of at most ${MAX_NUM_CAPTURE_SIZES} token counts`,
    fix: 'give a list such as [1, 2, 4, 8], or remove captureSizes for the defaults',
  },
  'captureSizes[]': {
    rule: `${positive} (a token count)`,
    fix: `remove it or replace it with an integer in [1, ${MAX_TOKEN_COUNT}]`,
  },
  maxCaptureSize: {
    rule: `${positive} (a token count)`,
    fix: 'set it to a positive integer, or remove it for the default',
  },
  maxNumSplits: {
    rule: 'must be an integer from 1 to 256',
    fix: 'set maxNumSplits to an integer from 1 to 256, or remove it for the default 32',
  },
  numWarmups: {
    rule: 'must be an integer from 0 to 100',
    fix: 'set numWarmups to an integer from 0 to 100, or remove it for the default 1',
  },
  fullCudaGraph: {
    rule: 'must be a boolean',
    fix: "remove fullCudaGraph (deprecated) and set mode instead, e.g. mode: 'full'",
  },
  context: {
    rule: 'must be an object { maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen?, backend?, supportsPiecewise? }',
    fix: 'pass the runtime limits, e.g. { maxNumSeqs: 256, maxNumBatchedTokens: 8192 }',
  },
  'context.maxNumSeqs': {
    rule: `${positive} (the most requests in one step)`,
    fix: 'set maxNumSeqs to the scheduler limit, e.g. 256',
  },
  'context.maxNumBatchedTokens': {
    rule: `${positive} (the most tokens in one step)`,
    fix: 'set maxNumBatchedTokens to the scheduler limit, e.g. 8192',
  },
  'context.uniformDecodeQueryLen': {
    rule: `${positive} (1 + speculative tokens per request)`,
    fix: 'set uniformDecodeQueryLen to 1 + the number of speculative tokens, or remove it for 1',
  },
  'context.backend': {
    rule: 'must be an object { cudagraphSupport, aotScheduling, maxAotBatch? }',
    fix: "pass the attention backend's declared capability, or remove it for flashgraph's FA3",
  },
  'context.backend.cudagraphSupport': {
    rule: `must be one of ${quoteAll(CUDAGRAPH_SUPPORTS)}`,
    fix: 'declare what the backend can run inside a full CUDA graph',
  },
  'context.backend.aotScheduling': {
    rule: 'must be a boolean',
    fix: 'declare whether the backend plans its schedule ahead of time (true for FA3)',
  },
  'context.backend.maxAotBatch': {
    rule: `${positive} (the largest batch the AoT metadata holds)`,
    fix: 'set it to the limit of the backend, or remove it when there is none',
  },
  'context.supportsPiecewise': {
    rule: 'must be a boolean',
    fix: 'declare whether the runtime can capture piecewise graphs, or remove it for true',
  },
};

const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': INPUT_KEYS,
  context: CONTEXT_KEYS,
  'context.backend': BACKEND_KEYS,
};

const ENUM_VALUES: Record<string, readonly string[]> = {
  mode: GRAPH_MODES,
  'context.backend.cudagraphSupport': CUDAGRAPH_SUPPORTS,
};

/** `['captureSizes', 3]` with prefix `''` -> `captureSizes[3]`; prefix `context` -> `context.x.y`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function ruleFor(path: string): RuleText {
  return RULES[path.replace(/\[\d+\]/g, '[]')] ?? { rule: 'must be valid', fix: 'correct or remove it' };
}

/**
 * Maps zod issues to ConfigIssues (one per path, the first wins: one bad value gets one rule).
 * `prefix` is `''` for the input and `'context'` for the context.
 */
export function structuralIssues(error: z.ZodError, root: unknown, prefix: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const push = (issue: ConfigIssue) => {
    if (seen.has(issue.path)) return;
    seen.add(issue.path);
    issues.push(issue);
  };
  for (const zodIssue of error.issues) {
    const parent = formatPath(prefix, zodIssue.path);
    if (zodIssue.code === 'unrecognized_keys') {
      const known = KNOWN_KEYS[parent] ?? [];
      for (const key of zodIssue.keys) {
        const hint = suggest(key, known);
        push({
          code: 'unknown_option',
          path: formatPath(parent, [key]),
          value: valueAt(root, [...zodIssue.path, key]),
          rule: `must be a known option: ${known.filter((k) => k !== '$schema').join(', ')}`,
          fix: hint === undefined ? `remove ${key}` : `rename it to ${hint}`,
        });
      }
      continue;
    }
    const value = valueAt(root, zodIssue.path);
    const { rule, fix } = ruleFor(parent);
    const enumValues = ENUM_VALUES[parent];
    const hint = enumValues && typeof value === 'string' ? suggest(value, enumValues) : undefined;
    push({
      code: 'invalid_value',
      path: parent,
      value,
      rule,
      fix: hint === undefined ? fix : `did you mean '${hint}'? Otherwise ${fix}`,
    });
  }
  return issues;
}
