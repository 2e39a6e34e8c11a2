// ConfigError: every problem of a config at once, each with path, value, rule and fix.
import type { ConfigIssue } from './types.js';

function repr(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'symbol') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Renders a value the way a user would have typed it (strings quoted, NaN as NaN), at most 80 characters. */
export function formatValue(value: unknown): string {
  const text = repr(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** One issue as a short paragraph: `path = value`, then rule and fix. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.path === '' ? '(config)' : issue.path;
  const what = issue.value === undefined ? `${where} (missing)` : `${where} = ${formatValue(issue.value)}`;
  return `${what}\n    rule: ${issue.rule}\n    fix:  ${issue.fix}`;
}

function formatMessage(issues: readonly ConfigIssue[]): string {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return `Invalid CUDA graph configuration (${count}):\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n')}`;
}

/** Thrown by `resolveGraphConfig` (and `defaultCaptureSizes`) with every problem found. */
export class ConfigError extends Error {
  readonly code = 'ERR_FLASHGRAPH_CONFIG' as const;
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(formatMessage(issues));
    this.name = 'ConfigError';
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}
