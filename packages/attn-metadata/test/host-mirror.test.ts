import { describe, expect, it } from 'vitest';
import { createHostMirror } from '../src/host-mirror.js';
import type { MetadataBatch } from '../src/types.js';
import { recompute } from './support/reference.js';

const caps = { maxNumReqs: 8, maxNumTokens: 64, blockSize: 4, numBlocks: 100, maxBlocksPerReq: 6 };

function expectMatches(mirror: ReturnType<typeof createHostMirror>, batch: MetadataBatch) {
  const e = recompute(batch, caps);
  expect(Array.from(mirror.queryStartLoc)).toEqual(Array.from(e.queryStartLoc));
  expect(Array.from(mirror.seqLens)).toEqual(Array.from(e.seqLens));
  expect(Array.from(mirror.blockTable)).toEqual(Array.from(e.blockTable));
  expect(Array.from(mirror.slotMapping)).toEqual(Array.from(e.slotMapping));
  expect(Array.from(mirror.positions)).toEqual(Array.from(e.positions));
}

describe('host mirror: slot mapping and positions', () => {
  it('maps each new token through the block table (slot = block * blockSize + pos % blockSize)', () => {
    const mirror = createHostMirror(caps);
    // context 5 + 6 new tokens: positions 5..10, crossing from block index 1 into 2.
    const step = mirror.write({ requests: [{ numNewTokens: 6, numComputedTokens: 5, blockIds: [7, 3, 42] }] });
    expect(Array.from(mirror.positions.subarray(0, 6))).toEqual([5, 6, 7, 8, 9, 10]);
    expect(Array.from(mirror.slotMapping.subarray(0, 6))).toEqual([
      3 * 4 + 1,
      3 * 4 + 2,
      3 * 4 + 3,
      42 * 4 + 0,
      42 * 4 + 1,
      42 * 4 + 2,
    ]);
    expect(Array.from(mirror.queryStartLoc.subarray(0, 2))).toEqual([0, 6]);
    expect(mirror.seqLens[0]).toBe(11);
    expect(step).toEqual({
      numReqs: 1,
      numActualTokens: 6,
      numPaddedReqs: 1,
      numPaddedTokens: 6,
      maxQueryLen: 6,
      maxSeqLen: 11,
      uniformDecode: false,
    });
  });

  it('handles a prefill from position 0, a decode at a block boundary, and a zero-token request', () => {
    const mirror = createHostMirror(caps);
    const batch: MetadataBatch = {
      requests: [
        { numNewTokens: 9, numComputedTokens: 0, blockIds: [1, 2, 3] },
        { numNewTokens: 1, numComputedTokens: 8, blockIds: Int32Array.of(10, 11, 12) },
        { numNewTokens: 0, numComputedTokens: 3, blockIds: [50] },
        { numNewTokens: 1, numComputedTokens: 3, blockIds: [60] },
      ],
    };
    const step = mirror.write(batch);
    expectMatches(mirror, batch);
    expect(Array.from(mirror.queryStartLoc.subarray(0, 5))).toEqual([0, 9, 10, 10, 11]);
    expect(mirror.slotMapping[9]).toBe(12 * 4); // position 8 is the first slot of block index 2
    expect(mirror.slotMapping[10]).toBe(60 * 4 + 3);
    expect(step.maxQueryLen).toBe(9);
    expect(step.maxSeqLen).toBe(9);
  });

  it('accepts a sequence that fills maxBlocksPerReq x blockSize exactly', () => {
    const mirror = createHostMirror(caps);
    const batch = { requests: [{ numNewTokens: 24, numComputedTokens: 0, blockIds: [0, 1, 2, 3, 4, 99] }] };
    mirror.write(batch);
    expectMatches(mirror, batch);
    expect(mirror.slotMapping[23]).toBe(99 * 4 + 3);
  });
});

