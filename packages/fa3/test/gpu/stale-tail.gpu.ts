// (d) Stale tail: a big batch, then a small batch on the same workspace (eager) and on the same
// captured graph (the small batch padded with q_len = seq_len = 0 requests). The small batch's
// output must be correct, its metadata tail zeroed, and nothing outside it written: out rows
// and LSE entries past its totalQ stay poisoned. Also run under compute-sanitizer memcheck.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stream } from '@flashgraph/cuda';
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
  skipReason,
  stepArgs,
} from './harness.js';

const skip = skipReason();
const BIG = 48;
const SMALL = 5;
const MAX_Q = 4;
const MAX_CONTEXT = 1024;

const opts: AttentionOptions = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128,
  dtype: 'bf16',
  pageSize: 16,
  numPages: BIG * (MAX_CONTEXT / 16) + 1,
  maxNumReqs: BIG,
  maxNumTokens: BIG * MAX_Q,
  maxNumPagesPerReq: MAX_CONTEXT / 16,
  maxNumSplits: 8,
  causal: true,
};

function batch(r: Rng, live: number, padTo: number): Batch {
  const qLens: number[] = [];
  const kLens: number[] = [];
  for (let b = 0; b < padTo; b++) {
    const q = b < live ? r.int(1, MAX_Q) : 0;
    qLens.push(q);
    kLens.push(b < live ? r.int(q, MAX_CONTEXT) : 0);
  }
  return { qLens, kLens };
}

function check(
  label: string,
  p: Problem,
  dev: DeviceProblem,
  attn: ReturnType<typeof createAttention>,
  numSplits: number,
  failures: string[],
) {
  const { outBits, lse } = readResult(dev, p);
  const fails = [...checkMetadata(attn, p, numSplits), ...checkResult(p, outBits, lse)];
  if (fails.length) failures.push(`${label}: ${describeProblem(p)}\n    ${fails.join('\n    ')}`);
}

test('stale tail (eager): big batch then small batch on one workspace', { skip }, () => {
  using stream = Stream.create();
  using attn = createAttention(opts);
  const r = new Rng(11);
  const failures: string[] = [];
  const big = makeProblem(opts, batch(r, BIG, BIG), r);
  using dev = new DeviceProblem(big, BIG * MAX_Q + 3, BIG);
  for (const numSplits of [0, 8]) {
    dev.upload(big);
    const a = stepArgs(big, dev, stream, numSplits);
    attn.schedule(a);
    attn.forward(a);
    stream.synchronize();
    check(`big, numSplits ${numSplits}`, big, dev, attn, numSplits, failures);
    const small = makeProblem(opts, batch(r, SMALL, SMALL), r);
    dev.upload(small); // poisons out / lse again
    const s = stepArgs(small, dev, stream, numSplits);
    attn.schedule(s);
    attn.forward(s);
    stream.synchronize();
    check(`small after big, numSplits ${numSplits}`, small, dev, attn, numSplits, failures);
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});

test('stale tail (graph): one graph captured at the big size, replayed big then padded small', { skip }, () => {
  using stream = Stream.create();
  using attn = createAttention(opts);
  const r = new Rng(12);
  const failures: string[] = [];
  const numSplits = 8; // the explicit bound a graph runner passes
  const capture = makeProblem(opts, batch(r, BIG, BIG), r);
  using dev = new DeviceProblem(capture, BIG * MAX_Q + 3, BIG);
  const args = stepArgs(capture, dev, stream, numSplits);
  // maxSeqlen arguments at capture are the capacities (what a graph runner knows).
  Object.assign(args, { maxSeqlenQ: MAX_Q, maxSeqlenK: MAX_CONTEXT });
  attn.schedule(args);
  attn.forward(args);
  stream.synchronize();
  stream.beginCapture();
  let graph: ReturnType<Stream['endCapture']>;
  try {
    attn.schedule(args);
    attn.forward(args);
  } finally {
    graph = stream.endCapture();
  }
  const exec = graph.instantiate();
  graph.dispose();
  try {
    for (const [label, live] of [
      ['big', BIG],
      ['small (padded)', SMALL],
      ['big again', BIG],
      ['one request (padded)', 1],
    ] as const) {
      const p = makeProblem(opts, batch(r, live, BIG), r);
      dev.upload(p);
      exec.launch(stream);
      stream.synchronize();
      check(`graph replay ${label}`, p, dev, attn, numSplits, failures);
    }
  } finally {
    exec.dispose();
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});
