// (c) The crash scenario of vLLM PR #20301, run by the lead under `compute-sanitizer --tool
// memcheck` (keep shapes small): schedule + forward captured in a CUDA graph with SHORT sequences,
// replayed with sequences LONG enough to want the maximum number of splits, for several captured
// sizes. Two captures per size: the explicit bound (numSplits = S, vLLM's fix) and the heuristic
// taken on the short capture batch (numSplits = 0: the bound frozen at capture is 1, the replay
// must clamp to it, never write past it). Every replay is checked against referenceAttention and
// planSplits. Also: page-table entries outside the cache are never dereferenced.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GraphExec, Stream } from '@flashgraph/cuda';
import { type AttentionOptions, createAttention } from '@flashgraph/fa3';
import {
  type Batch,
  checkMetadata,
  checkResult,
  DeviceProblem,
  describeProblem,
  makeProblem,
  type Problem,
  Rng,
  readResult,
  referenceFor,
  skipReason,
  stepArgs,
} from './harness.js';

const skip = skipReason();
const SIZES = [1, 3, 8, 17];
const MAX_REQS = 17;
const MAX_CONTEXT = 1024;
const S = 16;

const opts: AttentionOptions = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128,
  dtype: 'bf16',
  pageSize: 16,
  numPages: MAX_REQS * (MAX_CONTEXT / 16) + 1,
  maxNumReqs: MAX_REQS,
  maxNumTokens: MAX_REQS,
  maxNumPagesPerReq: MAX_CONTEXT / 16,
  maxNumSplits: S,
  causal: true,
};

/** A decode batch of n requests with contexts in [lo, hi]. */
function decodeBatch(r: Rng, n: number, lo: number, hi: number): Batch {
  return { qLens: new Array(n).fill(1), kLens: Array.from({ length: n }, () => r.int(lo, hi)) };
}

test('crash scenario: capture short, replay long (max splits), every captured size; outputs exact', { skip }, () => {
  using stream = Stream.create();
  using attn = createAttention(opts);
  const r = new Rng(20301);
  const failures: string[] = [];
  for (const n of SIZES) {
    for (const captureSplits of [S, 0]) {
      const short = makeProblem(opts, decodeBatch(r, n, 1, 20), r);
      using dev = new DeviceProblem(short, MAX_REQS + 3, MAX_REQS);
      // Warm-up eagerly once (loads modules outside the capture), then capture on short inputs.
      const captureArgs = stepArgs(short, dev, stream, captureSplits);
      attn.schedule(captureArgs);
      attn.forward(captureArgs);
      stream.synchronize();
      stream.beginCapture();
      let exec: GraphExec;
      try {
        attn.schedule(captureArgs);
        attn.forward(captureArgs);
      } finally {
        const graph = stream.endCapture();
        exec = graph.instantiate();
        graph.dispose();
      }
      try {
        // Replays: long (wants the maximum splits), short again, long with different lengths.
        const steps: [string, Problem][] = [
          ['long', makeProblem(opts, decodeBatch(r, n, MAX_CONTEXT - 64, MAX_CONTEXT), r)],
          ['short', makeProblem(opts, decodeBatch(r, n, 0, 40), r)],
          ['long-mixed', makeProblem(opts, decodeBatch(r, n, 1, MAX_CONTEXT), r)],
        ];
        for (const [name, p] of steps) {
          dev.upload(p);
          exec.launch(stream);
          stream.synchronize();
          // The bound frozen in the graph is the one resolved at capture.
          const { outBits, lse } = readResult(dev, p);
          const fails = [
            ...checkMetadata(attn, p, boundAtCapture(attn, short, captureSplits)),
            ...checkResult(p, outBits, lse),
          ];
          if (fails.length)
            failures.push(
              `size ${n}, capture numSplits ${captureSplits}, replay ${name}: ${describeProblem(p)}\n    ${fails.join('\n    ')}`,
            );
        }
      } finally {
        exec.dispose();
      }
    }
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});

/**
 * checkMetadata recomputes the plan from a step's own maxSeqlen; a graph keeps the capture's bound,
 * so pass the explicit bound the capture resolved to (numSplits >= 1 is used as given).
 */
function boundAtCapture(attn: ReturnType<typeof createAttention>, short: Problem, captureSplits: number): number {
  return attn.resolveNumSplits({
    numSplits: captureSplits,
    maxSeqlenQ: Math.max(...short.batch.qLens),
    maxSeqlenK: Math.max(...short.batch.kLens),
  });
}

test('page-table entries outside the cache are never dereferenced (their keys are masked)', { skip }, () => {
  const o: AttentionOptions = { ...opts, causal: false };
  using stream = Stream.create();
  using attn = createAttention(o);
  const r = new Rng(4);
  const batch: Batch = { qLens: [1, 2, 1, 1], kLens: [100, 64, 33, 16] };
  const p = makeProblem(o, batch, r);
  // Request 0: last page -1; request 1: last page = numPages; request 2: last page INT32_MAX;
  // request 3: its only page is -7 (sees no key at all).
  const bad = [-1, o.numPages, 2 ** 31 - 1, -7];
  const table = p.pageTable.slice();
  batch.kLens.forEach((k, b) => {
    table[b * p.stride + Math.ceil(k / o.pageSize) - 1] = bad[b]!;
  });
  const attacked: Problem = { ...p, pageTable: table };
  // Expected: the invalid page's keys masked = the request truncated to its valid pages (non-causal).
  const truncated: Problem = {
    ...p,
    seqLens: Int32Array.from(batch.kLens, (k) => (Math.ceil(k / o.pageSize) - 1) * o.pageSize),
  };
  using dev = new DeviceProblem(attacked);
  const args = stepArgs(attacked, dev, stream, 0);
  attn.schedule(args);
  attn.forward(args);
  stream.synchronize();
  const { outBits, lse } = readResult(dev, attacked);
  const fails = checkResult(attacked, outBits, lse, referenceFor(truncated));
  assert.equal(fails.length, 0, `${describeProblem(attacked)}\n    ${fails.join('\n    ')}`);
});
