// The skinny GEMM y = x @ W^T for at most 8 rows of x (decode at batch 1..8): a weight-streaming
// kernel of our own, used by GemmPlan instead of cuBLASLt's small-M kernels. Plain C++ API (no
// Node headers); the launcher checks every argument, returns a CUDA error code and never aborts.
//
// Shape: x [m, k] and W [n, k] row-major (bf16 or fp16), y [m, n] row-major (the input dtype or
// fp32), optional bias [n] of y's dtype. fp32 accumulation (tensor-core mma with W as the A
// operand and x^T as the B operand, so m <= 8 fills the mma's n side), the bias added in fp32 and
// one rounding to y's dtype, as cuBLASLt's bias epilogue. Deterministic: a fixed split of k over
// the warps of one CTA, reduced through shared memory in a fixed order (no atomics), so eager
// calls and graph replays give the same bits.
//
// Requirements (else the caller uses cuBLASLt): 1 <= m <= 8, k a multiple of 8 and x and W
// 16-byte aligned (every load is a 16-byte vector of 8 elements).
//
// With `siluMul`, the gate/up projection and SiLU x up are one kernel (one launch and one
// round trip of the [m, 2I] product fewer per layer), bit-identical to the two.
#pragma once
#include <cstdint>
#include <cuda_runtime.h>

namespace flashgraph_models {

constexpr int kSkinnyMaxRows = 8;        // rows of x: the mma's n extent
constexpr int kSkinnyWarps = 8;          // warps per CTA
constexpr int kSkinnyTileRows = 16;      // rows of W per warp: the mma's m extent
constexpr int kSkinnyVector = 8;         // elements per 16-byte load
constexpr int kSkinnyLoadsInFlight = 4;  // 16-byte loads of each W row per warp step
constexpr int kSkinnyLanesPerRow = 4;   // lanes t = 0..3 of a W row (the mma fragment's k side)
constexpr int kSkinnyBlockK = kSkinnyLanesPerRow * kSkinnyVector;  // k of one 16-byte load per lane: 32
constexpr int kSkinnyStepK = kSkinnyBlockK * kSkinnyLoadsInFlight;  // k of one warp step: 128
constexpr int kSkinnyMaxSplit = 8;
// Warps per SM the plan aims to fill (ptxas: 46 registers, so five CTAs of 8 warps fit an SM).
constexpr int kSkinnyTargetWarpsPerSm = 16;

/** How one call is split: kSplit warps share each 16-row tile of W, each summing kChunk of k. */
struct SkinnyGemmPlan {
  int kSplit;       // 1, 2, 4 or 8
  int tilesPerCta;  // kSkinnyWarps / kSplit
  int kChunk;       // k per warp, a multiple of kSkinnyVector (the last warp's share may be shorter)
  int numCtas;
};

/**
 * The split for n x k on a device of numSms SMs: the smallest k split (a power of two up to 8)
 * that gives at least kSkinnyTargetWarpsPerSm warps per SM, while every warp keeps at least two
 * full steps of k (so a split never leaves warps with nothing to stream). Small n (the q/k/v and
 * o projections of 8B-class models: 384 or 256 tiles) get split 8; the gate/up projection split
 * 2; the LM head split 1. Integer maths only, the same on every call.
 */
inline SkinnyGemmPlan skinnyGemmPlan(int n, int k, int numSms) {
  const long long tiles = (static_cast<long long>(n) + kSkinnyTileRows - 1) / kSkinnyTileRows;
  const long long target = static_cast<long long>(numSms > 0 ? numSms : 1) * kSkinnyTargetWarpsPerSm;
  int split = 1;
  while (split < kSkinnyMaxSplit && tiles * split < target &&
         static_cast<long long>(k) >= 2LL * 2 * split * kSkinnyStepK)
    split *= 2;
  const int perWarp = (k + split - 1) / split;
  SkinnyGemmPlan p{};
  p.kSplit = split;
  p.tilesPerCta = kSkinnyWarps / split;
  p.kChunk = (perWarp + kSkinnyVector - 1) / kSkinnyVector * kSkinnyVector;
  p.numCtas = static_cast<int>((tiles + p.tilesPerCta - 1) / p.tilesPerCta);
  return p;
}

/** Why an n x k GEMM cannot take the skinny kernel ("" when it can). */
inline const char* skinnyGemmShapeProblem(int n, int k) {
  if (n <= 0 || k <= 0) return "sizes must be positive";
  if (k % kSkinnyVector != 0) return "k must be a multiple of 8 (16-byte loads of bf16/fp16)";
  return "";
}

/** Whether x and W allow the 16-byte loads. */
inline bool skinnyGemmAligned(const void* x, const void* w) {
  return (reinterpret_cast<uintptr_t>(x) % 16 == 0) && (reinterpret_cast<uintptr_t>(w) % 16 == 0);
}

struct SkinnyGemmArgs {
  const void* x;
  const void* w;
  const void* bias;  // [n] of outType, or null
  void* y;
  int m;
  int n;
  int k;
  int inType;   // 0 bf16, 1 fp16
  int outType;  // 0 bf16, 1 fp16, 2 fp32 (fp32 or inType)
  SkinnyGemmPlan plan;  // from skinnyGemmPlan(n, k, ...)
  // W is [gate; up] (n = 2 I rows) and y [m, I] = SiLU(x @ gate^T) * (x @ up^T), each product
  // rounded to the input dtype first, as the GEMM followed by launchSiluMul rounds it (the same
  // tiles: 8 gate rows with the 8 up rows of the same features). outType = inType, no bias.
  bool siluMul;
};

/** Enqueues the skinny GEMM on stream (no allocation, capturable); cudaErrorInvalidValue on bad arguments. */
cudaError_t launchSkinnyGemm(const SkinnyGemmArgs& args, cudaStream_t stream);

}  // namespace flashgraph_models
