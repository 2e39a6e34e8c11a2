// (a) Random configurations against referenceAttention: batch 1..4096, q lengths 1..512,
// contexts 0..32k, head dims 64/96/128/192/256, GQA 1/2/4/8, page sizes 16/32/64/256, causal on/off,
// sliding window, softcap, attention sinks (30% of configs), numSplits 0..S, bf16 and fp16. Every output element and LSE is
// checked, guard rows past totalQ must stay poisoned, and the device metadata must equal
// planSplits. Every 4th config with an explicit numSplits states maxSeqlenQ = 0 to schedule and
// forward, so the decode kernel (picked when maxSeqlenQ x G <= 16) takes every tile whatever the
// query lengths: it must stay exact. The CPU reference bounds the run time, so each config's work is
// budgeted.
//   FA3_GPU_CONFIGS=n   number of configs (default 320)      FA3_GPU_SEED=s   first seed
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stream } from '@flashgraph/cuda';
import { createAttention } from '@flashgraph/fa3';
import {
  checkMetadata,
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
import { sampleConfig } from './random-config.js';

const CONFIGS = Number(process.env.FA3_GPU_CONFIGS ?? 320);
const SEED = Number(process.env.FA3_GPU_SEED ?? 20240601);
const skip = skipReason();

test(`fa3 forward vs referenceAttention: ${CONFIGS} random configs (seed ${SEED})`, { skip }, () => {
  const stream = Stream.create();
  const failures: string[] = [];
  const seen = {
    splitsUsed: new Set<number>(),
    maxReqs: 0,
    maxK: 0,
    maxQ: 0,
    dims: new Set<number>(),
    withSinks: 0,
    pages: new Set<number>(),
    understated: 0,
  };
  try {
    for (let i = 0; i < CONFIGS; i++) {
      const cfg = sampleConfig(SEED + i);
      const slackRng = new Rng(cfg.seed ^ 0x5bd1e995);
      const opts = optionsFor(cfg.geo, cfg.batch, {
        reqs: slackRng.int(0, 8),
        tokens: slackRng.int(0, 64),
        pages: slackRng.int(1, 4),
      });
      const p = makeProblem(opts, cfg.batch, new Rng(cfg.seed * 7 + 1), cfg.qScale);
      if (cfg.sinks) p.sinks = cfg.sinks;
      // The split bound then does not depend on maxSeqlenQ, so schedule and forward agree.
      const understate = i % 4 === 3 && cfg.numSplits > 0;
      const label = `${describeProblem(p, { config: i, seed: cfg.seed, kind: cfg.kind, numSplits: cfg.numSplits, qScale: cfg.qScale })}${understate ? ' forward maxSeqlenQ=0' : ''}`;
      let attn: ReturnType<typeof createAttention> | undefined;
      let dev: DeviceProblem | undefined;
      try {
        attn = createAttention(opts);
        dev = new DeviceProblem(p);
        const args = stepArgs(p, dev, stream, cfg.numSplits);
        // Understated for the schedule too: the real maxSeqlenQ may pick the wgmma kernel, whose
        // tiles the decode kernel does not run (schedule and forward must pick kernels of the same tiles).
        const step = understate ? { ...args, maxSeqlenQ: 0 } : args;
        attn.schedule(step);
        attn.forward(step);
        if (understate) seen.understated++;
        stream.synchronize();
        const md = checkMetadata(attn, p, cfg.numSplits, step.maxSeqlenQ);
        const { outBits, lse } = readResult(dev, p);
        const fails = [...md, ...checkResult(p, outBits, lse)];
        if (fails.length) failures.push(`FAILED ${label}\n    ${fails.join('\n    ')}`);
        const { numSplits, maxSeqlenQ, maxSeqlenK } = args;
        const bound = attn.resolveNumSplits({ numSplits, maxSeqlenQ, maxSeqlenK });
        seen.splitsUsed.add(bound);
      } catch (err) {
        failures.push(`ERROR ${label}\n    ${(err as Error).stack ?? err}`);
      } finally {
        dev?.[Symbol.dispose]();
        attn?.dispose();
      }
      seen.maxReqs = Math.max(seen.maxReqs, p.numReqs);
      seen.maxK = Math.max(seen.maxK, ...cfg.batch.kLens);
      seen.maxQ = Math.max(seen.maxQ, ...cfg.batch.qLens);
      seen.dims.add(opts.headDim);
      if (cfg.sinks) seen.withSinks++;
      seen.pages.add(opts.pageSize);
      if (failures.length >= 10) break; // enough to diagnose; don't spend the whole budget
    }
  } finally {
    stream.dispose();
  }
  console.log(
    `coverage: max numReqs ${seen.maxReqs}, max context ${seen.maxK}, max q ${seen.maxQ}, head dims ${[...seen.dims].sort((a, b) => a - b)}, with sinks ${seen.withSinks}, pages ${[...seen.pages]}, split bounds used ${[...seen.splitsUsed].sort((a, b) => a - b)}, forward with maxSeqlenQ understated ${seen.understated}`,
  );
  assert.equal(failures.length, 0, `${failures.length} config(s) failed:\n${failures.join('\n')}`);
});
