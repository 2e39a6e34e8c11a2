import { resolveGraphConfig } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createGraphRunnerWithBackend } from '../src/index.js';
import type { RunBatch, RunOutcome } from '../src/types.js';
import { RecordingBackend } from './helpers/recording-backend.js';
import { ALL_MODES, kernelName, makeRunner, type StepCall, segmentedStep } from './helpers/steps.js';

type Expected = Pick<RunOutcome, 'mode' | 'paddedTokens' | 'paddedReqs' | 'decodeGraph'>;
const eager = (b: RunBatch): Expected => ({
  mode: 'eager',
  paddedTokens: b.numTokens,
  paddedReqs: b.numReqs,
  decodeGraph: false,
});
const full = (paddedTokens: number, paddedReqs: number, decodeGraph: boolean): Expected => ({
  mode: 'full',
  paddedTokens,
  paddedReqs,
  decodeGraph,
});
const piecewise = (paddedTokens: number, paddedReqs: number): Expected => ({
  mode: 'piecewise',
  paddedTokens,
  paddedReqs,
  decodeGraph: false,
});

const mixed3: RunBatch = { numTokens: 3, numReqs: 2, uniformDecode: false };
const decode3: RunBatch = { numTokens: 3, numReqs: 3, uniformDecode: true };
const exact8: RunBatch = { numTokens: 8, numReqs: 1, uniformDecode: false };
const above: RunBatch = { numTokens: 17, numReqs: 4, uniformDecode: false };
const aboveDecode: RunBatch = { numTokens: 17, numReqs: 17, uniformDecode: true };

// Sizes 1, 2, 4, 8, 16; uniformDecodeQueryLen 1; no maxNumReqs.
const table: [string, RunBatch, Expected][] = [
  ['none', mixed3, eager(mixed3)],
  ['none', decode3, eager(decode3)],
  ['full', mixed3, full(4, 4, false)],
  ['full', decode3, full(4, 4, true)],
  ['full', exact8, full(8, 8, false)],
  ['full', above, eager(above)],
  ['full', aboveDecode, eager(aboveDecode)],
  ['full_decode_only', mixed3, eager(mixed3)],
  ['full_decode_only', decode3, full(4, 4, true)],
  ['full_decode_only', aboveDecode, eager(aboveDecode)],
  ['piecewise', mixed3, piecewise(4, 4)],
  ['piecewise', decode3, piecewise(4, 4)],
  ['piecewise', above, eager(above)],
  ['full_and_piecewise', mixed3, piecewise(4, 4)],
  ['full_and_piecewise', decode3, full(4, 4, true)],
  ['full_and_piecewise', exact8, piecewise(8, 8)],
  ['full_and_piecewise', above, eager(above)],
  ['full_and_piecewise', aboveDecode, eager(aboveDecode)],
];

