// GPU suite of @flashgraph/attn-metadata: the device buffers against the host mirror and the
// rules (recomputed independently), stale tails on the device, and build + forward captured in a
// full graph, replayed with new batches of the same padded size, against referenceAttention.
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  createMetadataBuilder,
  describe,
  forwardArgs,
  type MetadataBatch,
  type MetadataRequest,
} from '@flashgraph/attn-metadata';
import { resolveGraphConfig } from '@flashgraph/config';
import { cudaStatus, DeviceBuffer, fromBf16, memGetInfo, Stream, toBf16 } from '@flashgraph/cuda';
import { createAttention, planSplits, referenceAttention } from '@flashgraph/fa3';
import { recompute } from '../support/reference.js';

const status = cudaStatus();
const skip = status.available ? false : `no CUDA device: ${status.reason ?? 'unavailable'}`;

const PAGE = 16;
const CAPS = { maxNumReqs: 8, maxNumTokens: 64, blockSize: PAGE, numBlocks: 256, maxBlocksPerReq: 16 };
const ATTN = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128 as const,
  dtype: 'bf16' as const,
  pageSize: PAGE,
  numPages: CAPS.numBlocks,
  maxNumReqs: CAPS.maxNumReqs,
  maxNumTokens: CAPS.maxNumTokens,
  maxNumPagesPerReq: CAPS.maxBlocksPerReq,
  maxNumSplits: 16,
  causal: true,
};

/** Seeded xorshift32, so a failure is reproducible from the printed seed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** A random batch: distinct pages, q lengths and contexts within the capacities. */
function randomBatch(
  r: ReturnType<typeof rng>,
  maxReqs: number,
  maxTokens: number,
  maxSeq = CAPS.maxBlocksPerReq * PAGE,
): MetadataBatch {
  const pages = Array.from({ length: CAPS.numBlocks }, (_, i) => i);
  for (let i = pages.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [pages[i], pages[j]] = [pages[j]!, pages[i]!];
  }
  let next = 0;
  let tokens = 0;
  const n = r.int(1, maxReqs);
  const requests: MetadataRequest[] = [];
  for (let i = 0; i < n && tokens < maxTokens; i++) {
    const q = Math.min(maxTokens - tokens, r.next() < 0.6 ? 1 : r.int(1, 6));
    const seqLen = r.int(q, maxSeq);
    const count = Math.ceil(seqLen / PAGE);
    if (next + count > pages.length) break;
    const ids = pages.slice(next, next + count);
    next += count;
    tokens += q;
    requests.push({
      numNewTokens: q,
      numComputedTokens: seqLen - q,
      blockIds: r.next() < 0.5 ? Int32Array.from(ids) : ids,
    });
  }
  return { requests };
}

function readInt32(buffer: DeviceBuffer, count: number): Int32Array {
  return buffer.read(new Int32Array(count));
}

