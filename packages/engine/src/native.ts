// Loads flashgraph_engine.node lazily: first $FLASHGRAPH_NATIVE_DIR, then this package's
// prebuilds. Never throws: a missing addon is reported with the paths tried, and the engine then
// runs on the CPU backend (or says why CUDA can't be used).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
}

export type NativeLoadResult = { addon: NativeEngine; path: string } | { addon: null; reason: string };
let cached: NativeLoadResult | undefined;

/** Where the addon is looked for, in order. */
export function addonCandidates(): string[] {
  const list: string[] = [];
  const dir = process.env.FLASHGRAPH_NATIVE_DIR;
  if (dir) list.push(join(dir, ADDON_FILE));
  // src/native.ts and dist/*.js both sit one level below the package root.
  try {
    list.push(fileURLToPath(new URL(`../prebuilds/linux-x64/${ADDON_FILE}`, import.meta.url)));
  } catch {
    // import.meta.url is not a file URL (some bundlers): only the env directory applies
  }
  return list;
}

/** The addon, or null with the reason it could not be loaded. Never throws; loads once. */
export function loadNative(): NativeLoadResult {
  if (cached) return cached;
  const tried: string[] = [];
  const require = createRequire(import.meta.url);
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      cached = { addon: require(path) as NativeEngine, path };
      return cached;
    } catch (err) {
      tried.push(`${path} (${(err as Error).message})`);
    }
  }
  cached = {
    addon: null,
    reason:
      `${ADDON_FILE} is not available (build it with \`npx -y pnpm@10.34.9 --filter @flashgraph/engine build\` ` +
      `or set FLASHGRAPH_NATIVE_DIR); tried: ${tried.join('; ')}`,
  };
  return cached;
}
