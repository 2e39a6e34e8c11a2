// The skinny GEMM kernel (see skinny_gemm.h). At m <= 8 a GEMM is a stream of W: every byte of
// W is read once and used m times, so the kernel's job is to keep HBM busy: 16-byte loads, four
// per W row in flight per warp step (plus the CTAs resident beside it), W read around L1 so x
// stays cached there, and tensor-core mma so the multiply costs nothing next to the loads.
//
// Fragment trick: mma.m16n8k16 sums over k, and a sum does not care in which order k comes, so
// each lane may take 8 consecutive k of one W row as its 16-byte load and call them whatever
// logical k the fragment layout wants, as long as x's B fragment uses the same renaming. Lane
// (g = lane / 4, t = lane % 4) loads W rows g and g + 8 of the tile and x row g, all at k offset
// 8 t of each 32-k block; words 0 and 1 of those loads feed one mma, words 2 and 3 the next. No
// shuffles, no shared-memory staging of x.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "flashgraph/elem_conv.cuh"
#include "flashgraph/mma.cuh"
#include "skinny_gemm.h"

namespace flashgraph_models {
namespace {

using flashgraph::Conv;
using flashgraph::MmaOp;

constexpr int kThreads = kSkinnyWarps * 32;
constexpr int kUnroll = kSkinnyLoadsInFlight;

// W: read once, so not kept in L1 (x is); the L2 fetches 256 bytes per miss (a row's next loads).
__device__ __forceinline__ uint4 loadStreaming(const void* p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}

__device__ __forceinline__ uint4 loadCached(const void* p) { return __ldg(static_cast<const uint4*>(p)); }

// One CTA: tilesPerCta tiles of 16 W rows, each summed over k by kSplit warps (warp w takes tile
// w / kSplit, k part w % kSplit). Partial sums meet in shared memory and the part-0 warp adds them
// in part order, adds the bias and rounds once.
// kSiluMul: W is [gate; up] (n = 2 I rows); a tile is gate rows f..f+7 (mma rows g) and the up rows
// of the same features (mma rows g + 8), so each lane ends with gate and up of one (row, feature)
// and writes y [m, I] = SiLU(gate) x up, rounded exactly as the GEMM's output and launchSiluMul
// round them (gate and up to T, SiLU to T, the product to T).
template <typename T, typename OutT, bool kSiluMul>
__global__ void __launch_bounds__(kThreads) skinnyGemmKernel(const T* __restrict__ x, const T* __restrict__ w,
                                                             const OutT* __restrict__ bias, OutT* __restrict__ y,
                                                             int m, int n, int k, int kSplit, int kChunk) {
  __shared__ float partial[kSkinnyWarps][4][32];
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int g = lane >> 2;
  const int t = lane & 3;
  const int tilesPerCta = kSkinnyWarps / kSplit;
  const int part = warp % kSplit;
  const long long tile = static_cast<long long>(blockIdx.x) * tilesPerCta + warp / kSplit;
  const int features = kSiluMul ? n / 2 : n;  // rows of W per half (gate or up) / output columns
  const long long row0 = kSiluMul ? tile * 8 + g : tile * kSkinnyTileRows + g;
  const long long row1 = kSiluMul ? row0 + features : row0 + 8;
  // Rows past W's end and x rows past m are read from the last valid row instead of being
  // predicated off: an mma output depends only on its own A row and B column, and those outputs
  // are never written, so the main loop needs no predicate and no branch around any load.
  const long long load0 = min(row0, static_cast<long long>(features - 1));
  const long long load1 = kSiluMul ? load0 + features : min(row1, static_cast<long long>(n - 1));
  const T* w0 = w + load0 * k;
  const T* w1 = w + load1 * k;
  const T* xr = x + static_cast<long long>(min(g, m - 1)) * k;
  const int kBegin = part * kChunk;
  const int kEnd = min(k, kBegin + kChunk);

  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  uint4 a0[kUnroll];
  uint4 a1[kUnroll];
  uint4 b[kUnroll];
  int kb = kBegin;
  // Whole steps: all 3 x kUnroll loads issued before the first mma needs one.
  for (; kb + kSkinnyStepK <= kEnd; kb += kSkinnyStepK) {
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int kk = kb + u * kSkinnyBlockK + t * kSkinnyVector;
      a0[u] = loadStreaming(w0 + kk);
      a1[u] = loadStreaming(w1 + kk);
      b[u] = loadCached(xr + kk);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      MmaOp<T>::run(acc, {a0[u].x, a1[u].x, a0[u].y, a1[u].y}, b[u].x, b[u].y);
      MmaOp<T>::run(acc, {a0[u].z, a1[u].z, a0[u].w, a1[u].w}, b[u].z, b[u].w);
    }
  }
  if (kb < kEnd) {  // the last partial step: vectors past kEnd are zeros
    const uint4 zero = make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      const int kk = kb + u * kSkinnyBlockK + t * kSkinnyVector;
      const bool in = kk < kEnd;  // k and kChunk are multiples of 8: a vector is wholly in or out
      a0[u] = in ? loadStreaming(w0 + kk) : zero;
      a1[u] = in ? loadStreaming(w1 + kk) : zero;
      b[u] = in ? loadCached(xr + kk) : zero;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; u++) {
      MmaOp<T>::run(acc, {a0[u].x, a1[u].x, a0[u].y, a1[u].y}, b[u].x, b[u].y);
      MmaOp<T>::run(acc, {a0[u].z, a1[u].z, a0[u].w, a1[u].w}, b[u].z, b[u].w);
    }
  }

