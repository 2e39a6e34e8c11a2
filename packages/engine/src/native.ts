// Loads flashgraph_engine.node lazily: $FLASHGRAPH_NATIVE_DIR, this package's prebuilds (a binary
// built here), then the platform package (@flashgraph/cuda's createNativeAddonLoader). Never
// throws: a missing addon is reported with the paths tried, and the engine then runs on the CPU
// backend (or says why CUDA can't be used).
import { createNativeAddonLoader, type NativeAddonLoad } from '@flashgraph/cuda';
import { withEngineErrors } from './native-errors.js';

export const ADDON_FILE = 'flashgraph_engine.node';

export interface SyntheticKernelsOptions {
  hiddenSize: number;
  qSize: number;
  kvSize: number;
  headDim: number;
  vocabSize: number;
  /** 0 = bf16, 1 = fp16 */
  dtype: 0 | 1;
  numLayers: number;
  maxNumTokens: number;
  maxNumReqs: number;
}

/** The synthetic decoder's kernels; every method launches one kernel on `stream` (bigint). */
export interface NativeSyntheticKernels {
  embed(tokenIds: bigint, positions: bigint, hidden: bigint, numTokens: number, stream: bigint): void;
  project(layer: number, hidden: bigint, q: bigint, k: bigint, v: bigint, numTokens: number, stream: bigint): void;
  residual(layer: number, hidden: bigint, attnOut: bigint, numTokens: number, stream: bigint): void;
  sample(hidden: bigint, sampleRows: bigint, sampled: bigint, numReqs: number, numTokens: number, stream: bigint): void;
}

export interface NativeEngine {
  status(): { available: boolean; reason?: string; deviceCount: number };
  SyntheticKernels: new (options: SyntheticKernelsOptions) => NativeSyntheticKernels;
  /** Device scratch the sampler needs for these limits (absent in addons built before the sampler). */
  samplerWorkspaceBytes?(vocabSize: number, maxNumReqs: number): number;
  /**
   * The device sampler (contract B in model.ts's sampling): one synchronous, capturable launch on
   * `stream` that allocates nothing. `params` is the 24 * maxNumReqs-byte struct of arrays.
   */
  sample?(
    logits: bigint,
    params: bigint,
    sampleRows: bigint,
    sampled: bigint,
    logprobs: bigint,
    workspace: bigint,
    vocabSize: number,
    numReqs: number,
    maxNumReqs: number,
    stream: bigint,
  ): void;
}

/** The addon's device sampler, or null when the loaded addon (or none) lacks it. */
export function nativeSampler(): Required<Pick<NativeEngine, 'sample' | 'samplerWorkspaceBytes'>> | null {
  const addon = loadNative().addon;
  if (!addon || typeof addon.sample !== 'function' || typeof addon.samplerWorkspaceBytes !== 'function') return null;
  return addon as Required<Pick<NativeEngine, 'sample' | 'samplerWorkspaceBytes'>>;
}

export type NativeLoadResult = NativeAddonLoad<NativeEngine>;

/**
 * The addon, or null with the reason it could not be loaded. Never throws; loads once. Its calls
 * throw FlashgraphErrors (native-errors.ts).
 */
export const loadNative: () => NativeLoadResult = withEngineErrors(
  createNativeAddonLoader<NativeEngine>({
    file: ADDON_FILE,
    moduleUrl: import.meta.url,
    buildCommand: 'npx -y pnpm@10.34.9 --filter @flashgraph/engine build',
  }),
);