describe('dispatch decisions', () => {
  test.each(table)('%s %o -> %o', (mode, batch, expected) => {
    const { runner } = makeRunner(mode as never);
    expect(runner.plan(batch)).toEqual(expected);
    runner.capture(segmentedStep());
    const outcome = runner.run(batch);
    expect(outcome).toEqual(expected);
    expect(Object.isFrozen(outcome)).toBe(true);
    expect(runner.plan(batch)).toEqual(expected);
  });

  test('maxNumReqs caps the padded request count of mixed batches', () => {
    const { runner } = makeRunner('full', { maxNumReqs: 4 });
    runner.capture(segmentedStep());
    expect(runner.run({ numTokens: 13, numReqs: 3, uniformDecode: false })).toEqual(full(16, 4, false));
    expect(() => runner.run({ numTokens: 13, numReqs: 5, uniformDecode: false })).toThrow(
      expect.objectContaining({
        code: 'out_of_range',
        path: 'batch.numReqs',
        allowed: 'integer in [1, 4] (numTokens and maxNumReqs)',
      }),
    );
  });

  test('replay outcomes are shared frozen objects; eager outcomes are fresh', () => {
    const { runner } = makeRunner('full_and_piecewise');
    runner.capture(segmentedStep());
    expect(runner.run(mixed3)).toBe(runner.run({ numTokens: 4, numReqs: 1, uniformDecode: false }));
    expect(runner.run(decode3)).not.toBe(runner.run(mixed3));
    expect(runner.run(above)).not.toBe(runner.run(above));
  });

  test('full: a uniform decode batch replays its decode graph, a mixed batch of the same size the mixed graph', () => {
    // Query length 2, so the two graphs of a size differ in their padded request count too.
    const backend = new RecordingBackend();
    const config = resolveGraphConfig(
      { mode: 'full', captureSizes: [2, 4, 8, 16, 32] },
      { maxNumSeqs: 8, maxNumBatchedTokens: 64, uniformDecodeQueryLen: 2 },
    );
    const runner = createGraphRunnerWithBackend({ config, backend, maxNumReqs: 8 });
    const calls: StepCall[] = [];
    const stats = runner.capture(segmentedStep(calls));
    // Uniform decode batches of 1..8 requests (2..16 tokens) reach sizes 2..16, not 32.
    expect(stats.sizes.map((s) => [s.size, s.graphs])).toEqual([
      [2, 2],
      [4, 2],
      [8, 2],
      [16, 2],
      [32, 1],
    ]);

    const decode = { numTokens: 6, numReqs: 3, uniformDecode: true };
    const mixed = { numTokens: 6, numReqs: 3, uniformDecode: false };
    expect(runner.plan(decode)).toEqual(full(8, 4, true));
    expect(runner.plan(mixed)).toEqual(full(8, 8, false));
    calls.length = 0;
    backend.calls.length = 0;
    backend.executed.length = 0;
    expect(runner.run(decode)).toBe(runner.plan(decode));
    expect(backend.count('launch')).toBe(1);
    expect(backend.executed).toEqual(
      ['pre', 'attn', 'post'].map((s) => kernelName(s, { numTokens: 8, numReqs: 4, uniformDecode: true })),
    );
    backend.executed.length = 0;
    expect(runner.run(mixed)).toBe(runner.plan(mixed));
    expect(backend.executed).toEqual(
      ['pre', 'attn', 'post'].map((s) => kernelName(s, { numTokens: 8, numReqs: 8, uniformDecode: false })),
    );
    expect(backend.count('launch')).toBe(2);
    // Nothing ran eagerly; both replays count as full replays of size 8.
    expect(calls).toEqual([]);
    expect(runner.stats().sizes.find((s) => s.size === 8)).toMatchObject({
      fullReplays: 2,
      decodeGraphReplays: 1,
      piecewiseReplays: 0,
      paddingTokens: 4,
    });
    // Above every decode-reachable size only the mixed graph exists.
    expect(runner.run({ numTokens: 20, numReqs: 2, uniformDecode: false })).toEqual(full(32, 8, false));
  });

  test('full replay launches exactly one graph; piecewise launches one per graph segment', () => {
    const { runner, backend } = makeRunner('full_and_piecewise');
    const calls: StepCall[] = [];
    runner.capture(segmentedStep(calls));
    calls.length = 0;
    backend.calls.length = 0;
    runner.run(decode3);
    expect(backend.count('launch')).toBe(1);
    expect(calls).toEqual([]);
    backend.calls.length = 0;
    runner.run(mixed3);
    expect(backend.count('launch')).toBe(2);
    // The eager segment runs between the graphs, with the padded size and the batch's uniformity.
    expect(calls).toEqual([{ segment: 'attn', phase: 'eager', numTokens: 4, numReqs: 4, uniformDecode: false }]);
  });

  test.each([
    [{ numTokens: 0, numReqs: 1, uniformDecode: false }, 'out_of_range', 'batch.numTokens'],
    [{ numTokens: 2.5, numReqs: 1, uniformDecode: false }, 'out_of_range', 'batch.numTokens'],
    [{ numTokens: 2 ** 53, numReqs: 1, uniformDecode: false }, 'out_of_range', 'batch.numTokens'],
    [{ numTokens: 65, numReqs: 1, uniformDecode: false }, 'out_of_range', 'batch.numTokens'],
    [{ numTokens: '4', numReqs: 1, uniformDecode: false }, 'invalid_type', 'batch.numTokens'],
    [{ numTokens: 4, numReqs: 0, uniformDecode: false }, 'out_of_range', 'batch.numReqs'],
    [{ numTokens: 4, numReqs: 5, uniformDecode: false }, 'out_of_range', 'batch.numReqs'],
    [{ numTokens: 4, numReqs: 2, uniformDecode: 'yes' }, 'invalid_type', 'batch.uniformDecode'],
    [{ numTokens: 4, numReqs: 2, uniformDecode: true }, 'invalid_value', 'batch.numTokens'],
    [null, 'invalid_type', 'batch'],
  ])('bad batch %o -> %s', (batch, code, path) => {
    const { runner, backend } = makeRunner('full');
    runner.capture(segmentedStep());
    backend.calls.length = 0;
    expect(() => runner.run(batch as never)).toThrow(InvalidArgumentError);
    expect(() => runner.run(batch as never)).toThrow(expect.objectContaining({ code, path }));
    expect(() => runner.plan(batch as never)).toThrow(expect.objectContaining({ code, path }));
    expect(backend.calls).toEqual([]);
  });
});