  if (kSplit > 1) {  // uniform over the CTA
#pragma unroll
    for (int c = 0; c < 4; c++) partial[warp][c][lane] = acc[c];
    __syncthreads();
    if (part != 0) return;
    const int first = warp;  // this tile's part-0 warp; its parts are warps first .. first + kSplit - 1
    for (int p = 1; p < kSplit; p++) {
#pragma unroll
      for (int c = 0; c < 4; c++) acc[c] += partial[first + p][c][lane];
    }
  }
  if constexpr (kSiluMul) {
    // acc[c], c < 2: gate of (row 2t + c, feature row0); acc[c + 2]: its up.
#pragma unroll
    for (int c = 0; c < 2; c++) {
      const int mi = 2 * t + c;
      if (mi >= m || row0 >= features) continue;
      const float gate = Conv<OutT>::load(Conv<OutT>::store(acc[c]));
      const float up = Conv<OutT>::load(Conv<OutT>::store(acc[c + 2]));
      const float act = Conv<OutT>::load(Conv<OutT>::store(gate / (1.0f + expf(-gate))));
      y[static_cast<long long>(mi) * features + row0] = Conv<OutT>::store(act * up);
    }
  } else {
    // acc[c]: y[2t + (c & 1)][row (c < 2 ? row0 : row1)].
#pragma unroll
    for (int c = 0; c < 4; c++) {
      const int mi = 2 * t + (c & 1);
      const long long row = c < 2 ? row0 : row1;
      if (mi >= m || row >= n) continue;
      float v = acc[c];
      if (bias != nullptr) v += Conv<OutT>::load(bias[row]);
      y[static_cast<long long>(mi) * n + row] = Conv<OutT>::store(v);
    }
  }
}

template <typename T, typename OutT, bool kSiluMul>
cudaError_t launchTyped(const SkinnyGemmArgs& a, cudaStream_t stream) {
  skinnyGemmKernel<T, OutT, kSiluMul><<<a.plan.numCtas, kThreads, 0, stream>>>(
      static_cast<const T*>(a.x), static_cast<const T*>(a.w), static_cast<const OutT*>(a.bias),
      static_cast<OutT*>(a.y), a.m, a.n, a.k, a.plan.kSplit, a.plan.kChunk);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launchIn(const SkinnyGemmArgs& a, cudaStream_t stream) {
  if (a.siluMul) return launchTyped<T, T, true>(a, stream);
  if (a.outType == 2) return launchTyped<T, float, false>(a, stream);
  return launchTyped<T, T, false>(a, stream);
}

bool planValid(const SkinnyGemmArgs& a) {
  const SkinnyGemmPlan& p = a.plan;
  const bool splitOk = p.kSplit == 1 || p.kSplit == 2 || p.kSplit == 4 || p.kSplit == 8;
  if (!splitOk || p.tilesPerCta != kSkinnyWarps / p.kSplit || p.kChunk <= 0 || p.kChunk % kSkinnyVector != 0)
    return false;
  // Every k is covered, and the grid covers every tile of W.
  if (static_cast<long long>(p.kChunk) * p.kSplit < a.k) return false;
  const long long tiles = (static_cast<long long>(a.n) + kSkinnyTileRows - 1) / kSkinnyTileRows;
  return p.numCtas > 0 && static_cast<long long>(p.numCtas) * p.tilesPerCta >= tiles &&
         static_cast<long long>(p.numCtas - 1) * p.tilesPerCta < tiles;
}

}  // namespace

cudaError_t launchSkinnyGemm(const SkinnyGemmArgs& a, cudaStream_t stream) {
  if (a.m < 1 || a.m > kSkinnyMaxRows || skinnyGemmShapeProblem(a.n, a.k)[0] != '\0') return cudaErrorInvalidValue;
  if (a.x == nullptr || a.w == nullptr || a.y == nullptr || !skinnyGemmAligned(a.x, a.w)) return cudaErrorInvalidValue;
  if ((a.inType != 0 && a.inType != 1) || (a.outType != 2 && a.outType != a.inType)) return cudaErrorInvalidValue;
  // SiLU x up: [gate; up] rows, output in the input dtype, no bias (Llama-family MLPs have none).
  if (a.siluMul && (a.n % 2 != 0 || a.outType != a.inType || a.bias != nullptr)) return cudaErrorInvalidValue;
  if (!planValid(a)) return cudaErrorInvalidValue;
  if (a.inType == 0) return launchIn<__nv_bfloat16>(a, stream);
  return launchIn<__half>(a, stream);
}

}  // namespace flashgraph_models
