// The checks: each compares what one flashgraph package decided with what another one (or the
// resolved config) says, so no rule is restated here. A failed check is a string; none means ok.
import { describe, forwardArgs, isFullGraphStep, scheduleArgs } from '@flashgraph/attn-metadata/host';
import { padToCaptureSize } from '@flashgraph/config';
import { padRequestCount } from '@flashgraph/cuda-graph';
import { forwardKernel } from '@flashgraph/fa3/reference';
import { frozenScalars, graphKey } from './runtime.mjs';

/** Whether two Float32Arrays hold the same bits (NaN payloads and -0 included). */
export function bitIdentical(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((bits, i) => bits === y[i]);
}

/**
 * The metadata rules of one step run by `runtime` (its plan, outcome and staged metadata):
 * - padded counts: the builder padded to the runner's plan; the plan padded tokens as config's
 *   `padToCaptureSize` and requests as cuda-graph's `padRequestCount` say;
 * - full-graph flag: the builder, attn-metadata's `isFullGraphStep` and the runner agree;
 * - split bound: `numSplits` is the config's `maxNumSplits` in a full graph and the heuristic (0)
 *   otherwise, and the scheduler's arguments, the kernel's arguments and `describe` carry the same;
 * - decode-graph flag: the plan, the run and the staged options agree; a decode graph's
 *   `maxSeqlenQ` makes fa3 pick its decode kernel;
 * - graph-frozen values: a full-graph replay stages the `maxSeqlenQ`, `maxSeqlenK`, `numSplits`
 *   and padded request count its graph froze at capture (the runner's capture context, staged by
 *   the builder), so a runtime staging the wrong decode-graph flag is caught.
 */
export function checkStep(runtime, batch, result) {
  const { graphConfig } = runtime;
  const { plan, outcome, metadata: md } = result;
  const numTokens = batch.tokens.length;
  const failures = [];
  const expect = (ok, what) => {
    if (!ok) failures.push(what);
  };

  expect(
    plan === outcome || JSON.stringify(plan) === JSON.stringify(outcome),
    `plan() ${JSON.stringify(plan)} != run() ${JSON.stringify(outcome)}`,
  );
  expect(
    md.numPaddedTokens === outcome.paddedTokens,
    `metadata padded tokens ${md.numPaddedTokens} != runner ${outcome.paddedTokens}`,
  );
  expect(
    md.numPaddedReqs === outcome.paddedReqs,
    `metadata padded requests ${md.numPaddedReqs} != runner ${outcome.paddedReqs}`,
  );
  if (outcome.mode !== 'eager') {
    const size = padToCaptureSize(graphConfig, numTokens);
    expect(
      outcome.paddedTokens === size,
      `runner padded ${numTokens} tokens to ${outcome.paddedTokens}, config's padToCaptureSize says ${size}`,
    );
    const reqs = padRequestCount({
      paddedTokens: outcome.paddedTokens,
      uniformDecode: batch.uniformDecode,
      uniformDecodeQueryLen: graphConfig.uniformDecodeQueryLen,
      maxNumReqs: runtime.builder.capacities.maxNumReqs,
    });
    expect(
      outcome.paddedReqs === reqs,
      `runner padded requests to ${outcome.paddedReqs}, padRequestCount says ${reqs}`,
    );
  }

  const fullByRule = isFullGraphStep(graphConfig, md.numPaddedTokens, batch.uniformDecode);
  expect(md.fullGraph === fullByRule, `metadata fullGraph ${md.fullGraph} != isFullGraphStep ${fullByRule}`);
  expect(
    md.fullGraph === (outcome.mode === 'full'),
    `metadata fullGraph ${md.fullGraph} but the runner ran '${outcome.mode}'`,
  );
  expect(
    md.uniformDecode === batch.uniformDecode,
    `metadata uniformDecode ${md.uniformDecode} != the batch's ${batch.uniformDecode}`,
  );

  const splits = md.fullGraph ? graphConfig.maxNumSplits : 0;
  expect(
    md.numSplits === splits,
    `numSplits ${md.numSplits} in a ${md.fullGraph ? 'full-graph' : 'non-full-graph'} step (config bound ${graphConfig.maxNumSplits})`,
  );
  const kernelArgs = forwardArgs(md, { stream: 0n, q: 'q', kCache: 'k', vCache: 'v', out: 'o' });
  const schedulerArgs = scheduleArgs(md, 0n);
  const description = describe(md);
  for (const [who, args] of [
    ['forwardArgs', kernelArgs],
    ['scheduleArgs', schedulerArgs],
  ]) {
    expect(args.numSplits === md.numSplits, `${who}.numSplits ${args.numSplits} != metadata ${md.numSplits}`);
    expect(args.numReqs === md.numPaddedReqs, `${who}.numReqs ${args.numReqs} != padded requests ${md.numPaddedReqs}`);
    expect(
      args.maxSeqlenQ === md.maxSeqlenQ && args.maxSeqlenK === md.maxSeqlenK,
      `${who} max lengths differ from the metadata's`,
    );
  }
  expect(description.numSplits === md.numSplits, `describe().numSplits ${description.numSplits} != ${md.numSplits}`);
  expect(
    description.splitsPerRequest.every((s) => s >= 1 && s <= description.numSplitsBound),
    `describe() plans ${description.splitsPerRequest} splits above its bound ${description.numSplitsBound}`,
  );

  expect(plan.decodeGraph === outcome.decodeGraph, 'plan() and run() disagree on decodeGraph');
  if (outcome.decodeGraph) {
    expect(batch.uniformDecode, 'a decode graph replayed a batch that is not uniform decode');
    const { numHeadsQ, numHeadsKv, headDim } = runtime.builder.attention.options;
    const kernel = forwardKernel(kernelArgs.maxSeqlenQ, numHeadsQ / numHeadsKv, headDim, 'auto');
    expect(
      kernel === 'decode',
      `a decode graph's maxSeqlenQ ${kernelArgs.maxSeqlenQ} makes fa3 run its '${kernel}' kernel`,
    );
  }

  if (outcome.mode === 'full') {
    const key = graphKey(outcome.paddedTokens, outcome.decodeGraph);
    const captured = JSON.stringify(runtime.capturedGraphs.get(key));
    const staged = JSON.stringify(frozenScalars(md));
    expect(captured === staged, `full graph ${key} froze ${captured} at capture, the replay staged ${staged}`);
  }
  return failures;
}
