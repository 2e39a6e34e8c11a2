// ConfigError: every problem of a config at once, each with path, value, rule and fix.
import { checkArray, checkObject, checkString, FlashgraphError, formatValue } from '@flashgraph/errors';
import type { ConfigIssue } from './types.js';

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

/** Issues copied from own properties (a hand-made list is checked like any argument). */
function checkIssues(issues: unknown): ConfigIssue[] {
  const given = checkArray('issues', issues, { minLength: 1, maxLength: 65_536 });
  const out: ConfigIssue[] = [];
  for (let i = 0; i < given.length; i++) {
    const issue = checkObject(`issues[${i}]`, given[i]);
    out.push({
      code: checkString(`issues[${i}].code`, issue.code),
      path: checkString(`issues[${i}].path`, issue.path),
      value: issue.value,
      rule: checkString(`issues[${i}].rule`, issue.rule),
      fix: checkString(`issues[${i}].fix`, issue.fix),
    });
  }
  return out;
}

/**
 * Thrown by `resolveGraphConfig` (and `defaultCaptureSizes`) with every problem found, code
 * `invalid_config`. Each of `issues` has its own code, path, value, rule and fix; `path`, `value`
 * and `fix` of the error itself are those of the first issue.
 */
export class ConfigError extends FlashgraphError {
  declare readonly code: 'invalid_config';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const list = checkIssues(issues);
    // The message is the whole list (one paragraph per issue), so path/value/fix stay out of it.
    super({ code: 'invalid_config', problem: formatMessage(list) });
    const first = list[0];
    Object.defineProperties(this, {
      path: { value: first?.path, enumerable: true },
      value: { value: first?.value, enumerable: true },
      fix: { value: first?.fix, enumerable: true },
    });
    this.issues = Object.freeze(list.map((issue) => Object.freeze(issue)));
  }
}