test('device buffers equal the host mirror and the rules after every build', { skip }, () => {
  using stream = Stream.create();
  using attention = createAttention(ATTN);
  const graphConfig = resolveGraphConfig(
    { mode: 'full', captureSizes: [4, 8, 16], maxNumSplits: 16 },
    { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
  );
  using builder = createMetadataBuilder({ attention, graphConfig, ...CAPS });
  const r = rng(1234);
  for (let step = 0; step < 200; step++) {
    const batch = randomBatch(r, CAPS.maxNumReqs, CAPS.maxNumTokens);
    const tokens = Array.from(batch.requests).reduce((t, q) => t + q.numNewTokens, 0);
    const padToTokens = r.next() < 0.5 ? tokens : r.int(tokens, CAPS.maxNumTokens);
    const padToReqs = r.int(batch.requests.length, CAPS.maxNumReqs);
    const m = builder.build(batch, { stream, padToTokens, padToReqs });
    const described = describe(m);
    stream.synchronize();
    const expected = recompute(batch, CAPS);
    const whole = readInt32(builder.deviceBuffer, builder.layout.totalElements);
    assert.deepEqual(whole, builder.host.buffer, `step ${step}: device buffer != host mirror`);
    assert.deepEqual(
      readInt32(m.queryStartLoc, CAPS.maxNumReqs + 1),
      expected.queryStartLoc,
      `step ${step}: queryStartLoc`,
    );
    assert.deepEqual(readInt32(m.seqLens, CAPS.maxNumReqs), expected.seqLens, `step ${step}: seqLens`);
    assert.deepEqual(
      readInt32(m.blockTable, CAPS.maxNumReqs * CAPS.maxBlocksPerReq),
      expected.blockTable,
      `step ${step}: blockTable`,
    );
    assert.deepEqual(readInt32(m.slotMapping, CAPS.maxNumTokens), expected.slotMapping, `step ${step}: slotMapping`);
    assert.deepEqual(readInt32(m.positions, CAPS.maxNumTokens), expected.positions, `step ${step}: positions`);
    // The scheduler ran on the same stream with the same bound: its metadata is planSplits'.
    const device = attention.readMetadata();
    const plan = planSplits({
      cuSeqlensQ: expected.queryStartLoc.subarray(0, m.numPaddedReqs + 1),
      seqLens: expected.seqLens.subarray(0, m.numPaddedReqs),
      numReqs: m.numPaddedReqs,
      numHeadsQ: ATTN.numHeadsQ,
      numHeadsKv: ATTN.numHeadsKv,
      headDim: ATTN.headDim,
      maxNumSplits: ATTN.maxNumSplits,
      numSplits: m.numSplits,
      maxSeqlenQ: m.maxSeqlenQ,
      maxSeqlenK: m.maxSeqlenK,
      smCount: attention.smCount,
    });
    assert.deepEqual(device.splits.subarray(0, m.numPaddedReqs), plan.splits, `step ${step}: device splits`);
    assert.ok(
      device.splits.subarray(m.numPaddedReqs).every((s) => s === 0),
      `step ${step}: stale splits past the padded requests`,
    );
    assert.deepEqual(described.splitsPerRequest, Array.from(plan.splits.subarray(0, m.numReqs)));
  }
});

test('a small batch after a large one leaves no stale entry on the device', { skip }, () => {
  using stream = Stream.create();
  using attention = createAttention(ATTN);
  const graphConfig = resolveGraphConfig(
    { mode: 'full', captureSizes: [4, 8], maxNumSplits: 16 },
    { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
  );
  using builder = createMetadataBuilder({ attention, graphConfig, ...CAPS });
  const large: MetadataBatch = {
    requests: Array.from({ length: 8 }, (_, i) => ({
      numNewTokens: 8,
      numComputedTokens: 200,
      blockIds: Array.from({ length: 16 }, (_, j) => i * 16 + j),
    })),
  };
  const small: MetadataBatch = { requests: [{ numNewTokens: 1, numComputedTokens: 3, blockIds: [255] }] };
  builder.build(large, { stream });
  builder.build(small, { stream, padToTokens: 2, padToReqs: 2 });
  stream.synchronize();
  const expected = recompute(small, CAPS);
  const m = builder.build(small, { stream, padToTokens: 2, padToReqs: 2 });
  stream.synchronize();
  assert.deepEqual(readInt32(m.blockTable, 8 * 16), expected.blockTable);
  assert.deepEqual(readInt32(m.slotMapping, 64), expected.slotMapping);
  assert.deepEqual(readInt32(m.positions, 64), expected.positions);
  assert.deepEqual(readInt32(m.seqLens, 8), expected.seqLens);
  assert.deepEqual(readInt32(m.queryStartLoc, 9), expected.queryStartLoc);
  assert.ok(
    attention
      .readMetadata()
      .splits.subarray(2)
      .every((s) => s === 0),
  );
});

test('block-table rows: device buffers equal the host mirror and the rules over decode steps', { skip }, () => {
  using stream = Stream.create();
  using attention = createAttention(ATTN);
  const graphConfig = resolveGraphConfig(
    { mode: 'full', captureSizes: [4, 8, 16], maxNumSplits: 16 },
    { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
  );
  using builder = createMetadataBuilder({ attention, graphConfig, ...CAPS });
  const rows = builder.blockTableRows;
  const r = rng(4321);
  // Live requests: their row and context; pages handed out round-robin (distinct while live).
  let live: { row: number; computed: number }[] = [];
  let nextPage = 0;
  const page = () => (nextPage++ * 37) % CAPS.numBlocks;
  for (let step = 0; step < 300; step++) {
    // Admit, finish and grow requests as a scheduler would; shuffle the batch order now and then.
    if (live.length < CAPS.maxNumReqs && r.next() < 0.3) {
      const row = rows.acquireRow();
      const computed = r.int(0, 100);
      rows.appendBlocks(row, Int32Array.from({ length: Math.ceil((computed + 1) / PAGE) }, page));
      live.push({ row, computed });
    }
    if (live.length > 0 && r.next() < 0.1) rows.releaseRow(live.splice(r.int(0, live.length - 1), 1)[0]!.row);
    if (r.next() < 0.2)
      live = live
        .map((x) => ({ x, k: r.next() }))
        .sort((a, b) => a.k - b.k)
        .map(({ x }) => x);
    live = live.filter((x) => {
      if (x.computed + 1 <= CAPS.maxBlocksPerReq * PAGE) return true;
      rows.releaseRow(x.row);
      return false;
    });
    for (const x of live) if (rows.rowLength(x.row) * PAGE < x.computed + 1) rows.appendBlocks(x.row, [page()]);
    const batch: MetadataBatch = {
      requests: live.map((x) => ({ numNewTokens: 1, numComputedTokens: x.computed, blockTableRow: x.row })),
    };
    const m = builder.build(batch, { stream, padToReqs: Math.max(1, live.length) });
    stream.synchronize();
    const expected = recompute(batch, CAPS, (row) => rows.blockIds(row));
    assert.deepEqual(
      readInt32(builder.deviceBuffer, builder.layout.totalElements),
      builder.host.buffer,
      `step ${step}`,
    );
    assert.deepEqual(
      readInt32(m.blockTable, CAPS.maxNumReqs * CAPS.maxBlocksPerReq),
      expected.blockTable,
      `step ${step}`,
    );
    assert.deepEqual(readInt32(m.slotMapping, CAPS.maxNumTokens), expected.slotMapping, `step ${step}`);
    for (const x of live) x.computed++;
  }
});

test('build + forward captured in a full graph, replayed with new batches, match referenceAttention', { skip }, () => {
  using stream = Stream.create();
  using attention = createAttention(ATTN);
  const graphConfig = resolveGraphConfig(
    { mode: 'full', captureSizes: [8], maxNumSplits: 16 },
    { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
  );
  using builder = createMetadataBuilder({ attention, graphConfig, ...CAPS });
  const { numHeadsQ: hq, numHeadsKv: hkv, headDim: d } = ATTN;
  const r = rng(99);
  // The paged cache, random and exactly representable in bf16.
  const cacheElems = CAPS.numBlocks * PAGE * hkv * d;
  const kBits = toBf16(Float32Array.from({ length: cacheElems }, () => r.next() * 2 - 1));
  const vBits = toBf16(Float32Array.from({ length: cacheElems }, () => r.next() * 2 - 1));
  using kCache = DeviceBuffer.alloc(kBits.byteLength);
  using vCache = DeviceBuffer.alloc(vBits.byteLength);
  kCache.write(kBits);
  vCache.write(vBits);
  const rowElems = hq * d;
  using q = DeviceBuffer.alloc(CAPS.maxNumTokens * rowElems * 2);
  using out = DeviceBuffer.alloc(CAPS.maxNumTokens * rowElems * 2);
  q.fill(0);
  const tensors = { q, kCache, vCache, out };

  // Capture with short sequences; replays use contexts long enough to want many splits.
  const captureBatch = randomBatch(r, 8, 8, 20);
  const padding = { padToTokens: 8, padToReqs: 8 };
  const warm = builder.build(captureBatch, { stream, ...padding }); // warm-up: lazy init outside capture
  attention.forward(forwardArgs(warm, { stream, ...tensors }));
  stream.synchronize();
  stream.beginCapture();
  const captured = builder.build(captureBatch, { stream, ...padding });
  attention.forward(forwardArgs(captured, { stream, ...tensors }));
  using graph = stream.endCapture();
  using exec = graph.instantiate();
  assert.equal(captured.fullGraph, true);
  assert.equal(captured.numSplits, 16);

  for (let replay = 0; replay < 30; replay++) {
    const batch = randomBatch(r, 8, 8);
    const m = builder.stage(batch, padding);
    assert.equal(m.numSplits, captured.numSplits);
    const totalQ = m.numActualTokens;
    const qBits = toBf16(Float32Array.from({ length: totalQ * rowElems }, () => r.next() * 2 - 1));
    if (totalQ > 0) q.write(qBits);
    out.fill(0xff); // poison: NaN in bf16
    exec.launch(stream);
    stream.synchronize();
    const got = fromBf16(out.read(new Uint16Array(totalQ * rowElems)));
    const expected = recompute(batch, CAPS);
    const ref = referenceAttention({
      q: fromBf16(qBits),
      kCache: fromBf16(kBits),
      vCache: fromBf16(vBits),
      pageTable: expected.blockTable.subarray(0, m.numReqs * CAPS.maxBlocksPerReq),
      cuSeqlensQ: expected.queryStartLoc.subarray(0, m.numReqs + 1),
      seqLens: expected.seqLens.subarray(0, m.numReqs),
      numHeadsQ: hq,
      numHeadsKv: hkv,
      headDim: d,
      pageSize: PAGE,
      causal: true,
      pageTableStride: CAPS.maxBlocksPerReq,
    });
    let worst = 0;
    for (let i = 0; i < got.length; i++) {
      const err = Math.abs(got[i]! - ref.out[i]!);
      assert.ok(Number.isFinite(got[i]!), `replay ${replay}: element ${i} is not finite`);
      worst = Math.max(worst, err / (1 + Math.abs(ref.out[i]!)));
    }
    assert.ok(worst <= 1e-2, `replay ${replay}: relative error ${worst} > 1e-2`);
  }
});

test('creating and disposing builders returns their device memory', { skip }, () => {
  // Capacities that make each builder hold 2 MiB of device memory, so a leak shows in memGetInfo.
  using attention = createAttention({ ...ATTN, maxNumReqs: 1024, maxNumPagesPerReq: 512 });
  const graphConfig = resolveGraphConfig(
    { mode: 'full', captureSizes: [8], maxNumSplits: 16 },
    { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
  );
  const caps = { ...CAPS, maxNumReqs: 1024, maxBlocksPerReq: 512 };
  const warm = createMetadataBuilder({ attention, graphConfig, ...caps });
  const leakFloor = (100 * warm.layout.byteLength) / 2;
  warm.dispose();
  // A builder holds its device memory in one allocation (its layout), so a leak loses all of it:
  // 100 leaked builders take 100 x layout bytes (>= 200 MiB) out of every window. memGetInfo is
  // device-wide, and another process on the card (the round check runs the models' transformers
  // check beside the suites) takes memory too: 643 / 20 / 10 MB in three windows of one run. So a
  // window counts as leaking only past half of what 100 leaked builders hold (leakFloor), and the
  // test fails only if all three windows did.
  const drops: number[] = [];
  for (let window = 0; window < 3; window++) {
    const before = memGetInfo().freeBytes;
    for (let i = 0; i < 100; i++) {
      using builder = createMetadataBuilder({ attention, graphConfig, ...caps });
      assert.ok(builder.layout.byteLength >= 2 << 20);
    }
    drops.push(before - memGetInfo().freeBytes);
    if (drops.at(-1)! < leakFloor) break;
  }
  assert.ok(
    Math.min(...drops) < leakFloor,
    `free device memory fell by ${drops.join(' / ')} bytes over 100 builders (a leak: >= ${leakFloor})`,
  );
});
