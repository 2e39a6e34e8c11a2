import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { createHostMirror } from '../src/host-mirror.js';
import type { MetadataBatch, MetadataCapacities } from '../src/types.js';
import { type FakeMemory, fakeMemory, fakeStream, graphConfig, recordingAttention } from './support/fakes.js';
import { recompute } from './support/reference.js';

const caps: MetadataCapacities = { maxNumReqs: 12, maxNumTokens: 96, blockSize: 4, numBlocks: 64, maxBlocksPerReq: 10 };

/** A valid request: seqLen fits the row, enough blocks (plus possibly spare ones), ids in range. */
const request = fc
  .record({
    seqLen: fc.integer({ min: 0, max: caps.maxBlocksPerReq * caps.blockSize }),
    q: fc.integer({ min: 0, max: 12 }),
    spare: fc.nat(3),
  })
  .chain(({ seqLen, q, spare }) => {
    const numNewTokens = Math.min(q, seqLen);
    const needed = Math.ceil(seqLen / caps.blockSize);
    const length = Math.min(caps.maxBlocksPerReq, needed + spare);
    return fc.record({
      numNewTokens: fc.constant(numNewTokens),
      numComputedTokens: fc.constant(seqLen - numNewTokens),
      blockIds: fc.oneof(
        fc.array(fc.integer({ min: 0, max: caps.numBlocks - 1 }), { minLength: length, maxLength: length }),
        fc
          .array(fc.integer({ min: 0, max: caps.numBlocks - 1 }), { minLength: length, maxLength: length })
          .map((a) => Int32Array.from(a)),
      ),
    });
  });

/** A batch within the token capacity, with padding somewhere in [actual, capacity]. */
const step = fc
  .array(request, { maxLength: caps.maxNumReqs })
  .filter((requests) => requests.reduce((t, r) => t + r.numNewTokens, 0) <= caps.maxNumTokens)
  .chain((requests) => {
    const tokens = requests.reduce((t, r) => t + r.numNewTokens, 0);
    return fc.record({
      batch: fc.constant<MetadataBatch>({ requests }),
      padToTokens: fc.option(fc.integer({ min: tokens, max: caps.maxNumTokens }), { nil: undefined }),
      padToReqs: fc.option(fc.integer({ min: Math.max(1, requests.length), max: caps.maxNumReqs }), { nil: undefined }),
    });
  });

function expectMirror(
  actual: {
    queryStartLoc: Int32Array;
    seqLens: Int32Array;
    blockTable: Int32Array;
    slotMapping: Int32Array;
    positions: Int32Array;
  },
  batch: MetadataBatch,
) {
  const e = recompute(batch, caps);
  expect(actual.queryStartLoc).toEqual(e.queryStartLoc);
  expect(actual.seqLens).toEqual(e.seqLens);
  expect(actual.blockTable).toEqual(e.blockTable);
  expect(actual.slotMapping).toEqual(e.slotMapping);
  expect(actual.positions).toEqual(e.positions);
}

describe('property: the host mirror equals a straightforward recomputation', () => {
  it('after every step of random step sequences (stale tails included)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
        const mirror = createHostMirror(caps);
        for (const { batch, padToTokens, padToReqs } of steps) {
          const s = mirror.write(batch, { padToTokens, padToReqs });
          expectMirror(mirror, batch);
          const tokens = Array.from(batch.requests).reduce((t, r) => t + r.numNewTokens, 0);
          expect(s.numActualTokens).toBe(tokens);
          expect(s.numPaddedTokens).toBe(padToTokens ?? tokens);
          expect(s.numPaddedReqs).toBe(padToReqs ?? batch.requests.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('and the (simulated) device equals the mirror after every build, eager or replayed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(step, fc.boolean()), { minLength: 1, maxLength: 6 }), (steps) => {
        const attention = recordingAttention({
          maxNumReqs: 12,
          maxNumTokens: 96,
          pageSize: 4,
          numPages: 64,
          maxNumPagesPerReq: 10,
        });
        let memory: FakeMemory | undefined;
        const builder = createBuilderWithMemory({ ...caps, attention, graphConfig: graphConfig() }, (bytes) => {
          memory = fakeMemory(bytes);
          return memory;
        });
        const stream = fakeStream();
        // A "graph" captured from one build of the largest padding, replayed for staged steps.
        stream.capturing = true;
        builder.build({ requests: [] }, { stream, padToReqs: caps.maxNumReqs });
        stream.capturing = false;
        for (const [{ batch, padToTokens, padToReqs }, replay] of steps) {
          if (replay) {
            builder.stage(batch, { padToTokens, padToReqs: padToReqs ?? Math.max(1, batch.requests.length) });
            memory!.launch(stream);
          } else {
            builder.build(batch, { stream, padToTokens, padToReqs: padToReqs ?? Math.max(1, batch.requests.length) });
          }
          expectMirror(builder.host, batch);
          expect(memory!.deviceInt32).toEqual(builder.host.buffer);
        }
      }),
      { numRuns: 200 },
    );
  });
});
