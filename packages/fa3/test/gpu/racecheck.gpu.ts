// A small case for `compute-sanitizer --tool racecheck` (run by tooling/gpu/run.sh on files
// named *racecheck*): decode with dynamic splits (fused merge), a prefill with several query
// blocks, and the KV-cache write, each checked against the CPU reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stream } from '@flashgraph/cuda';
import { createAttention } from '@flashgraph/fa3';
import {
  checkResult,
  DeviceProblem,
  describeProblem,
  makeProblem,
  optionsFor,
  Rng,
  readResult,
  skipReason,
  stepArgs,
} from './harness.js';

const skip = skipReason();

for (const [name, batch, numSplits] of [
  ['decode with splits', { qLens: [1, 1, 1], kLens: [700, 64, 1000] }, 8],
  ['prefill + decode', { qLens: [130, 1], kLens: [130, 300] }, 0],
] as const) {
  test(`racecheck case: ${name}`, { skip }, () => {
    const geo = {
      numHeadsQ: 8,
      numHeadsKv: 2,
      headDim: 64 as const,
      dtype: 'bf16' as const,
      pageSize: 16,
      causal: true,
      maxNumSplits: 8,
    };
    const b = { qLens: [...batch.qLens], kLens: [...batch.kLens] };
    const opts = optionsFor(geo, b);
    const p = makeProblem(opts, b, new Rng(5));
    using stream = Stream.create();
    using attn = createAttention(opts);
    using dev = new DeviceProblem(p);
    const args = stepArgs(p, dev, stream, numSplits);
    attn.schedule(args);
    attn.forward(args);
    attn.forward(args); // twice on one schedule: the counters reset themselves
    stream.synchronize();
    const { outBits, lse } = readResult(dev, p);
    const fails = checkResult(p, outBits, lse);
    assert.equal(fails.length, 0, `${describeProblem(p)}\n    ${fails.join('\n    ')}`);
  });
}
