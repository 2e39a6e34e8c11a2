// (e) Graph replay is bit-identical to eager execution on random batches (decode with splits,
// prefill, mixed; head dims 64 to 256; attention sinks), replaying the same graph several times;
// 32 layers reusing ONE schedule in ONE graph are all correct (the tile counter and merge counters
// reset themselves in-graph); and new sink values written between replays reach the captured
// forward (the kernel reads them at launch).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stream } from '@flashgraph/cuda';
import { type Attention, type AttentionOptions, createAttention } from '@flashgraph/fa3';
import {
  type Batch,
  captureGraph,
  checkResult,
  DeviceProblem,
  describeProblem,
  makeProblem,
  optionsFor,
  type Problem,
  Rng,
  randomSinks,
  readResult,
  skipReason,
  stepArgs,
} from './harness.js';

const skip = skipReason();

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const cases: {
  name: string;
  geo: Omit<AttentionOptions, 'numPages' | 'maxNumReqs' | 'maxNumTokens' | 'maxNumPagesPerReq'>;
  batch: (r: Rng) => Batch;
  numSplits: number;
  sinks?: boolean;
}[] = [
  {
    name: 'decode, long contexts, dynamic splits',
    geo: { numHeadsQ: 32, numHeadsKv: 8, headDim: 128, dtype: 'bf16', pageSize: 16, causal: true, maxNumSplits: 32 },
    batch: (r) => ({ qLens: new Array(6).fill(1), kLens: Array.from({ length: 6 }, () => r.int(1, 8192)) }),
    numSplits: 0,
  },
  {
    name: 'speculative decode, window + softcap, fp16',
    geo: {
      numHeadsQ: 16,
      numHeadsKv: 2,
      headDim: 64,
      dtype: 'fp16',
      pageSize: 64,
      causal: true,
      window: [512, 0],
      softcap: 30,
      maxNumSplits: 16,
    },
    batch: (r) => ({
      qLens: Array.from({ length: 24 }, () => r.int(1, 4)),
      kLens: Array.from({ length: 24 }, () => r.int(4, 3000)),
    }),
    numSplits: 16,
  },
  {
    name: 'prefill + decode mix, D 256',
    geo: { numHeadsQ: 8, numHeadsKv: 8, headDim: 256, dtype: 'bf16', pageSize: 256, causal: true, maxNumSplits: 8 },
    batch: (r) => ({ qLens: [200, 1, 1, 37, 0], kLens: [200, r.int(1, 2000), 5000, 400, 0] }),
    numSplits: 0,
  },
  {
    name: 'non-causal, GQA 4, many requests',
    geo: { numHeadsQ: 8, numHeadsKv: 2, headDim: 128, dtype: 'bf16', pageSize: 16, causal: false, maxNumSplits: 4 },
    batch: (r) => ({
      qLens: Array.from({ length: 300 }, () => 1),
      kLens: Array.from({ length: 300 }, () => r.int(0, 300)),
    }),
    numSplits: 4,
  },
  {
    name: 'decode with sinks, D 96, GQA 8, dynamic splits',
    geo: { numHeadsQ: 64, numHeadsKv: 8, headDim: 96, dtype: 'bf16', pageSize: 16, causal: true, maxNumSplits: 32 },
    batch: (r) => ({ qLens: new Array(5).fill(1), kLens: Array.from({ length: 5 }, () => r.int(0, 9000)) }),
    numSplits: 0,
    sinks: true,
  },
  {
    name: 'prefill + decode mix with sinks, D 192, fp16, forced splits',
    geo: { numHeadsQ: 16, numHeadsKv: 4, headDim: 192, dtype: 'fp16', pageSize: 64, causal: true, maxNumSplits: 8 },
    batch: (r) => ({ qLens: [130, 1, 3, 0, 1], kLens: [130, r.int(1, 3000), 2048, 0, 5] }),
    numSplits: 8,
    sinks: true,
  },
  {
    name: 'sliding window with sinks, D 64, one split (sink in the epilogue)',
    geo: {
      numHeadsQ: 8,
      numHeadsKv: 1,
      headDim: 64,
      dtype: 'bf16',
      pageSize: 16,
      causal: true,
      window: [128, 0],
      maxNumSplits: 1,
    },
    batch: (r) => ({
      qLens: Array.from({ length: 40 }, () => r.int(1, 2)),
      kLens: Array.from({ length: 40 }, () => r.int(2, 1500)),
    }),
    numSplits: 1,
    sinks: true,
  },
];

for (const c of cases) {
  test(`graph replay is bit-identical to eager: ${c.name}`, { skip }, () => {
    const r = new Rng(c.name.length * 7919);
    const b = c.batch(r);
    const opts = optionsFor(c.geo, b);
    const p = makeProblem(opts, b, r, 2);
    if (c.sinks) p.sinks = randomSinks(opts.numHeadsQ, r);
    using stream = Stream.create();
    using attn = createAttention(opts);
    using dev = new DeviceProblem(p);
    const args = stepArgs(p, dev, stream, c.numSplits);
    attn.schedule(args);
    attn.forward(args);
    stream.synchronize();
    const eager = readResult(dev, p);
    const fails = checkResult(p, eager.outBits, eager.lse);
    assert.equal(fails.length, 0, `eager: ${describeProblem(p)}\n    ${fails.join('\n    ')}`);
    const exec = captureGraph(stream, () => {
      attn.schedule(args);
      attn.forward(args);
    });
    try {
      for (let replay = 0; replay < 3; replay++) {
        dev.poison();
        exec.launch(stream);
        stream.synchronize();
        const g = readResult(dev, p);
        const dOut = firstDifference(g.outBits, eager.outBits);
        const dLse = firstDifference(g.lse, eager.lse);
        assert.equal(
          dOut,
          -1,
          `replay ${replay}: out element ${dOut} differs: graph bits 0x${g.outBits[dOut]?.toString(16)}, eager 0x${eager.outBits[dOut]?.toString(16)} (${describeProblem(p)})`,
        );
        assert.equal(
          dLse,
          -1,
          `replay ${replay}: lse element ${dLse} differs: graph ${g.lse[dLse]}, eager ${eager.lse[dLse]} (${describeProblem(p)})`,
        );
      }
    } finally {
      exec.dispose();
    }
  });
}

