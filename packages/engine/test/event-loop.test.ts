// Issue 18: step() and run() stay off the event loop's back. A long CPU-backend run() lets a
// 10 ms timer fire between its steps, and an AbortSignal stops a run (or a step) at a step
// boundary with a typed error, leaving an engine that finishes the same tokens afterwards.
import { isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import { createEngine, EngineAbortedError, type RequestOutput, syntheticDecoder } from '../src/index.js';

const model = syntheticDecoder({ numLayers: 4, numHeadsQ: 4, numHeadsKv: 2, headDim: 64, vocabSize: 256 });
const options = {
  model,
  cache: { blockSize: 8, numBlocks: 256 },
  limits: { maxNumSeqs: 8, maxNumBatchedTokens: 64 },
  backend: 'cpu' as const,
  graph: { mode: 'none' as const },
};
const requests = Array.from({ length: 16 }, (_, i) => ({
  promptTokens: Array.from({ length: 24 + i }, (_, j) => (i * 31 + j * 7) % 256),
  maxNewTokens: 48,
}));

function tokensOf(outputs: readonly RequestOutput[]) {
  return new Map(outputs.map((o) => [o.id, [...o.outputTokens]]));
}

describe('off the event loop', () => {
  it('a 10 ms timer fires during a long CPU-backend run()', async () => {
    const engine = await createEngine(options);
    for (const r of requests) engine.addRequest(r);
    let ticks = 0;
    let runDone = false;
    let firedDuringRun = false;
    const timer = setInterval(() => {
      ticks++;
      if (!runDone) firedDuringRun = true;
    }, 10);
    try {
      const { stats } = await engine.run();
      runDone = true;
      // Many steps ran: the run was long enough for a 10 ms timer to be due before it ended.
      expect(stats.steps).toBeGreaterThan(40);
      expect(firedDuringRun).toBe(true);
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
      engine.dispose();
    }
  });

  it('an aborted run stops at a step boundary with code aborted; a later run finishes the same tokens', async () => {
    const reference = await createEngine(options);
    for (const r of requests) reference.addRequest(r);
    const expected = tokensOf((await reference.run()).outputs);
    reference.dispose();

    const engine = await createEngine(options);
    for (const r of requests) engine.addRequest(r);
    const controller = new AbortController();
    // Aborted from a timer: it can only fire between two steps.
    const timer = setTimeout(() => controller.abort(new Error('client went away')), 10);
    const error = await engine.run({ signal: controller.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    clearTimeout(timer);
    expect(isFlashgraphError(error)).toBe(true);
    expect(error).toBeInstanceOf(EngineAbortedError);
    const aborted = error as EngineAbortedError<RequestOutput>;
    expect(aborted.code).toBe('aborted');
    expect(aborted.path).toBe('run');
    expect((aborted.cause as Error).message).toBe('client went away');
    expect(engine.numWaiting + engine.numRunning).toBeGreaterThan(0);

    // The engine is usable: the rest runs to completion with exactly the tokens of an
    // uninterrupted run.
    const rest = await engine.run();
    const got = new Map([...tokensOf(aborted.outputs), ...tokensOf(rest.outputs)]);
    expect(got).toEqual(expected);
    expect(engine.numFreeBlocks).toBe(256);
    engine.dispose();
  });

  it('step() with an aborted signal rejects before the step and changes nothing', async () => {
    const engine = await createEngine(options);
    engine.addRequest(requests[0] as (typeof requests)[0]);
    const signal = AbortSignal.abort();
    await expect(engine.step({ signal })).rejects.toMatchObject({ code: 'aborted', path: 'step' });
    expect(engine.numWaiting).toBe(1);
    expect(engine.stats().steps).toBe(0);
    expect((await engine.step()).numReqs).toBe(1);
    engine.dispose();
  });

  it('rejects a signal that is not an AbortSignal, and unknown options', async () => {
    const engine = await createEngine(options);
    await expect(engine.run({ signal: {} as never })).rejects.toMatchObject({
      code: 'invalid_type',
      path: 'run(options).signal',
    });
    await expect(engine.step({ single: 1 } as never)).rejects.toMatchObject({
      code: 'unknown_option',
      path: 'step(options).single',
    });
    engine.dispose();
  });
});
