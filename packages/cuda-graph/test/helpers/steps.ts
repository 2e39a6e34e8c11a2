// Steps for CPU tests: each segment launches one named "kernel" whose name encodes what the step
// saw, and every call is logged with its phase.
import type { GraphMode } from '@flashgraph/config';
import { resolveGraphConfig } from '@flashgraph/config';
import { createGraphRunnerWithBackend } from '../../src/index.js';
import type { CaptureProgress, SegmentedStep, StepContext } from '../../src/types.js';
import { type FakeStream, RecordingBackend } from './recording-backend.js';

export type Ctx = StepContext<FakeStream>;

export interface StepCall {
  segment: string;
  phase: Ctx['phase'];
  numTokens: number;
  numReqs: number;
  uniformDecode: boolean;
}

export function kernelName(
  segment: string,
  ctx: { numTokens: number; numReqs: number; uniformDecode: boolean },
): string {
  return `${segment}(${ctx.numTokens},${ctx.numReqs},${ctx.uniformDecode ? 'd' : 'm'})`;
}

/** pre (graph) -> attn (eager) -> post (graph), as a model's forward would be split. */
export function segmentedStep(calls: StepCall[] = []): SegmentedStep<FakeStream> {
  const seg = (name: string, kind: 'graph' | 'eager') => ({
    kind,
    run(ctx: Ctx) {
      calls.push({
        segment: name,
        phase: ctx.phase,
        numTokens: ctx.numTokens,
        numReqs: ctx.numReqs,
        uniformDecode: ctx.uniformDecode,
      });
      ctx.stream.kernel(kernelName(name, ctx));
    },
  });
  return { segments: [seg('pre', 'graph'), seg('attn', 'eager'), seg('post', 'graph')] };
}

export const SMALL_SIZES = [1, 2, 4, 8, 16];

export function smallConfig(mode: GraphMode, extra: { numWarmups?: number; captureSizes?: number[] } = {}) {
  return resolveGraphConfig(
    {
      mode,
      captureSizes: extra.captureSizes ?? SMALL_SIZES,
      ...(extra.numWarmups === undefined ? {} : { numWarmups: extra.numWarmups }),
    },
    { maxNumSeqs: 16, maxNumBatchedTokens: 64 },
  );
}

export function makeRunner(
  mode: GraphMode,
  opts: {
    numWarmups?: number;
    maxNumReqs?: number;
    onProgress?: (e: CaptureProgress) => void;
    captureSizes?: number[];
  } = {},
) {
  const backend = new RecordingBackend();
  const config = smallConfig(mode, opts);
  // Through the public entry: every CPU test of the runner exercises createGraphRunnerWithBackend.
  const runner = createGraphRunnerWithBackend({
    config,
    backend,
    onProgress: opts.onProgress,
    maxNumReqs: opts.maxNumReqs,
  });
  return { backend, runner, config };
}

export const ALL_MODES: GraphMode[] = ['none', 'full', 'full_decode_only', 'piecewise', 'full_and_piecewise'];
