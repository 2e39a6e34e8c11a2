// Loads flashgraph_models.node lazily: $FLASHGRAPH_NATIVE_DIR, this package's prebuilds (a binary
// built here), then the platform package (@flashgraph/cuda's createNativeAddonLoader). Never
// throws: a missing addon is a reason naming the paths tried, and the models' CUDA backend is then
// unavailable (the CPU backend still works).
import { createNativeAddonLoader, type NativeAddonLoad } from '@flashgraph/cuda';
import { withModelsErrors } from './native-errors.js';

export const MODELS_ADDON_FILE = 'flashgraph_models.node';

/** 0 = bf16, 1 = fp16, 2 = fp32 (the addon's element types). */
export type NativeElemType = 0 | 1 | 2;

export interface NativeCublasLtStatus {
  readonly available: boolean;
  /** The file loaded. */
  readonly path?: string;
  /** cublasLtGetVersion(), e.g. 130100 for 13.1.0. */
  readonly version?: number;
  readonly reason?: string;
  /** Every candidate file, with what happened. */
  readonly tried: readonly string[];
  /** What to install when it is missing. */
  readonly install: string;
}

export interface NativeGemmOptions {
  /** Output features (rows of W). */
  n: number;
  /** Input features. */
  k: number;
  /** Most rows per call. */
  maxM: number;
  inDtype: 0 | 1;
  outDtype: NativeElemType;
  /** Device [n] of outDtype, added in the epilogue. */
  bias?: bigint;
  workspace: bigint;
  workspaceBytes: number;
  /**
   * Calls of at most 8 rows take the skinny kernel (native/models/kernels/skinny_gemm.h) instead
   * of cuBLASLt. Default: the environment's FLASHGRAPH_MODELS_SKINNY_GEMM=1 (read once).
   */
  skinny?: boolean;
}

/** The skinny kernel's split of an n x k GEMM (kSplit warps share each 16-row tile of W). */
export interface NativeSkinnyGemmPlan {
  kSplit: 1 | 2 | 4 | 8;
  tilesPerCta: number;
  /** k summed by each warp. */
  kChunk: number;
  numCtas: number;
}

export interface NativeSkinnyGemmStatus {
  /** The option (or the environment's default). */
  requested: boolean;
  /** Whether calls of m <= 8 take it (every Gemm's k is a multiple of 8, so: requested). */
  enabled: boolean;
  plan?: NativeSkinnyGemmPlan;
}

/** One planned GEMM y[m, n] = x[m, k] @ W[n, k]^T (+ bias): cuBLASLt, or the skinny kernel for m <= 8. */
export interface NativeGemm {
  run(x: bigint, w: bigint, y: bigint, m: number, stream: bigint): void;
  /** The most rows a call with m rows touches (cuBLASLt computes its planned bucket; the skinny kernel m). */
  paddedRows(m: number): number;
  buckets(): number[];
  /**
   * For W = [gate; up] (even n, no bias, output in the input dtype): act [m, n / 2] = SiLU(x @
   * gate^T) * (x @ up^T) in one skinny launch, bit-identical to run() then siluMul(). Only where
   * kernelFor(m) is 'skinny' (else an InvalidArgumentError); x and W 16-byte aligned.
   */
  runSiluMul(x: bigint, w: bigint, act: bigint, m: number, stream: bigint): void;
  /** The kernel a call of m rows runs (x and W 16-byte aligned, as device allocations are; else cuBLASLt). */
  kernelFor(m: number): 'skinny' | 'cublaslt';
  skinny(): NativeSkinnyGemmStatus;
  dispose(): void;
}

export interface NativeLlamaKernelsOptions {
  hiddenSize: number;
  numHeadsQ: number;
  numHeadsKv: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  rmsNormEps: number;
  /** 0 = bf16, 1 = fp16 */
  dtype: 0 | 1;
  maxNumTokens: number;
  maxNumReqs: number;
}

/** The kernels around the GEMMs (native/models/kernels/llama_kernels.h); each launches on `stream`. */
export interface NativeLlamaKernels {
  embed(table: bigint, tokenIds: bigint, out: bigint, numTokens: number, stream: bigint): void;
  addRmsNorm(x: bigint, delta: bigint, weight: bigint, out: bigint, numTokens: number, stream: bigint): void;
  qkvRope(
    qkv: bigint,
    qNorm: bigint,
    kNorm: bigint,
    invFreq: bigint,
    positions: bigint,
    q: bigint,
    k: bigint,
    v: bigint,
    numTokens: number,
    stream: bigint,
  ): void;
  siluMul(gateUp: bigint, out: bigint, numTokens: number, stream: bigint): void;
  gatherFinalNorm(
    x: bigint,
    delta: bigint,
    weight: bigint,
    sampleRows: bigint,
    out: bigint,
    numReqs: number,
    numTokens: number,
    stream: bigint,
  ): void;
}

export interface NativeModels {
  status(): { available: boolean; reason?: string; deviceCount: number };
  cublasLt(): NativeCublasLtStatus;
  convert(
    src: bigint,
    srcType: NativeElemType,
    dst: bigint,
    dstType: NativeElemType,
    count: number,
    stream: bigint,
  ): void;
  Gemm: new (options: NativeGemmOptions) => NativeGemm;
  /** The skinny kernel's split of an n x k GEMM on numSms SMs (k must be a multiple of 8). */
  skinnyGemmPlan(n: number, k: number, numSms: number): NativeSkinnyGemmPlan;
  /** FLASHGRAPH_MODELS_SKINNY_GEMM=1 when the addon loaded: the Gemm option's default. */
  readonly skinnyGemmDefault: boolean;
  LlamaKernels: new (options: NativeLlamaKernelsOptions) => NativeLlamaKernels;
}

/**
 * The addon, or null with the reason it could not be loaded. Never throws; loads once. Its calls
 * throw FlashgraphErrors (native-errors.ts).
 */
export const loadModelsNative: () => NativeAddonLoad<NativeModels> = withModelsErrors(
  createNativeAddonLoader<NativeModels>({
    file: MODELS_ADDON_FILE,
    moduleUrl: import.meta.url,
    buildCommand: 'npx -y pnpm@10.34.9 --filter @flashgraph/models build',
  }),
);
