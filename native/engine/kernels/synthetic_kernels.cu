// The synthetic decoder's kernels: elementwise, memory-light, one launch each, so a decode step
// has a realistic number of launches per layer while attention dominates the bytes moved.
// Storage is bf16 or fp16, arithmetic fp32; formulas in synthetic_math.h.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "flashgraph/elem_conv.cuh"
#include "flashgraph/pdl.cuh"
#include "synthetic_kernels.h"
#include "synthetic_math.h"

namespace flashgraph_engine {
namespace {

constexpr int kThreads = 256;
constexpr int kSampleThreads = 256;

using flashgraph::Conv;

// Programmatic dependent launch (PDL) for the per-layer kernels (project, residual): each may be
// launched while its predecessor on the stream still runs, so its launch latency hides behind
// that kernel; it waits (griddepcontrol.wait) for the predecessor's completion and memory before
// touching global memory, then lets its own successor launch. A chain of such kernels stays
// ordered: passing the wait means the predecessor completed, hence passed its own wait. Also
// inside captured graphs (programmatic edges). FLASHGRAPH_ENGINE_PDL=0 turns it off.
__device__ __forceinline__ void awaitPredecessor() {
  flashgraph::pdlWait();
  flashgraph::pdlLaunchDependents();
}

bool pdlEnabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("FLASHGRAPH_ENGINE_PDL");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return enabled;
}

template <typename... KernelArgs, typename... Args>
cudaError_t launchPdl(void (*kernel)(KernelArgs...), unsigned grid, int threads, cudaStream_t stream, Args... args) {
  return flashgraph::launchWithPdl(pdlEnabled(), kernel, dim3(grid), dim3(threads), 0, stream, args...);
}

unsigned gridFor(long long n, int threads) {
  const long long blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks > 65535 * 16 ? 65535 * 16 : blocks);
}

template <typename T>
__global__ void embedKernel(Dims d, const int32_t* __restrict__ tokenIds, const int32_t* __restrict__ positions,
                            T* __restrict__ hidden, int numTokens) {
  const uint32_t sTok = seedOf(kEmbedToken, 0);
  const uint32_t sPos = seedOf(kEmbedPosition, 0);
  const long long n = static_cast<long long>(numTokens) * d.hiddenSize;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int t = static_cast<int>(e / d.hiddenSize);
    const uint32_t i = static_cast<uint32_t>(e % d.hiddenSize);
    const uint32_t H = static_cast<uint32_t>(d.hiddenSize);
    const uint32_t tok = static_cast<uint32_t>(tokenIds[t]);
    const uint32_t pos = static_cast<uint32_t>(positions[t]);
    const float x = 0.5f * unitWeight(sTok, tok * H + i) + 0.5f * unitWeight(sPos, pos * H + i);
    hidden[e] = Conv<T>::store(x);
  }
}

template <typename T>
__global__ void projectKernel(Dims d, int layer, const T* __restrict__ hidden, T* __restrict__ q,
                              T* __restrict__ k, T* __restrict__ v, int numTokens) {
  awaitPredecessor();
  const uint32_t sq = seedOf(kSeedQ, layer);
  const uint32_t sk = seedOf(kSeedK, layer);
  const uint32_t sv = seedOf(kSeedV, layer);
  const int H = d.hiddenSize;
  const int width = d.qSize + 2 * d.kvSize;
  const long long n = static_cast<long long>(numTokens) * width;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = e / width;
    int j = static_cast<int>(e % width);
    const T* x = hidden + t * H;
    if (j < d.qSize) {
      const float a = Conv<T>::load(x[j % H]);
      const float b = Conv<T>::load(x[(j + d.headDim) % H]);
      q[t * d.qSize + j] = Conv<T>::store(kQScale * (a * unitWeight(sq, j) + kMix * b));
      continue;
    }
    j -= d.qSize;
    if (j < d.kvSize) {
      const float a = Conv<T>::load(x[j % H]);
      const float b = Conv<T>::load(x[(j + 2 * d.headDim) % H]);
      k[t * d.kvSize + j] = Conv<T>::store(a * unitWeight(sk, j) + kMix * b);
      continue;
    }
    j -= d.kvSize;
    const float a = Conv<T>::load(x[(j + d.kvSize) % H]);
    const float b = Conv<T>::load(x[j % H]);
    v[t * d.kvSize + j] = Conv<T>::store(a * unitWeight(sv, j) + kMix * b);
  }
}

