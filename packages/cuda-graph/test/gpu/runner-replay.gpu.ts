// GPU tests of @flashgraph/cuda-graph: replay is bit-identical to eager (and to a CPU reference)
// over many random batches in every mode; all 51 default sizes for 256 sequences are captured;
// dispose returns graph memory; a failing capture leaves the stream usable.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { GraphMode } from '@flashgraph/config';
import { resolveGraphConfig } from '@flashgraph/config';
import { CudaError, cudaStatus, DeviceBuffer, deviceGraphMemory, kernels, memGetInfo, Stream } from '@flashgraph/cuda';
import {
  type CaptureProgress,
  createGraphRunner,
  GraphCaptureError,
  type SegmentedStep,
  type StepContext,
} from '@flashgraph/cuda-graph';

const status = cudaStatus();
const skip = status.available ? false : `no CUDA device: ${status.reason ?? 'unavailable'}`;

const MAX_NUM_SEQS = 256;
const CONTEXT = { maxNumSeqs: MAX_NUM_SEQS, maxNumBatchedTokens: 8192 };
const HIDDEN = 64; // floats per token
const MAX_TOKENS = 640; // above the max capture size (512), so eager fallbacks are exercised
const F32 = 4;

/** Deterministic PRNG, so a failure can be replayed from the seed printed with it. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Buffers {
  x: DeviceBuffer;
  w1: DeviceBuffer;
  w2: DeviceBuffer;
  t1: DeviceBuffer;
  t2: DeviceBuffer;
  t3: DeviceBuffer;
  out: DeviceBuffer;
  reqMask: DeviceBuffer;
  all: DeviceBuffer[];
}

function allocBuffers(): Buffers {
  const bytes = MAX_TOKENS * HIDDEN * F32;
  const make = () => DeviceBuffer.alloc(bytes);
  const b = {
    x: make(),
    w1: make(),
    w2: make(),
    t1: make(),
    t2: make(),
    t3: make(),
    out: make(),
    reqMask: DeviceBuffer.alloc(MAX_TOKENS * 4),
  };
  return { ...b, all: Object.values(b) };
}

/**
 * A model-like step written once as segments: graph (two adds and a per-request fill, like
 * metadata), eager (an "attention" add), graph (an add and a copy). Every kernel covers
 * ctx.numTokens rows, so padded replays touch the padding rows too.
 */
function makeStep(b: Buffers, stream: Stream): SegmentedStep {
  return {
    segments: [
      {
        kind: 'graph',
        run(ctx: StepContext) {
          const n = ctx.numTokens * HIDDEN;
          kernels.addFloat32(b.x, b.w1, b.t1, n, stream);
          kernels.addFloat32(b.t1, b.w2, b.t2, n, stream);
          kernels.fillInt32(b.reqMask, 1, ctx.numReqs, stream);
        },
      },
      {
        kind: 'eager',
        run(ctx: StepContext) {
          kernels.addFloat32(b.t2, b.t2, b.t3, ctx.numTokens * HIDDEN, stream);
        },
      },
      {
        kind: 'graph',
        run(ctx: StepContext) {
          const n = ctx.numTokens * HIDDEN;
          kernels.addFloat32(b.t3, b.t1, b.t2, n, stream);
          kernels.copyBytes(b.out, b.t2, n * F32, stream);
        },
      },
    ],
  };
}

/** fp32 CPU mirror of the step; Float32Array stores round exactly like the GPU's fp32 adds. */
function reference(x: Float32Array, w1: Float32Array, w2: Float32Array, count: number): Float32Array {
  const t1 = new Float32Array(count);
  const t2 = new Float32Array(count);
  const t3 = new Float32Array(count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    t1[i] = x[i]! + w1[i]!;
    t2[i] = t1[i]! + w2[i]!;
    t3[i] = t2[i]! + t2[i]!;
    out[i] = t3[i]! + t1[i]!;
  }
  return out;
}

function randomFloats(next: () => number, count: number): Float32Array {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = (next() - 0.5) * 8;
  return a;
}

