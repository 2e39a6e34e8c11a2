// GPU tests of @flashgraph/cli (node:test; bundled and run on the device by tooling/gpu).
// Skipped without a usable CUDA device.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cudaStatus } from '@flashgraph/cuda';
import { syntheticDecoder } from '@flashgraph/engine';
import { runDecodeBench } from '../../src/decode-bench.js';
import { runCli } from '../../src/run.js';

const status = cudaStatus();
const skip = status.available ? false : `no CUDA device: ${status.reason}`;

test('bench (decode loop) and simulate run on the GPU', { skip }, async () => {
  const result = await runDecodeBench({
    model: syntheticDecoder({ numLayers: 8 }),
    backend: 'cuda',
    batchSizes: [1, 8],
    modes: ['eager', 'piecewise', 'full'],
    context: 256,
    steps: 5,
    warmupSteps: 2,
    blockSize: 16,
    maxNumBatchedTokens: 512,
    maxNumSplits: 32,
    seed: 1,
  });
  assert.equal(result.backend, 'cuda');
  for (const row of result.rows) {
    assert.equal(row.ranAs, row.mode, `${row.mode} at batch ${row.batchSize} ran as ${row.ranAs}`);
    assert.ok(row.stepMs.p50 > 0);
  }
  console.log(result.rows.map((r) => `${r.mode} b${r.batchSize}: ${r.stepMs.p50.toFixed(3)} ms`).join('; '));
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    ['simulate', '--requests', '12', '--layers', '4', '--max-prompt', '200', '--max-output', '16', '--json'],
    {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      cwd: process.cwd(),
    },
  );
  assert.equal(code, 0, err.join('\n'));
  const report = JSON.parse(out.join('\n'));
  assert.equal(report.backend, 'cuda');
  assert.equal(report.runs.length, 4);
});
