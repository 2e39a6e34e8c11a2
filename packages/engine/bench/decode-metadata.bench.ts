// Host time of a decode step's attention metadata in the engine, on any machine: the engine's
// FifoScheduler and BlockManager pick and grow the batch, and the batch goes to the host mirror
// exactly as the backends hand it over (`mirror.write({ requests: batch.requests }, padding)` on
// the CPU backend; `builder.build` / `builder.stage` on CUDA run the same writer, then one copy).
// 256 running requests decode together at 1k and 4k context; per step it times the metadata
// write alone and schedule + write (growing pages, and on the rows path their appends, happen in
// schedule). Prints a table, then one JSON line. Median / min microseconds.
import { createHostMirror } from '@flashgraph/attn-metadata';
import { BlockManager } from '../src/block-manager.js';
import { FifoScheduler, newRequestState } from '../src/scheduler.js';

const NUM_REQS = 256;
const BLOCK_SIZE = 16;
const CONTEXTS = [1024, 4096];
const PREFILL_BUDGET = 8192;
const WARMUP_STEPS = 300;
const TIMED_STEPS = 1500;

interface Timing {
  median: number;
  min: number;
}

function summary(samples: number[]): Timing {
  const s = samples.slice().sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, min: s[0]! };
}

function run(context: number): { write: Timing; scheduleAndWrite: Timing } {
  // Requests admitted first decode while later ones still prefill (decodes take budget first):
  // give each enough new tokens that all of them still decode together through the timed steps.
  const prefillSteps = Math.ceil((NUM_REQS * context) / (PREFILL_BUDGET - NUM_REQS)) + 1;
  const maxNewTokens = 1 + prefillSteps + WARMUP_STEPS + TIMED_STEPS + 1;
  const maxBlocksPerReq = Math.ceil((context + maxNewTokens) / BLOCK_SIZE);
  const caps = {
    maxNumReqs: NUM_REQS,
    maxNumTokens: PREFILL_BUDGET,
    blockSize: BLOCK_SIZE,
    numBlocks: NUM_REQS * maxBlocksPerReq,
    maxBlocksPerReq,
  };
  const mirror = createHostMirror(caps);
  // The rows option is the engine's wiring (one block-table row per running request).
  const blocks = new BlockManager({ numBlocks: caps.numBlocks, blockSize: BLOCK_SIZE, rows: mirror.blockTableRows });
  const scheduler = new FifoScheduler(blocks, { maxNumSeqs: NUM_REQS, maxNumBatchedTokens: PREFILL_BUDGET });
  for (let id = 0; id < NUM_REQS; id++) {
    const tokens = Array.from({ length: context }, (_, t) => (id * 31 + t) % 1000);
    const request = newRequestState({ id, tokens, maxNewTokens, addedAtStep: 0 });
    scheduler.add(request);
  }
  const sampled = new Int32Array(NUM_REQS).fill(7);
  const writes: number[] = [];
  const steps: number[] = [];
  let decodeSteps = 0;
  for (let index = 0; decodeSteps < WARMUP_STEPS + TIMED_STEPS; index++) {
    if (!scheduler.hasUnfinished) throw new Error('bench: requests finished before the timed steps');
    const t0 = performance.now();
    const batch = scheduler.schedule(index);
    const t1 = performance.now();
    // A uniform decode step of 256 requests is padded to capture size 256 (itself).
    mirror.write({ requests: batch.requests }, { padToTokens: batch.numTokens, padToReqs: batch.requests.length });
    const t2 = performance.now();
    if (batch.numPrefills === 0 && batch.requests.length === NUM_REQS) {
      if (decodeSteps >= WARMUP_STEPS) {
        writes.push((t2 - t1) * 1000);
        steps.push((t2 - t0) * 1000);
      }
      decodeSteps++;
    }
    scheduler.commit(batch, sampled, index);
  }
  scheduler.clear();
  return { write: summary(writes), scheduleAndWrite: summary(steps) };
}

const rows = CONTEXTS.map((context) => ({ requests: NUM_REQS, context, ...run(context) }));
const f = (t: Timing) => `${t.median.toFixed(1)} / ${t.min.toFixed(1)}`;
console.log(`decode step metadata, ${NUM_REQS} requests, ${TIMED_STEPS} steps, median / min us`);
console.log('context | write       | schedule + write');
for (const r of rows)
  console.log(`${String(r.context).padStart(7)} | ${f(r.write).padEnd(11)} | ${f(r.scheduleAndWrite)}`);
console.log(JSON.stringify({ bench: 'engine decode metadata', node: process.version, rows }));
