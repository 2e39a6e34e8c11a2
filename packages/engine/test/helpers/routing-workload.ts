// A workload that sends steps down every route of every graph mode, shared by the CPU test that
// guards it and the GPU test that compares modes with it. Scheduling depends only on prompt
// lengths, maxNewTokens and these limits (never on the sampled tokens or the backend), so what
// the CPU test sees is exactly what the GPU engine runs.
//
// With these limits the default max capture size is min(2 x 16, 512, 256) = 32:
// - the long prompts (1..150 tokens) fill the 256-token budget: mixed steps above 32, eager;
// - the short prompts (2..6 tokens) queued behind them are admitted one or two at a time while
//   the others decode: mixed steps of at most 32 tokens, piecewise in `piecewise` and
//   `full_and_piecewise` (full in `full`);
// - the decode tail: uniform decode steps, full graphs in every mode that has them.
import { rng } from './reference-model.js';

export const routingEngineOptions = {
  cache: { blockSize: 16, numBlocks: 512 },
  limits: { maxNumSeqs: 16, maxNumBatchedTokens: 256 },
} as const;

export interface WorkloadRequest {
  promptTokens: number[];
  maxNewTokens: number;
}

export function routingWorkload(seed: number, vocabSize: number, numLong = 24, numShort = 8): WorkloadRequest[] {
  const r = rng(seed);
  const request = (minPrompt: number, maxPrompt: number, minOut: number, maxOut: number): WorkloadRequest => ({
    promptTokens: Array.from({ length: minPrompt + Math.floor(r() * (maxPrompt - minPrompt + 1)) }, () =>
      Math.floor(r() * vocabSize),
    ),
    maxNewTokens: minOut + Math.floor(r() * (maxOut - minOut + 1)),
  });
  const long = Array.from({ length: numLong }, () => request(1, 150, 1, 12));
  const short = Array.from({ length: numShort }, () => request(2, 6, 2, 12));
  return [...long, ...short];
}