describe('host mirror: padding and tails', () => {
  it('pads tokens with slot -1 / position 0 and requests with zero length; queryStartLoc repeats its last value', () => {
    const mirror = createHostMirror(caps);
    const step = mirror.write(
      {
        requests: [
          { numNewTokens: 1, numComputedTokens: 4, blockIds: [5, 6] },
          { numNewTokens: 1, numComputedTokens: 0, blockIds: [9] },
        ],
      },
      { padToTokens: 4, padToReqs: 4 },
    );
    expect(step.numPaddedTokens).toBe(4);
    expect(step.numPaddedReqs).toBe(4);
    expect(Array.from(mirror.slotMapping.subarray(0, 4))).toEqual([24, 36, -1, -1]);
    expect(Array.from(mirror.positions.subarray(0, 4))).toEqual([4, 0, 0, 0]);
    expect(Array.from(mirror.queryStartLoc)).toEqual([0, 1, 2, 2, 2, 2, 2, 2, 2]);
    expect(Array.from(mirror.seqLens)).toEqual([5, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('starts fully neutral', () => {
    const mirror = createHostMirror(caps);
    expect(mirror.queryStartLoc.every((v) => v === 0)).toBe(true);
    expect(mirror.seqLens.every((v) => v === 0)).toBe(true);
    expect(mirror.blockTable.every((v) => v === -1)).toBe(true);
    expect(mirror.slotMapping.every((v) => v === -1)).toBe(true);
    expect(mirror.positions.every((v) => v === 0)).toBe(true);
  });

  it('leaves no stale entry when a small batch follows a large one', () => {
    const mirror = createHostMirror(caps);
    const big: MetadataBatch = {
      requests: Array.from({ length: 8 }, (_, i) => ({
        numNewTokens: 7,
        numComputedTokens: 10,
        blockIds: [i, i + 10, i + 20, i + 30, i + 40, i + 50],
      })),
    };
    mirror.write(big, { padToTokens: 64 });
    expectMatches(mirror, big);
    const small: MetadataBatch = { requests: [{ numNewTokens: 1, numComputedTokens: 2, blockIds: [77] }] };
    mirror.write(small, { padToTokens: 2, padToReqs: 2 });
    expectMatches(mirror, small);
    const empty: MetadataBatch = { requests: [] };
    mirror.write(empty);
    expectMatches(mirror, empty);
  });

  it('clears the stale end of a row that got shorter', () => {
    const mirror = createHostMirror(caps);
    mirror.write({ requests: [{ numNewTokens: 1, numComputedTokens: 0, blockIds: [1, 2, 3, 4, 5, 6] }] });
    const batch = { requests: [{ numNewTokens: 1, numComputedTokens: 0, blockIds: [8] }] };
    mirror.write(batch);
    expect(Array.from(mirror.blockTable.subarray(0, 6))).toEqual([8, -1, -1, -1, -1, -1]);
    expectMatches(mirror, batch);
  });

  it('writes into caller storage at the layout offsets', () => {
    const storage = new Int32Array(4096).fill(12345);
    const mirror = createHostMirror(caps, storage);
    expect(mirror.buffer.buffer).toBe(storage.buffer);
    mirror.write({ requests: [{ numNewTokens: 2, numComputedTokens: 0, blockIds: [3] }] });
    expect(storage[mirror.layout.slotMappingOffset]).toBe(12);
    expect(storage[mirror.layout.blockTableOffset]).toBe(3);
    expect(storage[mirror.layout.totalElements]).toBe(12345); // past the layout: untouched
  });
});

describe('host mirror: uniform decode detection', () => {
  const req = (q: number) => ({ numNewTokens: q, numComputedTokens: 5, blockIds: [1, 2, 3] });
  it.each([
    { name: 'all single-token decodes', lens: [1, 1, 1], qLen: 1, uniform: true },
    { name: 'one prefill among decodes', lens: [1, 4, 1], qLen: 1, uniform: false },
    { name: 'a zero-token request', lens: [1, 0], qLen: 1, uniform: false },
    { name: 'no requests', lens: [], qLen: 1, uniform: false },
    { name: 'speculative decode, query length 3', lens: [3, 3], qLen: 3, uniform: true },
    { name: 'single tokens when the uniform length is 3', lens: [1, 1], qLen: 3, uniform: false },
  ])('$name -> $uniform', ({ lens, qLen, uniform }) => {
    const mirror = createHostMirror({ ...caps, uniformDecodeQueryLen: qLen });
    expect(mirror.write({ requests: lens.map(req) }).uniformDecode).toBe(uniform);
  });

  it('uniform decode does not depend on padding', () => {
    const mirror = createHostMirror(caps);
    expect(mirror.write({ requests: [req(1), req(1)] }, { padToTokens: 4, padToReqs: 4 }).uniformDecode).toBe(true);
  });

  it.each([
    { name: 'all single-token decodes', lens: [1, 1, 1], qLen: 1, ok: true },
    { name: 'one prefill among decodes', lens: [1, 4, 1], qLen: 1, ok: false },
    { name: 'no requests', lens: [], qLen: 1, ok: false },
    { name: 'speculative decode, query length 3', lens: [3, 3], qLen: 3, ok: true },
    { name: 'single tokens when the uniform length is 3', lens: [1, 1], qLen: 3, ok: false },
  ])(
    'decodeGraph: true accepts only uniform decode batches ($name -> $ok); a rejected one writes nothing',
    ({ lens, qLen, ok }) => {
      const mirror = createHostMirror({ ...caps, uniformDecodeQueryLen: qLen });
      mirror.write({ requests: [req(2)] });
      const before = Array.from(mirror.buffer);
      const write = () =>
        mirror.write({ requests: lens.map(req) }, { padToReqs: Math.max(1, lens.length), decodeGraph: true });
      if (ok) {
        expect(write().uniformDecode).toBe(true);
      } else {
        expect(write).toThrow(expect.objectContaining({ code: 'not_uniform_decode', path: 'options.decodeGraph' }));
        expect(Array.from(mirror.buffer)).toEqual(before);
      }
      // false (a graph that may replay any batch) accepts every batch.
      expect(
        mirror.write({ requests: lens.map(req) }, { padToReqs: Math.max(1, lens.length), decodeGraph: false })
          .uniformDecode,
      ).toBe(ok);
    },
  );
});
