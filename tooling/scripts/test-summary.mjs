#!/usr/bin/env node
// Prints one closing line for the whole test run ("tests: N passed, N failed, N skipped"),
// from every package's vitest JSON report (packages/*/test-results/vitest.json).
// `--clean` removes old reports first, so a stale report is never counted.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './bundle.mjs';

const reports = readdirSync(join(repoRoot, 'packages'))
  .map((pkg) => [pkg, join(repoRoot, 'packages', pkg, 'test-results/vitest.json')])
  .filter(([, file]) => existsSync(file));

if (process.argv.includes('--clean')) {
  for (const [, file] of reports) rmSync(file, { force: true });
  process.exit(0);
}
let passed = 0;
let failed = 0;
let skipped = 0;
for (const [pkg, file] of reports) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const p = r.numPassedTests ?? 0;
  const f = (r.numFailedTests ?? 0) + (r.numFailedTestSuites ?? 0);
  const s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`  ${pkg.padEnd(16)} ${p} passed, ${f} failed, ${s} skipped`);
  passed += p;
  failed += f;
  skipped += s;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || reports.length === 0 ? 1 : 0);