function firstMismatch(a: Float32Array, b: Float32Array, count: number): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, count);
  const ub = new Uint32Array(b.buffer, b.byteOffset, count);
  for (let i = 0; i < count; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function withSetup(fn: (stream: Stream, b: Buffers) => void): void {
  const stream = Stream.create();
  const b = allocBuffers();
  try {
    const next = rng(7);
    b.w1.write(randomFloats(next, MAX_TOKENS * HIDDEN), { stream });
    b.w2.write(randomFloats(next, MAX_TOKENS * HIDDEN), { stream });
    stream.synchronize();
    fn(stream, b);
  } finally {
    stream.synchronize();
    for (const buf of b.all) buf.dispose();
    stream.dispose();
  }
}

const MODES: GraphMode[] = ['full', 'full_decode_only', 'piecewise', 'full_and_piecewise'];
const BATCHES_PER_MODE = 300;

for (const mode of MODES) {
  test(`${mode}: replay is bit-identical to eager and to the CPU reference over ${BATCHES_PER_MODE} random batches`, {
    skip,
  }, () => {
    withSetup((stream, b) => {
      const config = resolveGraphConfig({ mode }, CONTEXT);
      const runner = createGraphRunner({ config, stream, maxNumReqs: MAX_NUM_SEQS });
      const step = makeStep(b, stream);
      try {
        runner.capture(step);
        const seed = 1000 + MODES.indexOf(mode);
        const next = rng(seed);
        const w1 = new Float32Array(MAX_TOKENS * HIDDEN);
        const w2 = new Float32Array(MAX_TOKENS * HIDDEN);
        b.w1.read(w1, { stream });
        b.w2.read(w2, { stream });
        const seen = { full: 0, piecewise: 0, eager: 0 };
        const replayOut = new Float32Array(MAX_TOKENS * HIDDEN);
        const eagerOut = new Float32Array(MAX_TOKENS * HIDDEN);
        const mask = new Int32Array(MAX_TOKENS);
        for (let iter = 0; iter < BATCHES_PER_MODE; iter++) {
          const uniformDecode = next() < 0.4;
          const numTokens = uniformDecode ? 1 + Math.floor(next() * MAX_NUM_SEQS) : 1 + Math.floor(next() * MAX_TOKENS);
          const numReqs = uniformDecode ? numTokens : 1 + Math.floor(next() * Math.min(numTokens, MAX_NUM_SEQS));
          const count = numTokens * HIDDEN;
          // Fresh inputs everywhere (padding rows hold garbage too); poisoned outputs.
          const x = randomFloats(next, MAX_TOKENS * HIDDEN);
          b.x.write(x, { stream });
          b.out.fill(0xff, { stream });
          b.reqMask.fill(0, { stream });
          const outcome = runner.run({ numTokens, numReqs, uniformDecode });
          seen[outcome.mode]++;
          b.out.read(replayOut, { stream });
          b.reqMask.read(mask, { stream });
          stream.synchronize();
          const expected = reference(x, w1, w2, count);
          const at = firstMismatch(replayOut, expected, count);
          assert.equal(
            at,
            -1,
            `seed ${seed} iter ${iter}: ${outcome.mode} run of ${numTokens} tokens differs from the CPU reference at ${at}`,
          );
          // The graph's metadata covers the padded request count.
          for (let r = 0; r < outcome.paddedReqs; r++)
            assert.equal(mask[r], 1, `request ${r} of ${outcome.paddedReqs} not covered`);
          assert.ok(outcome.paddedReqs >= numReqs);

          // The same step run eagerly, unpadded.
          b.out.fill(0xff, { stream });
          const ctx = Object.freeze({
            stream,
            numTokens,
            numReqs,
            uniformDecode,
            phase: 'eager' as const,
            graph: 'eager' as const,
            decodeGraph: false,
          });
          for (const segment of step.segments) segment.run(ctx);
          b.out.read(eagerOut, { stream });
          stream.synchronize();
          assert.equal(
            firstMismatch(replayOut, eagerOut, count),
            -1,
            `seed ${seed} iter ${iter}: replay differs from eager`,
          );
        }
        const stats = runner.stats();
        console.log(
          `${mode}: ${JSON.stringify(seen)}, graphs ${stats.graphs}, capture ${stats.captureMs.toFixed(1)} ms`,
        );
        assert.ok(seen.eager > 0, 'some batches ran eagerly');
        if (mode !== 'full_decode_only') assert.ok(seen.full + seen.piecewise > BATCHES_PER_MODE / 2);
        else assert.ok(seen.full > 0);
        assert.equal(stats.replays, seen.full + seen.piecewise);
        assert.equal(stats.eagerFallbacks, seen.eager);
      } finally {
        runner.dispose();
      }
    });
  });
}

test('all 51 default sizes for 256 sequences are captured, largest first', { skip }, () => {
  withSetup((stream, b) => {
    const config = resolveGraphConfig({ mode: 'full' }, CONTEXT);
    assert.equal(config.captureSizes.length, 51);
    const events: CaptureProgress[] = [];
    const runner = createGraphRunner({ config, stream, maxNumReqs: MAX_NUM_SEQS, onProgress: (e) => events.push(e) });
    try {
      const stats = runner.capture(makeStep(b, stream));
      assert.equal(stats.sizes.length, 51);
      // A mixed full graph per size, plus a uniform decode one for the 35 sizes <= 256 (the sizes a
      // decode batch of up to 256 requests pads to).
      const decodeReachable = config.captureSizes.filter((s) => s <= MAX_NUM_SEQS).length;
      assert.equal(decodeReachable, 35);
      assert.equal(stats.graphs, 51 + decodeReachable);
      assert.deepEqual(
        stats.sizes.map((s) => s.size),
        [...config.captureSizes],
      );
      const done = events.filter((e) => e.phase === 'done');
      assert.deepEqual(
        done.map((e) => e.size),
        [...config.captureSizes].reverse(),
      );
      assert.ok(done.every((e, i) => e.index === i && e.total === 51));
      console.log(`captured 51 sizes in ${stats.captureMs.toFixed(1)} ms`);
    } finally {
      runner.dispose();
    }
  });
});

test('dispose returns graph memory to its start, and capture/dispose cycles do not leak', { skip }, () => {
  withSetup((stream, b) => {
    const config = resolveGraphConfig({ mode: 'full_and_piecewise' }, CONTEXT);
    const start = deviceGraphMemory(stream.device);
    const freeAfter: number[] = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const runner = createGraphRunner({ config, stream, maxNumReqs: MAX_NUM_SEQS });
      runner.capture(makeStep(b, stream));
      runner.run({ numTokens: 5, numReqs: 5, uniformDecode: true });
      runner.run({ numTokens: 100, numReqs: 3, uniformDecode: false });
      stream.synchronize();
      runner.dispose();
      stream.synchronize();
      assert.equal(deviceGraphMemory(stream.device).usedBytes, start.usedBytes);
      freeAfter.push(memGetInfo(stream.device).freeBytes);
    }
    console.log(`free bytes after each cycle: ${freeAfter.join(', ')}`);
    // The driver may cache memory once; after that, a cycle must not lose memory.
    assert.ok(
      freeAfter[2]! >= freeAfter[1]! - 2 * 1024 * 1024,
      `lost ${freeAfter[1]! - freeAfter[2]!} bytes in a cycle`,
    );
  });
});

