import { planSplits } from '@flashgraph/fa3';
import { expect, it, describe as suite } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { describe } from '../src/describe.js';
import { MetadataError } from '../src/errors.js';
import { fakeMemory, fakeStream, graphConfig, recordingAttention } from './support/fakes.js';

const caps = { maxNumReqs: 8, maxNumTokens: 64, blockSize: 16, numBlocks: 512, maxBlocksPerReq: 64 };

function setup() {
  const attention = recordingAttention({ maxNumReqs: 8, maxNumTokens: 64, numPages: 512, maxNumPagesPerReq: 64 });
  const builder = createBuilderWithMemory(
    { ...caps, attention, graphConfig: graphConfig({ maxNumSplits: 16 }) },
    fakeMemory,
  );
  return { builder, attention, stream: fakeStream() };
}

const ids = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);

suite('describe(metadata)', () => {
  it('reports counts, padding waste and the splits planSplits gives each request', () => {
    const { builder, stream } = setup();
    const batch = {
      requests: [
        { numNewTokens: 1, numComputedTokens: 1000, blockIds: ids(63, 0) },
        { numNewTokens: 1, numComputedTokens: 10, blockIds: ids(1, 100) },
        { numNewTokens: 1, numComputedTokens: 500, blockIds: ids(32, 200) },
      ],
    };
    const m = builder.build(batch, { stream, padToTokens: 4, padToReqs: 4 });
    const d = describe(m);
    expect(d).toMatchObject({
      numReqs: 3,
      numPaddedReqs: 4,
      numActualTokens: 3,
      numPaddedTokens: 4,
      paddingTokens: 1,
      paddingFraction: 0.25,
      paddingReqs: 1,
      maxQueryLen: 1,
      maxSeqLen: 1001,
      uniformDecode: true,
      fullGraph: true,
      numSplits: 16,
    });
    expect(d.copyBytes).toBe((builder.layout.blockTableOffset + 4 * 64) * 4);
    const plan = planSplits({
      cuSeqlensQ: Int32Array.of(0, 1, 2, 3, 3),
      seqLens: Int32Array.of(1001, 11, 501, 0),
      numReqs: 4,
      numHeadsQ: 32,
      numHeadsKv: 8,
      headDim: 128,
      maxNumSplits: 32,
      numSplits: 16,
      maxSeqlenQ: 4,
      maxSeqlenK: 1024,
      smCount: 132,
    });
    expect(d.numSplitsBound).toBe(16);
    expect(d.splitsPerRequest).toEqual(Array.from(plan.splits.subarray(0, 3)));
    expect(d.totalTiles).toBe(plan.totalTiles);
    expect(d.splitsPerRequest[0]).toBeGreaterThan(1); // the long request is split
    expect(JSON.parse(JSON.stringify(d))).toEqual(d); // plain data
  });

  it('eager steps report the heuristic bound', () => {
    const { builder, stream } = setup();
    const m = builder.build(
      { requests: [{ numNewTokens: 3, numComputedTokens: 0, blockIds: [1] }] },
      { stream, padToTokens: 5 },
    );
    const d = describe(m);
    expect(d.fullGraph).toBe(false);
    expect(d.numSplits).toBe(0);
    expect(d.numSplitsBound).toBeGreaterThanOrEqual(1);
    expect(d.splitsPerRequest).toEqual([1]);
  });

  it('rejects metadata it cannot describe', () => {
    const { builder, stream } = setup();
    const first = builder.build({ requests: [{ numNewTokens: 1, numComputedTokens: 0, blockIds: [1] }] }, { stream });
    builder.stage({ requests: [{ numNewTokens: 1, numComputedTokens: 0, blockIds: [2] }] });
    expect(() => describe(first)).toThrow(MetadataError);
    expect(() => describe(first)).toThrow(/stale|overwritten/);
    expect(() => describe({} as never)).toThrow(/unknown metadata/);
  });
});
