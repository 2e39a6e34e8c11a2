// `pnpm bench` / device benchmark: `flashgraph simulate` with its defaults (64 requests, random
// prompt and output lengths, seed 1) through engine.run() in every graph mode: throughput,
// per-step latency percentiles and padding waste. Prints the table, then one JSON line.
import { cudaStatus } from '@flashgraph/cuda';
import type { CliIo } from '../src/command.js';
import { simulateCommand } from '../src/commands/simulate.js';

const status = cudaStatus();
if (!status.available) {
  console.log(`skipped: no CUDA device (${status.reason})`);
  process.exit(0);
}
let json = '';
const io: CliIo = {
  stdout: (text) => {
    json += text;
  },
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
};
const tableIo: CliIo = {
  stdout: (text) => console.log(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
};
const code = await simulateCommand.run([], tableIo);
if (code !== 0) process.exit(code);
const jsonCode = await simulateCommand.run(['--json', '--modes', 'full_and_piecewise'], io);
console.log(JSON.stringify(JSON.parse(json)));
process.exit(jsonCode);