test('32 layers reuse one schedule in one graph: every layer correct, eager == graph, replays repeat', { skip }, () => {
  const LAYERS = 32;
  const r = new Rng(32);
  const geo = {
    numHeadsQ: 16,
    numHeadsKv: 4,
    headDim: 128 as const,
    dtype: 'bf16' as const,
    pageSize: 16,
    causal: true,
    maxNumSplits: 16,
  };
  const batch: Batch = { qLens: [1, 1, 3, 1, 1, 2, 1, 1], kLens: [900, 17, 1024, 1, 640, 300, 1000, 64] };
  const opts = optionsFor(geo, batch);
  using stream = Stream.create();
  using attn = createAttention(opts);
  const layers: { p: Problem; dev: DeviceProblem }[] = [];
  try {
    const first = makeProblem(opts, batch, r);
    layers.push({ p: first, dev: new DeviceProblem(first) });
    for (let l = 1; l < LAYERS; l++) {
      const p = makeProblem(opts, batch, r, 1 + (l % 3), first.pageTable);
      layers.push({ p, dev: new DeviceProblem(p) });
    }
    // Every layer uses layer 0's cuSeqlensQ / seqLens / pageTable: one schedule for all.
    const shared = layers[0]!.dev;
    const layerArgs = (l: number) => ({
      ...stepArgs(layers[l]!.p, layers[l]!.dev, stream, 0),
      cuSeqlensQ: shared.cuSeqlensQ,
      seqLens: shared.seqLens,
      pageTable: shared.pageTable,
    });
    const step = (a: Attention) => {
      a.schedule(layerArgs(0));
      for (let l = 0; l < LAYERS; l++) a.forward(layerArgs(l));
    };
    step(attn);
    stream.synchronize();
    const eager = layers.map(({ p, dev }) => readResult(dev, p));
    const failures: string[] = [];
    eager.forEach((e, l) => {
      const fails = checkResult(layers[l]!.p, e.outBits, e.lse);
      if (fails.length) failures.push(`eager layer ${l}:\n    ${fails.join('\n    ')}`);
    });
    const exec = captureGraph(stream, () => step(attn));
    try {
      for (let replay = 0; replay < 2; replay++) {
        for (const { dev } of layers) dev.poison();
        exec.launch(stream);
        stream.synchronize();
        layers.forEach(({ p, dev }, l) => {
          const g = readResult(dev, p);
          const d = firstDifference(g.outBits, eager[l]!.outBits);
          const dl = firstDifference(g.lse, eager[l]!.lse);
          if (d !== -1 || dl !== -1)
            failures.push(`replay ${replay} layer ${l}: differs from eager at out ${d}, lse ${dl}`);
        });
      }
    } finally {
      exec.dispose();
    }
    assert.equal(failures.length, 0, `${describeProblem(first)}\n${failures.join('\n')}`);
  } finally {
    for (const { dev } of layers) dev[Symbol.dispose]();
  }
});

test('sinks written between replays reach the captured forward (split and one-split steps)', { skip }, () => {
  const r = new Rng(4242);
  for (const numSplits of [0, 1]) {
    const geo = {
      numHeadsQ: 32,
      numHeadsKv: 4,
      headDim: 128 as const,
      dtype: 'bf16' as const,
      pageSize: 16,
      causal: true,
      maxNumSplits: 16,
    };
    const batch: Batch = { qLens: [1, 1, 2, 1], kLens: [4000, 33, 700, 0] };
    const opts = optionsFor(geo, batch);
    const p = makeProblem(opts, batch, r);
    p.sinks = randomSinks(opts.numHeadsQ, r);
    using stream = Stream.create();
    using attn = createAttention(opts);
    using dev = new DeviceProblem(p);
    const args = stepArgs(p, dev, stream, numSplits);
    const exec = captureGraph(stream, () => {
      attn.schedule(args);
      attn.forward(args);
    });
    try {
      for (let round = 0; round < 3; round++) {
        // New values in the same buffer (round 2: every sink off), then replay with no recapture.
        const sinks =
          round === 2
            ? new Float32Array(opts.numHeadsQ).fill(Number.NEGATIVE_INFINITY)
            : randomSinks(opts.numHeadsQ, r);
        const step: Problem = { ...p, sinks };
        dev.sinks!.write(sinks);
        dev.poison();
        exec.launch(stream);
        stream.synchronize();
        const g = readResult(dev, step);
        const fails = checkResult(step, g.outBits, g.lse);
        assert.equal(
          fails.length,
          0,
          `numSplits ${numSplits} round ${round}: ${describeProblem(step)}\n    ${fails.join('\n    ')}`,
        );
        dev.poison();
        attn.schedule(args);
        attn.forward(args);
        stream.synchronize();
        const e = readResult(dev, step);
        assert.equal(
          firstDifference(g.outBits, e.outBits),
          -1,
          `numSplits ${numSplits} round ${round}: graph out != eager`,
        );
        assert.equal(firstDifference(g.lse, e.lse), -1, `numSplits ${numSplits} round ${round}: graph lse != eager`);
      }
    } finally {
      exec.dispose();
    }
  }
});
