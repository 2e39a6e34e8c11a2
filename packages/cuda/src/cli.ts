#!/usr/bin/env node
// The `flashgraph-cuda` executable: `npx @flashgraph/cuda build-native [options]`.
import { runCudaCli } from './cli-run.js';

process.exitCode = runCudaCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
});