describe('replay does what the eager step would do at the padded size (property)', () => {
  const batchArb = fc
    .record({
      numTokens: fc.integer({ min: 1, max: 24 }),
      reqFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      uniformDecode: fc.boolean(),
    })
    .map(
      ({ numTokens, reqFraction, uniformDecode }): RunBatch => ({
        numTokens,
        numReqs: uniformDecode ? numTokens : 1 + Math.floor(reqFraction * (numTokens - 1)),
        uniformDecode,
      }),
    );

  for (const mode of ALL_MODES) {
    test(mode, () => {
      const { runner, backend } = makeRunner(mode);
      runner.capture(segmentedStep());
      const sizes = [1, 2, 4, 8, 16];
      let expectedPadding = 0;
      let expectedEager = 0;
      let expectedDecodeGraph = 0;
      fc.assert(
        fc.property(batchArb, (batch) => {
          backend.executed.length = 0;
          const outcome = runner.run(batch);
          expect(outcome).toEqual(runner.plan(batch));
          const padded = sizes.find((s) => s >= batch.numTokens);
          if (outcome.mode === 'eager') {
            expectedEager++;
            expect(outcome.decodeGraph).toBe(false);
            expect(backend.executed).toEqual(['pre', 'attn', 'post'].map((s) => kernelName(s, batch)));
            return;
          }
          expect(outcome.paddedTokens).toBe(padded);
          expect(outcome.paddedReqs).toBeGreaterThanOrEqual(batch.numReqs);
          expectedPadding += outcome.paddedTokens - batch.numTokens;
          const size = outcome.paddedTokens;
          if (outcome.mode === 'full') {
            // Every full mode has a decode graph for each size a uniform decode batch pads to.
            expect(outcome.decodeGraph).toBe(batch.uniformDecode);
            if (outcome.decodeGraph) expectedDecodeGraph++;
            const ctx = { numTokens: size, numReqs: outcome.paddedReqs, uniformDecode: outcome.decodeGraph };
            expect(backend.executed).toEqual(['pre', 'attn', 'post'].map((s) => kernelName(s, ctx)));
          } else {
            expect(outcome.decodeGraph).toBe(false);
            const graphCtx = { numTokens: size, numReqs: outcome.paddedReqs, uniformDecode: false };
            expect(backend.executed).toEqual([
              kernelName('pre', graphCtx),
              kernelName('attn', { ...graphCtx, uniformDecode: batch.uniformDecode }),
              kernelName('post', graphCtx),
            ]);
          }
        }),
        { numRuns: 300 },
      );
      const stats = runner.stats();
      expect(stats.eagerFallbacks).toBe(expectedEager);
      expect(stats.sizes.reduce((a, s) => a + s.paddingTokens, 0)).toBe(expectedPadding);
      expect(stats.sizes.reduce((a, s) => a + s.decodeGraphReplays, 0)).toBe(expectedDecodeGraph);
    });
  }
});
