// Loads flashgraph_fa3.node lazily: first $FLASHGRAPH_NATIVE_DIR, then this package's prebuilds.
// Importing the package never throws; a missing addon or device surfaces as a clear error when a
// GPU function is first called. The types below are the contract of docs/architecture.md.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADDON_FILE = 'flashgraph_fa3.node';

export interface Caps {
  numHeadsQ: number;
  numHeadsKv: number;
  headDim: number;
  dtype: 'bf16' | 'fp16';
  pageSize: number;
  numPages: number;
  maxNumReqs: number;
  maxNumTokens: number;
  maxNumPagesPerReq: number;
  maxNumSplits: number;
  causal: boolean;
  /** -1 = unbounded. */
  windowLeft: number;
  windowRight: number;
  /** 0 = off. */
  softcap: number;
}

export interface WorkspaceLayout {
  totalBytes: number;
  splitsOffset: number;
  tileOffsetsOffset: number;
  countersOffset: number;
  countersBytes: number;
  oPartialOffset: number;
  lsePartialOffset: number;
}

export interface NativeFa3 {
  status(): { available: boolean; reason?: string; smCount?: number; deviceName?: string };
  tileShape(headDim: number, qheadsPerKvhead: number): { blockM: number; blockN: number };
  workspaceLayout(caps: Caps): WorkspaceLayout;
  resolveNumSplits(a: { caps: Caps; numSplits: number; maxSeqlenQ: number; maxSeqlenK: number; smCount: number }): number;
  planSplitsHost(a: {
    caps: Caps;
    cuSeqlensQ: Int32Array;
    seqLens: Int32Array;
    numReqs: number;
    numSplitsBound: number;
    smCount: number;
  }): { splits: Int32Array; tileOffsets: Int32Array; totalTiles: number };
  prepare(a: {
    stream: bigint;
    workspace: bigint;
    caps: Caps;
    cuSeqlensQ: bigint;
    seqLens: bigint;
    numReqs: number;
    numSplitsBound: number;
    smCount: number;
  }): void;
  forward(a: {
    stream: bigint;
    workspace: bigint;
    caps: Caps;
    q: bigint;
    kCache: bigint;
    vCache: bigint;
    out: bigint;
    lse: bigint;
    pageTable: bigint;
    pageTableStride: number;
    cuSeqlensQ: bigint;
    seqLens: bigint;
    numReqs: number;
    maxSeqlenQ: number;
    maxSeqlenK: number;
    softmaxScale: number;
    numSplitsBound: number;
    smCount: number;
  }): void;
  writeKvCache(a: {
    stream: bigint;
    caps: Caps;
    key: bigint;
    value: bigint;
    kCache: bigint;
    vCache: bigint;
    slotMapping: bigint;
    numTokens: number;
  }): void;
}

type LoadResult = { addon: NativeFa3; path: string } | { addon: null; reason: string };
let cached: LoadResult | undefined;

/** Where the addon is looked for, in order. */
export function addonCandidates(): string[] {
  const list: string[] = [];
  const dir = process.env.FLASHGRAPH_NATIVE_DIR;
  if (dir) list.push(join(dir, ADDON_FILE));
  // src/native.ts and dist/index.* both sit one level below the package root.
  try {
    list.push(fileURLToPath(new URL(`../prebuilds/linux-x64/${ADDON_FILE}`, import.meta.url)));
  } catch {
    // import.meta.url is not a file URL (unusual bundlers): only the env directory applies
  }
  return list;
}

/** The addon, or null with the reason it could not be loaded. Never throws; loads once. */
export function loadNative(): LoadResult {
  if (cached) return cached;
  const tried: string[] = [];
  const require = createRequire(import.meta.url);
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      cached = { addon: require(path) as NativeFa3, path };
      return cached;
    } catch (err) {
      tried.push(`${path} (${(err as Error).message})`);
    }
  }
  cached = {
    addon: null,
    reason: `${ADDON_FILE} is not available (build it with \`pnpm --filter @flashgraph/fa3 build\` or set FLASHGRAPH_NATIVE_DIR); tried: ${tried.join('; ')}`,
  };
  return cached;
}