function expectStreamUsable(stream: Stream, b: Buffers): void {
  assert.equal(stream.isCapturing(), false);
  const got = new Int32Array(16);
  kernels.fillInt32(b.reqMask, 42, 16, stream);
  b.reqMask.read(got, { stream });
  stream.synchronize();
  assert.deepEqual([...got], new Array(16).fill(42));
}

test('a capture that synchronizes fails cleanly, naming size, phase and cause; the stream stays usable', {
  skip,
}, () => {
  withSetup((stream, b) => {
    const config = resolveGraphConfig({ mode: 'full' }, CONTEXT);
    const start = deviceGraphMemory(stream.device);
    const runner = createGraphRunner({ config, stream, maxNumReqs: MAX_NUM_SEQS });
    const good = makeStep(b, stream);
    try {
      assert.throws(
        () =>
          runner.capture((ctx: StepContext) => {
            for (const segment of good.segments) segment.run(ctx);
            if (ctx.phase === 'capture' && ctx.numTokens === 64) ctx.stream.synchronize();
          }),
        (error: unknown) => {
          assert.ok(error instanceof GraphCaptureError, String(error));
          assert.equal(error.size, 64);
          assert.equal(error.phase, 'capture');
          assert.ok(error.cause instanceof CudaError, `cause: ${String(error.cause)}`);
          assert.match(error.message, /size 64 failed during capture/);
          return true;
        },
      );
      expectStreamUsable(stream, b);
      assert.equal(runner.stats().graphs, 0);
      assert.equal(deviceGraphMemory(stream.device).usedBytes, start.usedBytes);
      // The runner captures again once the step is fixed.
      runner.capture(good);
      assert.equal(runner.run({ numTokens: 60, numReqs: 2, uniformDecode: false }).mode, 'full');
      stream.synchronize();
    } finally {
      runner.dispose();
    }
  });
});

test('a capture that allocates or throws fails cleanly; the stream stays usable', { skip }, () => {
  withSetup((stream, b) => {
    const config = resolveGraphConfig({ mode: 'piecewise', numWarmups: 0 }, CONTEXT);
    const runner = createGraphRunner({ config, stream, maxNumReqs: MAX_NUM_SEQS });
    const good = makeStep(b, stream);
    const leaked: DeviceBuffer[] = [];
    try {
      assert.throws(
        () =>
          runner.capture({
            segments: [
              good.segments[0]!,
              good.segments[1]!,
              {
                kind: 'graph',
                run(ctx: StepContext) {
                  good.segments[2]!.run(ctx);
                  if (ctx.numTokens === 128) leaked.push(DeviceBuffer.alloc(1 << 20));
                },
              },
            ],
          }),
        (error: unknown) =>
          error instanceof GraphCaptureError && error.size === 128 && error.phase === 'capture' && error.segment === 2,
      );
      expectStreamUsable(stream, b);
      const boom = new Error('boom');
      assert.throws(
        () =>
          runner.capture({
            segments: [
              {
                kind: 'graph',
                run(ctx: StepContext) {
                  good.segments[0]!.run(ctx);
                  if (ctx.numTokens === 8) throw boom;
                },
              },
            ],
          }),
        (error: unknown) => error instanceof GraphCaptureError && error.cause === boom && error.size === 8,
      );
      expectStreamUsable(stream, b);
      assert.equal(runner.stats().graphs, 0);
    } finally {
      for (const buf of leaked) buf.dispose();
      runner.dispose();
    }
  });
});
