// The host metadata builder: the same fields as the CUDA builder for every batch (one rule, two
// memories), its metadata accepted by describe / forwardArgs / scheduleArgs, and the runner's plan
// turned into step options.
import { resolveGraphConfig } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { describe as describeMetadata } from '../src/describe.js';
import { forwardArgs, scheduleArgs } from '../src/forward-args.js';
import { createHostMetadataBuilder } from '../src/host-metadata-builder.js';
import { stepOptionsFromPlan } from '../src/step-options-from-plan.js';
import type { AttentionMetadata, MetadataCapacities } from '../src/types.js';
import { fakeMemory, fakeStream, graphConfig, recordingAttention } from './support/fakes.js';

const caps: MetadataCapacities = { maxNumReqs: 8, maxNumTokens: 64, blockSize: 4, numBlocks: 64, maxBlocksPerReq: 16 };
const attentionOptions = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128,
  pageSize: 4,
  numPages: 64,
  maxNumReqs: 8,
  maxNumTokens: 64,
  maxNumPagesPerReq: 16,
  maxNumSplits: 32,
};

/** Every field of the metadata but the buffers (which live in different memories). */
function fieldsOf(m: AttentionMetadata<unknown>): Record<string, unknown> {
  const { queryStartLoc: _q, seqLens: _s, blockTable: _b, slotMapping: _sl, positions: _p, ...rest } = m;
  return rest;
}

const request = fc
  .record({ seqLen: fc.integer({ min: 1, max: 64 }), q: fc.integer({ min: 1, max: 4 }) })
  .map(({ seqLen, q }) => {
    const numNewTokens = Math.min(q, seqLen);
    const blocks = Math.ceil(seqLen / caps.blockSize);
    return {
      numNewTokens,
      numComputedTokens: seqLen - numNewTokens,
      blockIds: Array.from({ length: blocks }, (_, j) => (j * 7) % caps.numBlocks),
    };
  });

