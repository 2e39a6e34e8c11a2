// Issue 16: bring your own scheduler. A shortest-prompt-first scheduler written against the
// exported interfaces only (Scheduler, KvBlockManager, commitSampled, maxKvTokens) runs a
// workload to completion with the same per-request tokens as the default FIFO scheduler.
import { describe, expect, it } from 'vitest';
import {
  commitSampled,
  createEngine,
  type KvBlockManager,
  maxKvTokens,
  type RequestState,
  type ScheduledBatch,
  type ScheduledRequest,
  type Scheduler,
  type SchedulerContext,
  type SchedulerLimits,
  syntheticDecoder,
} from '../src/index.js';
import { rng } from './helpers/reference-model.js';

/** Admits the waiting request with the shortest prompt first; no chunking (a prompt fits a step). */
class ShortestPromptFirst implements Scheduler {
  private readonly waiting: RequestState[] = [];
  private running: RequestState[] = [];
  readonly admissionOrder: number[] = [];

  constructor(
    private readonly blocks: KvBlockManager,
    private readonly limits: SchedulerLimits,
  ) {}

  get numWaiting() {
    return this.waiting.length;
  }
  get numRunning() {
    return this.running.length;
  }
  get hasUnfinished() {
    return this.waiting.length + this.running.length > 0;
  }

  add(request: RequestState): void {
    this.waiting.push(request);
  }

  schedule(stepIndex: number): ScheduledBatch {
    const out: ScheduledRequest[] = [];
    let budget = this.limits.maxNumBatchedTokens;
    const take = (request: RequestState, numNewTokens: number) => {
      const numComputedTokens = request.numComputedTokens;
      this.blocks.grow(request.id, numComputedTokens + numNewTokens);
      out.push({
        request,
        numNewTokens,
        numComputedTokens,
        blockTableRow: this.blocks.blockTableRow(request.id),
        sample: numComputedTokens + numNewTokens === request.tokens.length,
      });
      budget -= numNewTokens;
      if (request.scheduledAtStep < 0) request.scheduledAtStep = stepIndex;
    };
    // Running requests decode one token each (their prompts went in whole).
    for (const request of this.running) take(request, 1);
    this.waiting.sort((a, b) => a.promptLength - b.promptLength || a.id - b.id);
    while (this.waiting.length > 0 && this.running.length < this.limits.maxNumSeqs) {
      const request = this.waiting[0] as RequestState;
      if (request.promptLength > budget || !this.blocks.canReserve(maxKvTokens(request))) break;
      this.waiting.shift();
      this.blocks.reserve(request.id, maxKvTokens(request));
      request.status = 'running';
      this.running.push(request);
      this.admissionOrder.push(request.id);
      take(request, request.promptLength);
    }
    const numTokens = this.limits.maxNumBatchedTokens - budget;
    const numDecodes = out.filter((r) => r.numNewTokens === 1 && r.numComputedTokens > 0).length;
    return {
      requests: out,
      numTokens,
      numDecodes,
      numPrefills: out.length - numDecodes,
      uniformDecode: out.length > 0 && out.every((r) => r.numNewTokens === 1),
    };
  }

  commit(batch: ScheduledBatch, sampled: ArrayLike<number>, stepIndex: number, logprobs?: ArrayLike<number>) {
    const finished = commitSampled(batch, sampled, stepIndex, logprobs);
    for (const request of finished) this.blocks.release(request.id);
    this.running = this.running.filter((r) => r.status !== 'finished');
    return finished;
  }

  abort(request: RequestState, stepIndex: number): boolean {
    if (request.status === 'finished') return false;
    const at = this.waiting.indexOf(request);
    if (at >= 0) this.waiting.splice(at, 1);
    this.running = this.running.filter((r) => r !== request);
    if (this.blocks.has(request.id)) this.blocks.release(request.id);
    request.status = 'finished';
    request.finishReason = 'abort';
    request.finishedAtStep = stepIndex;
    return true;
  }

  clear(): void {
    for (const r of this.running) if (this.blocks.has(r.id)) this.blocks.release(r.id);
    this.running = [];
    this.waiting.length = 0;
  }
}

const model = syntheticDecoder({ numLayers: 2, numHeadsQ: 4, numHeadsKv: 2, headDim: 64, vocabSize: 512 });
const base = {
  model,
  cache: { blockSize: 4, numBlocks: 40 },
  limits: { maxNumSeqs: 3, maxNumBatchedTokens: 32 },
  backend: 'cpu' as const,
};

function workload(seed: number, n: number) {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({
    promptTokens: Array.from({ length: 1 + Math.floor(r() * 28) }, () => Math.floor(r() * 512)),
    maxNewTokens: 1 + Math.floor(r() * 8),
  }));
}

describe('bring your own scheduler', () => {
  it('a shortest-prompt-first scheduler gives the same per-request tokens as the default', async () => {
    const requests = workload(5, 12);
    const fifo = await createEngine(base);
    const ids = requests.map((r) => fifo.addRequest(r));
    const expected = (await fifo.run()).outputs;
    fifo.dispose();

    let custom: ShortestPromptFirst | undefined;
    const engine = await createEngine({
      ...base,
      scheduler: ({ blocks, limits }: SchedulerContext) => {
        custom = new ShortestPromptFirst(blocks, limits);
        return custom;
      },
    });
    for (const r of requests) engine.addRequest(r);
    const { outputs } = await engine.run();
    expect(outputs.map((o) => o.id)).toEqual(ids);
    for (const [i, o] of outputs.entries()) {
      expect([...o.outputTokens], `request ${i}`).toEqual([...(expected[i]?.outputTokens ?? [])]);
    }
    // It really scheduled differently: admissions by prompt length, not arrival.
    const order = custom?.admissionOrder ?? [];
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
    expect(engine.numFreeBlocks).toBe(40);
    // abort works through the custom scheduler too.
    const id = engine.addRequest({ promptTokens: [1, 2, 3], maxNewTokens: 4 });
    expect(engine.abort(id)).toBe(true);
    expect((await engine.step()).finished.map((o) => o.finishReason)).toEqual(['abort']);
    engine.dispose();
  });

  it('rejects a factory that returns no Scheduler, and a batch that breaks the contract', async () => {
    await expect(createEngine({ ...base, scheduler: (() => ({})) as never })).rejects.toMatchObject({
      code: 'invalid_value',
      path: 'options.scheduler',
    });
    await expect(createEngine({ ...base, scheduler: 5 as never })).rejects.toMatchObject({
      code: 'invalid_type',
      path: 'options.scheduler',
    });
    const engine = await createEngine({
      ...base,
      scheduler: ({ blocks, limits }) => {
        const inner = new ShortestPromptFirst(blocks, limits);
        // Claims more tokens than its requests hold.
        return Object.assign(Object.create(inner), {
          schedule: (step: number) => ({ ...inner.schedule(step), numTokens: 999 }),
        });
      },
    });
    engine.addRequest({ promptTokens: [1, 2], maxNewTokens: 1 });
    await expect(engine.step()).rejects.toMatchObject({ code: 'scheduler_contract', path: 'scheduler.schedule' });
    engine.dispose();
  });
});
