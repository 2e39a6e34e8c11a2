import { DisposedError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { describe as describeMetadata } from '../src/describe.js';
import { forwardArgs } from '../src/forward-args.js';
import type { GraphConfigLike, MetadataBatch } from '../src/types.js';
import { caughtArgumentError, caughtMetadataError } from './support/caught.js';
import { type FakeMemory, fakeMemory, fakeStream, graphConfig, readView, recordingAttention } from './support/fakes.js';
import { recompute } from './support/reference.js';

const caps = { maxNumReqs: 16, maxNumTokens: 128, blockSize: 16, numBlocks: 512, maxBlocksPerReq: 8 };

function setup(config: GraphConfigLike = graphConfig(), attentionOverrides = {}) {
  const attention = recordingAttention({
    maxNumReqs: 16,
    maxNumTokens: 128,
    numPages: 512,
    maxNumPagesPerReq: 8,
    ...attentionOverrides,
  });
  let memory: FakeMemory | undefined;
  const builder = createBuilderWithMemory({ ...caps, attention, graphConfig: config }, (bytes) => {
    memory = fakeMemory(bytes);
    return memory;
  });
  return { builder, attention, memory: memory!, stream: fakeStream() };
}

const decode = (n: number, context = 40): MetadataBatch => ({
  requests: Array.from({ length: n }, (_, i) => ({
    numNewTokens: 1,
    numComputedTokens: context,
    blockIds: Array.from({ length: Math.ceil((context + 1) / 16) }, (_, j) => i * 8 + j),
  })),
});
const mixed: MetadataBatch = {
  requests: [
    { numNewTokens: 1, numComputedTokens: 20, blockIds: [1, 2] },
    { numNewTokens: 5, numComputedTokens: 0, blockIds: [3] },
  ],
};

describe('split bound per graph mode', () => {
  const table: { name: string; config: Partial<GraphConfigLike>; batch: MetadataBatch; pad?: number; full: boolean }[] =
    [
      {
        name: 'full graphs for all, padded to a capture size',
        config: { fullGraphsFor: 'all' },
        batch: mixed,
        pad: 8,
        full: true,
      },
      {
        name: 'full graphs for all, token count itself a capture size',
        config: { fullGraphsFor: 'all' },
        batch: decode(4),
        full: true,
      },
      {
        name: 'full graphs for all, not a capture size',
        config: { fullGraphsFor: 'all' },
        batch: mixed,
        pad: 7,
        full: false,
      },
      {
        name: 'full graphs for all, above the max capture size',
        config: { fullGraphsFor: 'all' },
        batch: decode(4),
        pad: 96,
        full: false,
      },
      {
        name: 'uniform_decode, decode batch at a capture size',
        config: { fullGraphsFor: 'uniform_decode' },
        batch: decode(3),
        pad: 4,
        full: true,
      },
      {
        name: 'uniform_decode, mixed batch at a capture size',
        config: { fullGraphsFor: 'uniform_decode' },
        batch: mixed,
        pad: 8,
        full: false,
      },
      {
        name: 'no full graphs (piecewise)',
        config: { hasFullGraphs: false, fullGraphsFor: 'none' },
        batch: decode(4),
        full: false,
      },
      {
        name: 'mode none',
        config: { hasFullGraphs: false, fullGraphsFor: 'none', captureSizes: [], maxCaptureSize: 0 },
        batch: decode(4),
        full: false,
      },
    ];
  it.each(table)('$name -> full graph: $full', ({ config, batch, pad, full }) => {
    const { builder, attention, stream } = setup(graphConfig({ maxNumSplits: 16, ...config }));
    const m = builder.build(batch, { stream, padToTokens: pad });
    expect(m.fullGraph).toBe(full);
    expect(m.numSplits).toBe(full ? 16 : 0);
    expect(attention.calls).toHaveLength(1);
    expect(attention.calls[0]!.numSplits).toBe(m.numSplits);
  });

  it('full-graph steps pass capacity bounds as max lengths; eager steps the actual ones', () => {
    const all = setup(graphConfig({ fullGraphsFor: 'all' }));
    const g = all.builder.build(mixed, { stream: all.stream, padToTokens: 8 });
    expect([g.maxQueryLen, g.maxSeqLen, g.maxSeqlenQ, g.maxSeqlenK]).toEqual([5, 21, 8, 8 * 16]);
    const dec = setup(graphConfig({ fullGraphsFor: 'uniform_decode' }));
    const d = dec.builder.build(decode(3), { stream: dec.stream, padToTokens: 4 });
    expect([d.maxQueryLen, d.maxSeqlenQ, d.maxSeqlenK]).toEqual([1, 1, 128]);
    const e = dec.builder.build(mixed, { stream: dec.stream });
    expect([e.maxSeqlenQ, e.maxSeqlenK]).toEqual([5, 21]);
  });
});

describe('decodeGraph: the metadata feeds a full graph that only replays uniform decode batches', () => {
  // decode(8) padded to 8 is also what a mixed graph of size 8 is captured with (8 one-token
  // requests): only the caller knows which graph it feeds.
  const maxQ = (
    config: Partial<GraphConfigLike>,
    batch: MetadataBatch,
    pad: number | undefined,
    decodeGraph: boolean | undefined,
  ) => {
    const { builder, attention, stream } = setup(graphConfig(config));
    const built = builder.build(batch, {
      stream,
      padToTokens: pad,
      ...(decodeGraph === undefined ? {} : { decodeGraph }),
    });
    // The scheduler got the same bound the kernel will (forwardArgs reads the metadata).
    expect(attention.calls.at(-1)!.maxSeqlenQ).toBe(built.maxSeqlenQ);
    const staged = builder.stage(batch, { padToTokens: pad, ...(decodeGraph === undefined ? {} : { decodeGraph }) });
    expect(staged.maxSeqlenQ).toBe(built.maxSeqlenQ);
    expect([staged.fullGraph, staged.numSplits]).toEqual([built.fullGraph, built.numSplits]);
    return [built.fullGraph, built.maxSeqlenQ];
  };

  it.each([
    // fullGraphsFor, query length k, batch, pad, decodeGraph -> [fullGraph, maxSeqlenQ]
    ['all', 1, decode(8), 8, true, [true, 1]],
    ['all', 1, decode(8), 8, false, [true, 8]],
    // Unsaid, the content picks the route: in mode full a uniform decode batch replays its size's
    // decode graph (the graph runner's route), so the decode query length.
    ['all', 1, decode(8), 8, undefined, [true, 1]],
    ['all', 1, decode(3), 4, true, [true, 1]],
    ['all', 1, mixed, 8, false, [true, 8]],
    ['uniform_decode', 1, decode(3), 4, undefined, [true, 1]], // as before
    ['uniform_decode', 1, decode(3), 4, true, [true, 1]],
    // Said to feed no decode graph: in the decode-only modes that step runs eagerly (the runner's route).
    ['uniform_decode', 1, decode(3), 4, false, [false, 1]],
    ['uniform_decode', 1, mixed, 8, false, [false, 5]],
    // Outside a full graph (not a capture size) the real longest query, whatever decodeGraph says.
    ['all', 1, decode(3), 3, true, [false, 1]],
    ['all', 1, decode(5), 5, true, [false, 1]],
    ['all', 1, mixed, 7, false, [false, 5]],
  ] as const)('%s, k %i: %#', (fullGraphsFor, k, batch, pad, decodeGraph, expected) => {
    expect(maxQ({ fullGraphsFor, uniformDecodeQueryLen: k }, batch, pad, decodeGraph)).toEqual(expected);
  });

  it('with query length 2 a decode graph states 2 query tokens, a mixed graph of the same size its token count', () => {
    const twoTokens: MetadataBatch = {
      requests: [0, 1, 2].map((i) => ({ numNewTokens: 2, numComputedTokens: 10, blockIds: [i] })),
    };
    expect(maxQ({ fullGraphsFor: 'all', uniformDecodeQueryLen: 2 }, twoTokens, 8, true)).toEqual([true, 2]);
    expect(maxQ({ fullGraphsFor: 'all', uniformDecodeQueryLen: 2 }, twoTokens, 8, false)).toEqual([true, 8]);
    // One-token requests are not uniform decode when k is 2.
    const { builder, stream } = setup(graphConfig({ uniformDecodeQueryLen: 2 }));
    expect(
      caughtMetadataError(() => builder.build(decode(4), { stream, padToTokens: 8, decodeGraph: true })),
    ).toMatchObject({
      code: 'not_uniform_decode',
      allowed: expect.stringMatching(/each with 2 new tokens/),
    });
  });

  it.each([
    ['a mixed batch', mixed, 8],
    ['an empty step', { requests: [] }, 1],
  ])('true with %s is a typed error naming decodeGraph; nothing is written, copied or scheduled', (_, batch, pad) => {
    const { builder, attention, memory, stream } = setup();
    const before = builder.build(decode(2), { stream, padToTokens: 2, decodeGraph: true });
    const host = Array.from(builder.host.buffer);
    const copies = memory.copies.length;
    for (const call of [
      () =>
        builder.build(batch, {
          stream,
          padToTokens: pad,
          padToReqs: Math.max(1, batch.requests.length),
          decodeGraph: true,
        }),
      () =>
        builder.stage(batch, { padToTokens: pad, padToReqs: Math.max(1, batch.requests.length), decodeGraph: true }),
    ]) {
      const err = caughtMetadataError(call);
      expect(err).toMatchObject({ code: 'not_uniform_decode', path: 'options.decodeGraph', value: true });
      expect(err.message).toMatch(/options\.decodeGraph: a decode graph only replays uniform decode batches/);
    }
    expect(Array.from(builder.host.buffer)).toEqual(host);
    expect(memory.copies).toHaveLength(copies);
    expect(attention.calls).toHaveLength(1);
    // The earlier step is still the latest one.
    expect(describeMetadata(before)).toMatchObject({ numReqs: 2, fullGraph: true });
  });

  it('a decodeGraph that is not a boolean is rejected before the batch is read', () => {
    const { builder, stream } = setup();
    for (const value of ['yes', 1, null]) {
      expect(
        caughtArgumentError(() => builder.build(decode(2), { stream, decodeGraph: value as never })),
      ).toMatchObject({
        code: 'invalid_type',
        path: 'options.decodeGraph',
        allowed: 'true, false or undefined',
      });
      expect(caughtArgumentError(() => builder.stage(null as never, { decodeGraph: value as never }))).toMatchObject({
        path: 'options.decodeGraph',
      });
    }
  });
});

describe('schedule and forward cannot diverge', () => {
  it('build schedules with exactly the numbers forwardArgs hands to forward, in every mode', () => {
    for (const config of [
      graphConfig(),
      graphConfig({ fullGraphsFor: 'uniform_decode' }),
      graphConfig({ hasFullGraphs: false, fullGraphsFor: 'none' }),
    ]) {
      const { builder, attention, stream } = setup(config);
      const steps: [MetadataBatch, number | undefined, number | undefined][] = [
        [decode(4), undefined, undefined],
        [decode(3), 4, 4],
        [mixed, 8, 3],
        [mixed, 7, undefined],
        [{ requests: [] }, 1, 1],
      ];
      for (const [batch, padToTokens, padToReqs] of steps) {
        const m = builder.build(batch, { stream, padToTokens, padToReqs });
        const scheduled = attention.calls.at(-1)!;
        const q = { tag: 'q' };
        const fwd = forwardArgs(m, { stream, q, kCache: q, vCache: q, out: q });
        for (const key of [
          'stream',
          'cuSeqlensQ',
          'seqLens',
          'numReqs',
          'maxSeqlenQ',
          'maxSeqlenK',
          'numSplits',
        ] as const) {
          expect(fwd[key], key).toBe(scheduled[key]);
        }
        expect(fwd.numSplits).toBe(m.numSplits);
        expect(fwd.numReqs).toBe(m.numPaddedReqs);
        expect(fwd.pageTable).toBe(m.blockTable);
        expect(fwd.pageTableStride).toBe(8);
        expect('lse' in fwd).toBe(false);
        expect('sinks' in fwd).toBe(false);
      }
    }
  });

  it('forwardArgs passes lse, softmaxScale and sinks through when given', () => {
    const { builder, stream } = setup();
    const m = builder.build(decode(2), { stream });
    const t = {};
    const sinks = { tag: 'sinks' };
    const f = forwardArgs(m, { stream, q: t, kCache: t, vCache: t, out: t, lse: t, softmaxScale: 0.5, sinks });
    expect(f.lse).toBe(t);
    expect(f.softmaxScale).toBe(0.5);
    expect(f.sinks).toBe(sinks);
  });
});

describe('device side (simulated memory)', () => {
  function expectDeviceEqualsHost(builder: ReturnType<typeof setup>['builder'], memory: FakeMemory) {
    expect(Array.from(memory.deviceInt32)).toEqual(Array.from(builder.host.buffer));
  }

  it('the device starts neutral and equals the host mirror after every build', () => {
    const { builder, memory, stream } = setup();
    expectDeviceEqualsHost(builder, memory);
    for (const batch of [decode(16, 100), mixed, decode(1), { requests: [] }]) {
      builder.build(batch, { stream, padToReqs: Math.max(1, batch.requests.length) });
      expectDeviceEqualsHost(builder, memory);
      const e = recompute(batch, caps);
      const m = builder.build(batch, { stream, padToReqs: Math.max(1, batch.requests.length) });
      expect(readView(m.slotMapping, caps.maxNumTokens)).toEqual(e.slotMapping);
      expect(readView(m.blockTable, caps.maxNumReqs * 8)).toEqual(e.blockTable);
      expect(readView(m.queryStartLoc, caps.maxNumReqs + 1)).toEqual(e.queryStartLoc);
      expect(readView(m.seqLens, caps.maxNumReqs)).toEqual(e.seqLens);
      expect(readView(m.positions, caps.maxNumTokens)).toEqual(e.positions);
    }
  });

  it('one copy per step; it covers the small arrays and only the block-table rows that are live or stale', () => {
    const { builder, memory, stream } = setup();
    const rowBytes = 8 * 4;
    const head = builder.layout.blockTableOffset * 4;
    builder.build(decode(10), { stream, padToReqs: 12 });
    expect(memory.copies).toEqual([head + 12 * rowBytes]);
    builder.build(decode(2), { stream });
    expect(memory.copies.at(-1)).toBe(head + 10 * rowBytes); // clears the 8 stale rows on the device
    builder.build(decode(2), { stream });
    expect(memory.copies.at(-1)).toBe(head + 2 * rowBytes);
    expect(memory.copies).toHaveLength(3);
    expect(memory.waits).toBe(3);
  });

  it('a graph captured around build replays staged batches of the same padded size', () => {
    const { builder, memory, stream, attention } = setup();
    builder.build(decode(12), { stream }); // eager warm-up leaves 12 rows on the device
    stream.capturing = true;
    const captured = builder.build(decode(3), { stream, padToTokens: 4, padToReqs: 4 });
    stream.capturing = false;
    expect(memory.waits).toBe(1); // no synchronizing call while capturing
    for (const n of [4, 1, 2]) {
      const batch = decode(n, 30 + n);
      const staged = builder.stage(batch, { padToTokens: 4, padToReqs: 4 });
      expect([
        staged.numPaddedReqs,
        staged.numPaddedTokens,
        staged.numSplits,
        staged.maxSeqlenQ,
        staged.maxSeqlenK,
      ]).toEqual([
        captured.numPaddedReqs,
        captured.numPaddedTokens,
        captured.numSplits,
        captured.maxSeqlenQ,
        captured.maxSeqlenK,
      ]);
      memory.launch(stream);
      expectDeviceEqualsHost(builder, memory);
    }
    expect(attention.calls).toHaveLength(2); // stage never schedules; the replayed graph does
    // An eager step after the replays still cleans every row a previous step wrote.
    builder.build(decode(1), { stream });
    expectDeviceEqualsHost(builder, memory);
  });

  it('the metadata is frozen and hands out the same views every step', () => {
    const { builder, stream } = setup();
    const a = builder.build(decode(2), { stream });
    const b = builder.build(mixed, { stream });
    expect(Object.isFrozen(a)).toBe(true);
    expect(a.blockTable).toBe(b.blockTable);
    expect(a.queryStartLoc).toBe(b.queryStartLoc);
    expect(a.blockTableStride).toBe(8);
    expect(a.slotMapping.byteOffset).toBe(builder.layout.slotMappingOffset * 4);
  });
});

describe('builder errors', () => {
  it('validates before any copy or schedule', () => {
    const { builder, memory, attention, stream } = setup();
    const bad = { requests: [{ numNewTokens: 1, numComputedTokens: 0, blockIds: [512] }] };
    expect(caughtMetadataError(() => builder.build(bad, { stream })).path).toBe('requests[0].blockIds[0]');
    expect(caughtMetadataError(() => builder.build(decode(2), { stream, padToTokens: 1 })).code).toBe(
      'invalid_padding',
    );
    expect(caughtMetadataError(() => builder.build({ requests: [] }, { stream })).path).toBe('options.padToReqs');
    expect(caughtMetadataError(() => builder.build(decode(1), {} as never)).code).toBe('invalid_stream');
    expect(caughtMetadataError(() => builder.build(decode(1), undefined as never)).code).toBe('invalid_stream');
    expect(memory.copies).toHaveLength(0);
    expect(attention.calls).toHaveLength(0);
  });

  it.each([
    { name: 'block size != page size', opts: { blockSize: 32 }, path: 'options.blockSize' },
    { name: 'more blocks than pages', attn: { numPages: 100 }, path: 'options.numBlocks' },
    { name: 'more requests than the attention', attn: { maxNumReqs: 8 }, path: 'options.maxNumReqs' },
    { name: 'more tokens than the attention', attn: { maxNumTokens: 64 }, path: 'options.maxNumTokens' },
    {
      name: 'longer rows than the attention page table',
      attn: { maxNumPagesPerReq: 4 },
      path: 'options.maxBlocksPerReq',
    },
    {
      name: 'graph split bound above the workspace',
      attn: { maxNumSplits: 8 },
      path: 'options.graphConfig.maxNumSplits',
    },
  ])('capacity mismatch: $name', ({ opts, attn, path }) => {
    const attention = recordingAttention({
      maxNumReqs: 16,
      maxNumTokens: 128,
      numPages: 512,
      maxNumPagesPerReq: 8,
      ...attn,
    });
    let allocated = false;
    const err = caughtMetadataError(() =>
      createBuilderWithMemory({ ...caps, ...opts, attention, graphConfig: graphConfig() }, (bytes) => {
        allocated = true;
        return fakeMemory(bytes);
      }),
    );
    expect(err.code).toBe('capacity_mismatch');
    expect(err.path).toBe(path);
    expect(allocated).toBe(false);
  });

  it('a split bound above the workspace is fine when no full graphs exist', () => {
    expect(() => setup(graphConfig({ hasFullGraphs: false, fullGraphsFor: 'none', maxNumSplits: 64 }))).not.toThrow();
  });

  it.each([
    { name: 'attention missing', over: { attention: undefined }, path: 'options.attention' },
    {
      name: 'attention without schedule',
      over: { attention: { options: {}, smCount: 1 } },
      path: 'options.attention.schedule',
    },
    { name: 'graphConfig missing', over: { graphConfig: undefined }, path: 'options.graphConfig' },
    {
      name: 'graphConfig bad fullGraphsFor',
      over: { graphConfig: graphConfig({ fullGraphsFor: 'some' as never }) },
      path: 'options.graphConfig.fullGraphsFor',
    },
    {
      name: 'graphConfig bad maxNumSplits',
      over: { graphConfig: graphConfig({ maxNumSplits: 0 }) },
      path: 'options.graphConfig.maxNumSplits',
    },
    { name: 'maxNumReqs missing', over: { maxNumReqs: undefined }, path: 'options.maxNumReqs' },
  ])('invalid option: $name', ({ over, path }) => {
    const attention = recordingAttention({ maxNumReqs: 16, maxNumTokens: 128, numPages: 512, maxNumPagesPerReq: 8 });
    const err = caughtArgumentError(() =>
      createBuilderWithMemory({ ...caps, attention, graphConfig: graphConfig(), ...over } as never, fakeMemory),
    );
    expect(err.code).toMatch(/^(invalid_type|out_of_range|invalid_value)$/);
    expect(err.path).toBe(path);
  });

  it('dispose frees the memory once; later calls throw a disposed error', () => {
    const { builder, memory, stream } = setup();
    builder[Symbol.dispose]();
    builder.dispose();
    expect(memory.disposed).toBe(true);
    expect(builder.disposed).toBe(true);
    for (const call of [() => builder.build(decode(1), { stream }), () => builder.stage(decode(1))]) {
      expect(call).toThrow(DisposedError);
      expect(call).toThrow(expect.objectContaining({ code: 'disposed', what: 'MetadataBuilder' }));
    }
  });

  it('frees the memory when setting it up fails', () => {
    const attention = recordingAttention({ maxNumReqs: 16, maxNumTokens: 128, numPages: 512, maxNumPagesPerReq: 8 });
    let memory: FakeMemory | undefined;
    expect(() =>
      createBuilderWithMemory({ ...caps, attention, graphConfig: graphConfig() }, (bytes) => {
        memory = fakeMemory(bytes);
        memory.uploadAll = () => {
          throw new Error('cudaErrorMemoryAllocation: simulated');
        };
        return memory;
      }),
    ).toThrow(/simulated/);
    expect(memory!.disposed).toBe(true);
  });
});