describe('createHostMetadataBuilder', () => {
  it('returns the fields the CUDA builder returns, for random batches and paddings, in every graph mode', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          graphConfig(),
          graphConfig({ fullGraphsFor: 'uniform_decode' }),
          graphConfig({ hasFullGraphs: false, fullGraphsFor: 'none' }),
          graphConfig({ uniformDecodeQueryLen: 2, fullGraphsFor: 'uniform_decode' }),
        ),
        fc.array(fc.array(request, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (config, steps, padded) => {
          const host = createHostMetadataBuilder({
            ...caps,
            graphConfig: config,
            attention: { options: attentionOptions },
          });
          const cuda = createBuilderWithMemory(
            { ...caps, graphConfig: config, attention: recordingAttention(attentionOptions) },
            fakeMemory,
          );
          const stream = fakeStream();
          for (const requests of steps) {
            const tokens = requests.reduce((t, r) => t + r.numNewTokens, 0);
            if (tokens > caps.maxNumTokens) continue;
            const options = padded ? { padToTokens: Math.min(caps.maxNumTokens, tokens + 3), padToReqs: 8 } : {};
            const h = host.stage({ requests }, options);
            const c = cuda.build({ requests }, { stream, ...options });
            expect(fieldsOf(h)).toEqual(fieldsOf(c));
            expect(host.host.buffer).toEqual(cuda.host.buffer);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('exposes the split request, the full-graph flag, padded counts and the arrays over plain Int32Arrays', () => {
    const config = resolveGraphConfig(
      { mode: 'full', captureSizes: [1, 2, 4, 8], maxNumSplits: 16 },
      { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
    );
    const host = createHostMetadataBuilder({ ...caps, graphConfig: config });
    const m = host.stage(
      { requests: [{ numNewTokens: 1, numComputedTokens: 9, blockIds: [3, 4, 5] }] },
      { padToTokens: 2, padToReqs: 2, decodeGraph: false },
    );
    expect(m).toMatchObject({
      numReqs: 1,
      numPaddedReqs: 2,
      numPaddedTokens: 2,
      fullGraph: true,
      numSplits: 16,
      // A mixed full graph (mode full, no decodeGraph) may replay any batch of 2 tokens.
      maxSeqlenQ: 2,
      maxSeqlenK: caps.maxBlocksPerReq * caps.blockSize,
      uniformDecode: true,
    });
    expect(m.queryStartLoc).toBeInstanceOf(Int32Array);
    expect(Array.from(m.queryStartLoc.subarray(0, 3))).toEqual([0, 1, 1]);
    expect(Array.from(m.seqLens.subarray(0, 2))).toEqual([10, 0]);
    expect(Array.from(m.slotMapping.subarray(0, 2))).toEqual([5 * 4 + 1, -1]);
    expect(Object.isFrozen(m)).toBe(true);
  });

  it('its metadata goes through forwardArgs, scheduleArgs and describe', () => {
    const host = createHostMetadataBuilder({
      ...caps,
      graphConfig: graphConfig(),
      attention: { options: attentionOptions, smCount: 132 },
    });
    const m = host.stage({ requests: [{ numNewTokens: 2, numComputedTokens: 6, blockIds: [1, 2] }] });
    const f = forwardArgs(m, { stream: 's', q: 'q', kCache: 'k', vCache: 'v', out: 'o' });
    expect(f).toMatchObject({
      cuSeqlensQ: m.queryStartLoc,
      pageTable: m.blockTable,
      numReqs: 1,
      numSplits: m.numSplits,
    });
    expect(scheduleArgs(m, 's')).toMatchObject({ seqLens: m.seqLens, maxSeqlenK: m.maxSeqlenK });
    expect(describeMetadata(m)).toMatchObject({ numReqs: 1, numActualTokens: 2, copyBytes: 0, splitsPerRequest: [1] });
  });

  it('describe says what is missing when the host builder knows no attention', () => {
    const host = createHostMetadataBuilder({ ...caps, graphConfig: graphConfig() });
    const m = host.stage({ requests: [{ numNewTokens: 1, numComputedTokens: 0, blockIds: [1] }] });
    expect(() => describeMetadata(m)).toThrow(expect.objectContaining({ code: 'invalid_metadata' }));
  });

  it('checks the capacities against the attention shape when given', () => {
    expect(() =>
      createHostMetadataBuilder({
        ...caps,
        graphConfig: graphConfig(),
        attention: { options: { ...attentionOptions, maxNumPagesPerReq: 32 } },
      }),
    ).toThrow(expect.objectContaining({ code: 'capacity_mismatch', path: 'options.maxBlocksPerReq' }));
  });

  it('reads uniformDecodeQueryLen from the graph config', () => {
    const host = createHostMetadataBuilder({ ...caps, graphConfig: graphConfig({ uniformDecodeQueryLen: 2 }) });
    const two = { numNewTokens: 2, numComputedTokens: 2, blockIds: [1] };
    expect(host.stage({ requests: [two, two] }).uniformDecode).toBe(true);
    expect(host.stage({ requests: [{ ...two, numNewTokens: 1 }] }).uniformDecode).toBe(false);
  });
});

describe('stepOptionsFromPlan', () => {
  it('turns a runner plan into the step options, checked', () => {
    expect(stepOptionsFromPlan({ mode: 'full', paddedTokens: 8, paddedReqs: 8, decodeGraph: true })).toEqual({
      padToTokens: 8,
      padToReqs: 8,
      decodeGraph: true,
    });
    expect(() => stepOptionsFromPlan({ mode: 'full', paddedTokens: -1, paddedReqs: 8, decodeGraph: true })).toThrow(
      expect.objectContaining({ code: 'out_of_range', path: 'plan.paddedTokens' }),
    );
    expect(() => stepOptionsFromPlan(null as never)).toThrow(InvalidArgumentError);
  });

  it('a plan staged on a host builder gives the metadata of the graph it replays', () => {
    const config = resolveGraphConfig(
      { mode: 'full_decode_only', captureSizes: [1, 2, 4, 8], maxNumSplits: 16 },
      { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
    );
    const host = createHostMetadataBuilder({ ...caps, graphConfig: config });
    const plan = { mode: 'full', paddedTokens: 4, paddedReqs: 4, decodeGraph: true } as const;
    const m = host.stage(
      { requests: [1, 2, 3].map((b) => ({ numNewTokens: 1, numComputedTokens: 3, blockIds: [b] })) },
      stepOptionsFromPlan(plan),
    );
    expect(m).toMatchObject({ fullGraph: true, numPaddedTokens: 4, numPaddedReqs: 4, maxSeqlenQ: 1, numSplits: 16 });
  });
});