template <typename T>
__global__ void residualKernel(Dims d, int layer, T* __restrict__ hidden, const T* __restrict__ attnOut,
                               int numTokens) {
  awaitPredecessor();
  const uint32_t so = seedOf(kSeedO, layer);
  const long long n = static_cast<long long>(numTokens) * d.hiddenSize;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = e / d.hiddenSize;
    const int i = static_cast<int>(e % d.hiddenSize);
    const float y = Conv<T>::load(hidden[e]) + Conv<T>::load(attnOut[t * d.qSize + i % d.qSize]) * unitWeight(so, i);
    hidden[e] = Conv<T>::store(y / (1.0f + kSoft * fabsf(y)));
  }
}

// Better = larger logit, ties to the smaller token id (the CPU mirror's order).
__device__ __forceinline__ bool better(float va, int ia, float vb, int ib) {
  return va > vb || (va == vb && ia < ib);
}

template <typename T>
__global__ void sampleKernel(Dims d, const T* __restrict__ hidden, const int32_t* __restrict__ sampleRows,
                             int32_t* __restrict__ sampled, int numTokens) {
  __shared__ float bestValue[kSampleThreads];
  __shared__ int bestIndex[kSampleThreads];
  const int r = blockIdx.x;
  const int row = sampleRows[r];
  if (row < 0 || row >= numTokens) {  // no sample (or a row outside this pass: never read it)
    if (threadIdx.x == 0) sampled[r] = -1;
    return;
  }
  const uint32_t sa = seedOf(kLogitA, 0);
  const uint32_t sb = seedOf(kLogitB, 0);
  const int H = d.hiddenSize;
  const T* x = hidden + static_cast<long long>(row) * H;
  float bv = -INFINITY;
  int bi = INT_MAX;
  for (int v = threadIdx.x; v < d.vocabSize; v += blockDim.x) {
    // Explicit rounding (no FMA contraction) matches the CPU mirror given the same hidden row.
    const float la = __fmul_rn(Conv<T>::load(x[v % H]), unitWeight(sa, v));
    const float lb = __fmul_rn(Conv<T>::load(x[static_cast<int>((7ll * v + 1) % H)]), unitWeight(sb, v));
    const float logit = __fadd_rn(la, lb);
    if (better(logit, v, bv, bi)) {
      bv = logit;
      bi = v;
    }
  }
  bestValue[threadIdx.x] = bv;
  bestIndex[threadIdx.x] = bi;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      const float ov = bestValue[threadIdx.x + stride];
      const int oi = bestIndex[threadIdx.x + stride];
      if (better(ov, oi, bestValue[threadIdx.x], bestIndex[threadIdx.x])) {
        bestValue[threadIdx.x] = ov;
        bestIndex[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) sampled[r] = bestIndex[0] == INT_MAX ? 0 : bestIndex[0];  // all NaN: token 0, like the CPU
}

bool validDims(const Dims& d) {
  return d.hiddenSize > 0 && d.qSize > 0 && d.kvSize > 0 && d.headDim > 0 && d.vocabSize > 0 &&
         (d.dtype == Dtype::kBf16 || d.dtype == Dtype::kFp16);
}

}  // namespace

