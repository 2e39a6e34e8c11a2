// A downstream runtime built from flashgraph packages, on the CPU: for each graph mode it runs the
// same random workload twice in lockstep, once with graph replay and once eagerly (mode 'none'),
// and checks that every step's logits are bit-identical and its metadata follows the packages'
// rules (checks.mjs). Prints what it checked; exits 1 on any mismatch.
import { bitIdentical, checkStep } from './checks.mjs';
import { KvAllocator } from './kv-allocator.mjs';
import { randomInt, seededRandom } from './random.mjs';
import { createRuntime } from './runtime.mjs';
import { Scheduler } from './scheduler.mjs';
import { createToyModel } from './toy-model.mjs';

const LIMITS = Object.freeze({
  maxNumSeqs: 8,
  maxNumBatchedTokens: 64,
  blockSize: 16,
  numBlocks: 96,
  maxBlocksPerReq: 8,
});
const MODES = ['full', 'full_and_piecewise', 'piecewise', 'full_decode_only'];
// Graphs up to 48 tokens: steps of 49..64 tokens (the budget) run eagerly, above the largest size.
const CAPTURE_SIZES = [1, 2, 4, 8, 16, 24, 32, 48];
const SEED = Number(process.env.CUSTOM_RUNTIME_SEED ?? 16);

/** Random requests: prompts of 1..72 tokens (so some steps exceed the largest capture size). */
function randomWorkload(seed, vocabSize) {
  const random = seededRandom(seed);
  return Array.from({ length: 28 }, (_, id) => ({
    id,
    prompt: Array.from({ length: randomInt(random, 1, 72) }, () => randomInt(random, 0, vocabSize - 1)),
    maxNewTokens: randomInt(random, 1, 24),
    arrival: randomInt(random, 0, 40),
  }));
}

/** A runtime and its own scheduler and KV allocator over one workload. */
function instance(model, graphInput, workload) {
  const runtime = createRuntime(model, LIMITS, graphInput);
  const scheduler = new Scheduler({
    workload,
    allocator: new KvAllocator(LIMITS.numBlocks, LIMITS.blockSize),
    rows: runtime.rows,
    maxNumSeqs: LIMITS.maxNumSeqs,
    maxNumBatchedTokens: LIMITS.maxNumBatchedTokens,
    uniformDecodeQueryLen: runtime.graphConfig.uniformDecodeQueryLen,
  });
  return { runtime, scheduler };
}

function runMode(model, mode, workload) {
  const graph = instance(model, { mode, captureSizes: CAPTURE_SIZES }, workload);
  const eager = instance(model, { mode: 'none' }, workload);
  const captured = graph.runtime.capture();
  eager.runtime.capture(); // mode 'none': captures nothing, every run is eager
  const failures = [];
  const routes = { full: 0, decodeGraph: 0, piecewise: 0, eager: 0 };
  let steps = 0;
  let rows = 0;
  for (let guard = 0; !graph.scheduler.done && failures.length === 0; guard++) {
    if (guard > 10_000) throw new Error(`mode ${mode}: the workload did not finish`);
    const batch = graph.scheduler.schedule();
    const eagerBatch = eager.scheduler.schedule();
    if (JSON.stringify(batch) !== JSON.stringify(eagerBatch)) {
      failures.push(`step ${steps}: the two schedulers diverged`);
      break;
    }
    if (batch === null) continue;
    const replayed = graph.runtime.execute(batch);
    failures.push(...checkStep(graph.runtime, batch, replayed).map((f) => `step ${steps} (${mode}): ${f}`));
    const reference = eager.runtime.execute(eagerBatch);
    failures.push(...checkStep(eager.runtime, eagerBatch, reference).map((f) => `step ${steps} (eager): ${f}`));
    if (reference.outcome.mode !== 'eager') failures.push(`step ${steps}: mode 'none' ran '${reference.outcome.mode}'`);
    if (!bitIdentical(replayed.logits, reference.logits)) {
      failures.push(
        `step ${steps} (${mode}, ${replayed.outcome.mode}, ${batch.tokens.length} tokens): replay logits differ from eager`,
      );
    }
    routes[replayed.outcome.mode]++;
    if (replayed.outcome.decodeGraph) routes.decodeGraph++;
    rows += batch.requests.length;
    steps++;
    graph.scheduler.complete(batch, replayed.sampled);
    eager.scheduler.complete(eagerBatch, reference.sampled);
  }
  const finished = graph.scheduler.finished.length;
  graph.runtime.dispose();
  eager.runtime.dispose();
  return { captured, failures, routes, steps, rows, finished, graphs: graph.runtime.capturedGraphs.size };
}

function main() {
  const model = createToyModel();
  const workload = randomWorkload(SEED, model.shape.vocabSize);
  const started = Date.now();
  let failed = false;
  for (const mode of MODES) {
    const r = runMode(model, mode, workload);
    const { full, decodeGraph, piecewise, eager } = r.routes;
    console.log(
      `custom-runtime: mode ${mode}: ${r.captured.graphs} graphs captured; ${r.steps} steps (${full} full-graph incl. ${decodeGraph} decode-graph, ${piecewise} piecewise, ${eager} eager), ${r.finished}/${workload.length} requests finished`,
    );
    if (r.failures.length > 0) {
      failed = true;
      for (const f of r.failures.slice(0, 10)) console.log(`custom-runtime: MISMATCH ${f}`);
    } else {
      console.log(
        `custom-runtime: mode ${mode}: replay == eager, bit-identical logits on ${r.steps} steps (${r.rows} request rows)`,
      );
      console.log(
        `custom-runtime: mode ${mode}: metadata rules hold on ${r.steps} steps (padded counts, full-graph flag, split bound, decode-graph flag, values frozen at capture by ${r.graphs} full graphs)`,
      );
    }
  }
  if (failed) {
    console.log('custom-runtime: FAILED');
    process.exitCode = 1;
    return;
  }
  console.log(
    `custom-runtime: ok (${MODES.length} modes, seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}

main();
