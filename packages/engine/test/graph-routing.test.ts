// Which route each engine step takes, per graph mode, on the CPU backend: uniform decode steps
// replay full graphs where the mode has them, mixed prefill/decode steps replay piecewise graphs
// (full graphs in mode 'full'), and steps above the max capture size run eagerly. The workload is
// the one the GPU suite compares modes with, so a workload that stops reaching a route fails here.
import { type GraphMode, padToCaptureSize } from '@flashgraph/config';
import { padRequestCount } from '@flashgraph/cuda-graph';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, type StepResult, syntheticDecoder } from '../src/index.js';
import { referenceGenerate } from './helpers/reference-model.js';
import { routingEngineOptions, routingWorkload } from './helpers/routing-workload.js';

/** min(2 x maxNumSeqs, 512, maxNumBatchedTokens) for routingEngineOptions. */
const DEFAULT_MAX_CAPTURE_SIZE = 32;
const model = syntheticDecoder({ numLayers: 2, numHeadsQ: 4, numHeadsKv: 2, headDim: 64, vocabSize: 512 });

/** The route the mode's contract gives a step (independent of the runner's tables). */
function expectedRoute(mode: GraphMode, step: StepResult, maxCaptureSize: number): StepResult['mode'] {
  if (step.numTokens > maxCaptureSize || mode === 'none') return 'eager';
  if (mode === 'full') return 'full';
  if (step.uniformDecode && mode !== 'piecewise') return 'full';
  return mode === 'full_decode_only' ? 'eager' : 'piecewise';
}

async function runSteps(engine: Engine): Promise<StepResult[]> {
  const steps: StepResult[] = [];
  while (engine.numRunning + engine.numWaiting > 0) steps.push(await engine.step());
  return steps;
}

describe('graph routing of engine steps (CPU backend)', () => {
  // Seeds 3 and 5 are the GPU suite's.
  describe.each([3, 5])('workload seed %i', (seed) => {
    const requests = routingWorkload(seed, model.shape.vocabSize);

    it.each<[GraphMode, StepResult['mode'][]]>([
      ['none', ['eager']],
      ['piecewise', ['piecewise', 'eager']],
      ['full', ['full', 'eager']],
      ['full_decode_only', ['full', 'eager']],
      ['full_and_piecewise', ['full', 'piecewise', 'eager']],
    ])('mode %s: every step takes its route, with the padded sizes; routes %j all occur', async (mode, routes) => {
      const engine = await createEngine({ model, graph: { mode }, ...routingEngineOptions, backend: 'cpu' });
      try {
        const config = engine.graphConfig;
        // The workload is built for the default max capture size of these limits (mode 'none' has none).
        expect(config.maxCaptureSize).toBe(mode === 'none' ? 0 : DEFAULT_MAX_CAPTURE_SIZE);
        for (const r of requests) engine.addRequest(r);
        const steps = await runSteps(engine);
        for (const step of steps) {
          const route = expectedRoute(mode, step, config.maxCaptureSize);
          const where = `step ${step.index} (${step.numTokens} tokens, ${step.numDecodes} decodes, ${step.numPrefills} prefills)`;
          expect(step.mode, where).toBe(route);
          if (route === 'eager') {
            expect([step.paddedTokens, step.paddedReqs], where).toEqual([step.numTokens, step.numReqs]);
          } else {
            const size = padToCaptureSize(config, step.numTokens) as number;
            // Uniform decode steps replay decode graphs (padded as decode) in every mode with full
            // graphs, mode 'full' included; other full-graph steps the mixed graphs of mode 'full'.
            const uniformDecode = step.uniformDecode && route === 'full';
            const reqs = padRequestCount({
              paddedTokens: size,
              uniformDecode,
              uniformDecodeQueryLen: config.uniformDecodeQueryLen,
              maxNumReqs: routingEngineOptions.limits.maxNumSeqs,
            });
            expect([step.paddedTokens, step.paddedReqs], where).toEqual([size, reqs]);
          }
        }
        const seen = new Set(steps.map((s) => s.mode));
        expect([...seen].sort()).toEqual([...routes].sort());
        // The mixed steps that reach the graphs are real prefill + decode mixes.
        const smallMixed = steps.filter((s) => !s.uniformDecode && s.numTokens <= DEFAULT_MAX_CAPTURE_SIZE);
        expect(smallMixed.some((s) => s.numDecodes > 0 && s.numPrefills > 0)).toBe(true);
        const stats = engine.stats();
        for (const m of ['full', 'piecewise', 'eager'] as const) {
          expect(stats.byMode[m].steps, m).toBe(steps.filter((s) => s.mode === m).length);
        }
        // Every full-graph decode step ran a decode graph, every other full-graph step a mixed one.
        const decodeGraphReplays = stats.runner.sizes.reduce((n, s) => n + s.decodeGraphReplays, 0);
        expect(decodeGraphReplays).toBe(steps.filter((s) => s.mode === 'full' && s.uniformDecode).length);
      } finally {
        engine.dispose();
      }
    });

    it('full_and_piecewise: outputs equal a direct recomputation of each sequence', async () => {
      const engine = await createEngine({
        model,
        graph: { mode: 'full_and_piecewise' },
        ...routingEngineOptions,
        backend: 'cpu',
      });
      try {
        for (const r of requests) engine.addRequest(r);
        const { outputs, stats } = await engine.run();
        expect(stats.byMode.piecewise.steps).toBeGreaterThan(0);
        for (const [i, o] of outputs.entries()) {
          expect([...o.outputTokens], `request ${i}`).toEqual(
            referenceGenerate(model.shape, requests[i]!.promptTokens, requests[i]!.maxNewTokens),
          );
        }
      } finally {
        engine.dispose();
      }
    });
  });
});
