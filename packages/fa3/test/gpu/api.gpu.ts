// The Attention object's contract on a real device: one workspace of workspaceLayout's size (at
// least the fp32 partials), frozen options, the kernel's tile shape, argument errors before any
// launch (numSplits above capacity, numReqs mismatch, forward before schedule), DisposedError
// after dispose() for every method, and no device memory leaked by create/dispose cycles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceBuffer, memGetInfo, Stream } from '@flashgraph/cuda';
import { DisposedError, InvalidArgumentError } from '@flashgraph/errors';
import { type AttentionOptions, createAttention, Fa3Error, tileShape } from '@flashgraph/fa3';
import { skipReason } from './harness.js';

const skip = skipReason();
const opts: AttentionOptions = {
  numHeadsQ: 16,
  numHeadsKv: 4,
  headDim: 128,
  dtype: 'bf16',
  pageSize: 16,
  numPages: 64,
  maxNumReqs: 8,
  maxNumTokens: 32,
  maxNumPagesPerReq: 8,
  maxNumSplits: 8,
  causal: true,
};

test('createAttention: workspace, options, tile shape, smCount', { skip }, () => {
  using attn = createAttention(opts);
  assert.ok(attn.workspaceBytes >= 4 * 8 * 16 * 32 * 129, `workspaceBytes ${attn.workspaceBytes} < fp32 partials`);
  assert.ok(Object.isFrozen(attn.options));
  assert.equal(attn.options.maxNumSplits, 8);
  assert.deepEqual({ ...attn.tileShape }, tileShape(128, 4));
  assert.ok(Number.isInteger(attn.smCount) && attn.smCount > 0);
  const md = attn.readMetadata(); // zeroed at creation: an empty schedule
  assert.equal(md.splits.length, 8);
  assert.equal(md.tileOffsets.length, 9);
  assert.ok(md.splits.every((s) => s === 0) && md.totalTiles === 0);
});

test('argument errors come before any launch; forward needs a matching schedule', { skip }, () => {
  using attn = createAttention(opts);
  using stream = Stream.create();
  using cu = DeviceBuffer.alloc(4 * 9);
  using seq = DeviceBuffer.alloc(4 * 8);
  using q = DeviceBuffer.alloc(32 * 16 * 128 * 2);
  using out = DeviceBuffer.alloc(32 * 16 * 128 * 2);
  using cache = DeviceBuffer.alloc(64 * 16 * 4 * 128 * 2);
  using table = DeviceBuffer.alloc(8 * 8 * 4);
  cu.write(new Int32Array([0, 1, 2]));
  seq.write(new Int32Array([5, 9]));
  table.fill(0);
  const s = { stream, cuSeqlensQ: cu, seqLens: seq, numReqs: 2, maxSeqlenQ: 1, maxSeqlenK: 9, numSplits: 0 };
  const f = { ...s, q, out, kCache: cache, vCache: cache, pageTable: table };
  assert.throws(
    () => attn.forward(f),
    (e) => e instanceof Fa3Error && e.code === 'not_scheduled',
  );
  const outOfRange = (path: string) => (e: unknown) =>
    e instanceof InvalidArgumentError && e.code === 'out_of_range' && e.path === path;
  assert.throws(() => attn.schedule({ ...s, numSplits: 9 }), outOfRange('Attention.schedule.numSplits'));
  assert.throws(() => attn.schedule({ ...s, numReqs: 9 }), outOfRange('Attention.schedule.numReqs'));
  assert.throws(
    () => attn.resolveNumSplits({ numSplits: 9, maxSeqlenQ: 1, maxSeqlenK: 9 }),
    outOfRange('Attention.resolveNumSplits.numSplits'),
  );
  attn.schedule(s);
  assert.throws(() => attn.forward({ ...f, numReqs: 1 }), /allowed 2 \(the numReqs of the last schedule\(\)\)/);
  assert.throws(() => attn.forward({ ...f, numSplits: 9 }), outOfRange('Attention.forward.numSplits'));
  attn.forward(f);
  stream.synchronize();
  assert.equal(attn.resolveNumSplits({ numSplits: 3, maxSeqlenQ: 1, maxSeqlenK: 9 }), 3);
});

test('use after dispose throws DisposedError; dispose is idempotent; no device memory leaks', { skip }, () => {
  using stream = Stream.create();
  const before = memGetInfo().freeBytes;
  for (let i = 0; i < 20; i++) createAttention({ ...opts, maxNumTokens: 4096 }).dispose();
  const after = memGetInfo().freeBytes;
  assert.ok(before - after < 64 << 20, `free memory dropped by ${before - after} bytes over 20 create/dispose cycles`);
  const attn = createAttention(opts);
  attn.dispose();
  attn.dispose();
  assert.equal(attn.disposed, true);
  const args = { stream, cuSeqlensQ: 8n, seqLens: 8n, numReqs: 1, maxSeqlenQ: 1, maxSeqlenK: 1, numSplits: 0 };
  assert.throws(() => attn.schedule(args), DisposedError);
  assert.throws(
    () => attn.forward({ ...args, q: 16n, out: 16n, kCache: 16n, vCache: 16n, pageTable: 16n }),
    DisposedError,
  );
  assert.throws(
    () => attn.writeKvCache({ stream, key: 16n, value: 16n, kCache: 16n, vCache: 16n, slotMapping: 16n, numTokens: 1 }),
    DisposedError,
  );
  assert.throws(() => attn.readMetadata(), DisposedError);
  assert.throws(() => attn.resolveNumSplits({ numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 1 }), DisposedError);
});