cudaError_t launchEmbed(const Dims& d, const int32_t* tokenIds, const int32_t* positions, void* hidden,
                        int numTokens, cudaStream_t stream) {
  if (!validDims(d) || numTokens < 0) return cudaErrorInvalidValue;
  if (numTokens == 0) return cudaSuccess;
  if (!tokenIds || !positions || !hidden) return cudaErrorInvalidDevicePointer;
  const unsigned grid = gridFor(static_cast<long long>(numTokens) * d.hiddenSize, kThreads);
  if (d.dtype == Dtype::kBf16) {
    embedKernel<<<grid, kThreads, 0, stream>>>(d, tokenIds, positions, static_cast<__nv_bfloat16*>(hidden), numTokens);
  } else {
    embedKernel<<<grid, kThreads, 0, stream>>>(d, tokenIds, positions, static_cast<__half*>(hidden), numTokens);
  }
  return cudaGetLastError();
}

cudaError_t launchProject(const Dims& d, int layer, const void* hidden, void* q, void* k, void* v,
                          int numTokens, cudaStream_t stream) {
  if (!validDims(d) || numTokens < 0 || layer < 0) return cudaErrorInvalidValue;
  if (numTokens == 0) return cudaSuccess;
  if (!hidden || !q || !k || !v) return cudaErrorInvalidDevicePointer;
  const unsigned grid = gridFor(static_cast<long long>(numTokens) * (d.qSize + 2 * d.kvSize), kThreads);
  if (d.dtype == Dtype::kBf16) {
    using T = __nv_bfloat16;
    return launchPdl(projectKernel<T>, grid, kThreads, stream, d, layer, static_cast<const T*>(hidden), static_cast<T*>(q),
                     static_cast<T*>(k), static_cast<T*>(v), numTokens);
  }
  using T = __half;
  return launchPdl(projectKernel<T>, grid, kThreads, stream, d, layer, static_cast<const T*>(hidden), static_cast<T*>(q),
                   static_cast<T*>(k), static_cast<T*>(v), numTokens);
}

cudaError_t launchResidual(const Dims& d, int layer, void* hidden, const void* attnOut, int numTokens,
                           cudaStream_t stream) {
  if (!validDims(d) || numTokens < 0 || layer < 0) return cudaErrorInvalidValue;
  if (numTokens == 0) return cudaSuccess;
  if (!hidden || !attnOut) return cudaErrorInvalidDevicePointer;
  const unsigned grid = gridFor(static_cast<long long>(numTokens) * d.hiddenSize, kThreads);
  if (d.dtype == Dtype::kBf16) {
    using T = __nv_bfloat16;
    return launchPdl(residualKernel<T>, grid, kThreads, stream, d, layer, static_cast<T*>(hidden),
                     static_cast<const T*>(attnOut), numTokens);
  }
  using T = __half;
  return launchPdl(residualKernel<T>, grid, kThreads, stream, d, layer, static_cast<T*>(hidden),
                   static_cast<const T*>(attnOut), numTokens);
}

cudaError_t launchSample(const Dims& d, const void* hidden, const int32_t* sampleRows, int32_t* sampled,
                         int numReqs, int numTokens, cudaStream_t stream) {
  if (!validDims(d) || numReqs < 0 || numTokens < 0) return cudaErrorInvalidValue;
  if (numReqs == 0) return cudaSuccess;
  if (!hidden || !sampleRows || !sampled) return cudaErrorInvalidDevicePointer;
  if (numReqs > 2147483647) return cudaErrorInvalidValue;
  if (d.dtype == Dtype::kBf16) {
    sampleKernel<<<numReqs, kSampleThreads, 0, stream>>>(d, static_cast<const __nv_bfloat16*>(hidden), sampleRows, sampled, numTokens);
  } else {
    sampleKernel<<<numReqs, kSampleThreads, 0, stream>>>(d, static_cast<const __half*>(hidden), sampleRows, sampled, numTokens);
  }
  return cudaGetLastError();
}

}  // namespace flashgraph_engine
