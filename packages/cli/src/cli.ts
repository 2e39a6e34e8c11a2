#!/usr/bin/env node
// The `flashgraph` executable (bin). All logic is in run.ts so tests can drive it in-process.
import { runCli } from './run.js';

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  write: (text) => process.stdout.write(text),
  cwd: process.cwd(),
}).then((code) => {
  // exitCode rather than exit(): lets stdout drain when piped.
  process.exitCode = code;
});
