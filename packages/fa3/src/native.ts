// Loads flashgraph_fa3.node lazily: $FLASHGRAPH_NATIVE_DIR, this package's prebuilds (a binary built
// here), then the platform package (@flashgraph/cuda's createNativeAddonLoader).
// Importing the package never throws; a missing addon or device surfaces as a clear error when a
// GPU function is first called. The types below are the contract of docs/architecture.md.
import { createNativeAddonLoader, type NativeAddonLoad } from '@flashgraph/cuda';
import type { ForwardKernelName } from './forward-kernel.js';

export const ADDON_FILE = 'flashgraph_fa3.node';

export interface Caps {
  numHeadsQ: number;
  numHeadsKv: number;
  headDim: number;
  dtype: 'bf16' | 'fp16';
  /** The cache's element type; absent = dtype. */
  kvDtype?: 'bf16' | 'fp16' | 'fp8_e4m3';
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
  orderOffset: number;
  countersOffset: number;
  countersBytes: number;
  oPartialOffset: number;
  lsePartialOffset: number;
}

export interface NativeFa3 {
  status(): { available: boolean; reason?: string; smCount?: number; deviceName?: string };
  tileShape(headDim: number, qheadsPerKvhead: number, kernel?: ForwardKernelName): { blockM: number; blockN: number };
  forwardKernel(maxSeqlenQ: number, qheadsPerKvhead: number, headDim?: number): ForwardKernelName;
  workspaceLayout(caps: Caps): WorkspaceLayout;
  resolveNumSplits(a: {
    caps: Caps;
    numSplits: number;
    maxSeqlenQ: number;
    maxSeqlenK: number;
    smCount: number;
  }): number;
  planSplitsHost(a: {
    caps: Caps;
    cuSeqlensQ: Int32Array;
    seqLens: Int32Array;
    numReqs: number;
    numSplitsBound: number;
    smCount: number;
    kernel?: ForwardKernelName;
  }): { splits: Int32Array; tileOffsets: Int32Array; order: Int32Array; totalTiles: number };
  /** One request's tiles in the kernels' order (scheduling.h tile_coord): [kvHead, mBlock, split] per position, one past the end too. */
  tileOrder(a: {
    numHeadsKv: number;
    headDim: number;
    kLen: number;
    mBlocks: number;
    splits: number;
    causal: boolean;
  }): Int32Array;
  prepare(a: {
    stream: bigint;
    workspace: bigint;
    caps: Caps;
    cuSeqlensQ: bigint;
    seqLens: bigint;
    numReqs: number;
    /** Picks the kernel whose tiles the schedule numbers (forward must pick one of the same tile shape). */
    maxSeqlenQ: number;
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
    /** fp32 [Hq] sink logits; 0n: none. */
    sinks: bigint;
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
    /** fp8 caches: fp32 [Hkv] descale factors (absent = all 1). */
    kDescale?: bigint;
    vDescale?: bigint;
    /** fp8 caches: decode steps run the decode kernel's fast fp8 path (FLASHGRAPH_FA3_FP8_FAST). */
    fp8Fast?: boolean;
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
    kDescale?: bigint;
    vDescale?: bigint;
  }): void;
}

export type LoadResult = NativeAddonLoad<NativeFa3>;

/** The addon, or null with the reason it could not be loaded. Never throws; loads once. */
export const loadNative: () => LoadResult = createNativeAddonLoader<NativeFa3>({
  file: ADDON_FILE,
  moduleUrl: import.meta.url,
  buildCommand: 'npx -y pnpm@10.34.9 --filter @flashgraph/fa3 build',
});
