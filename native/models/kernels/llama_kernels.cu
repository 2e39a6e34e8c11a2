// The Llama-family kernels around the GEMMs: embedding gather, residual add + RMSNorm, q/k norm +
// RoPE + the q/k/v split, SiLU x up, the sample rows' final norm, dtype conversion. All are
// memory-bound and small next to the GEMMs and attention; each thread keeps transformers'
// rounding order (see llama_kernels.h) rather than fusing arithmetic across a rounding.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "flashgraph/elem_conv.cuh"
#include "flashgraph/pdl.cuh"
#include "llama_kernels.h"

namespace flashgraph_models {
namespace {

using flashgraph::Conv;

// The row kernels launch without programmatic dependent launch: with it (each kernel waiting in
// griddepcontrol.wait, launched early) the 8B-shaped model's batch-1 step took 6.82 ms against
// 6.81 without, and batch 8 7.13 against 7.07 (BENCHMARKS.md run U, H100): their neighbours are
// mostly cuBLASLt kernels, which neither trigger early nor wait.
template <typename... KernelArgs, typename... Args>
cudaError_t launchRow(void (*kernel)(KernelArgs...), dim3 grid, int threads, size_t smem, cudaStream_t stream,
                      Args... args) {
  return flashgraph::launchWithPdl(false, kernel, grid, dim3(threads), smem, stream, args...);
}

constexpr int kNormThreads = 256;
constexpr int kRopeThreads = 128;
constexpr int kMaxPairsPerLane = 4;  // headDim 256 / 2 / 32

// Round a float to T and back: one torch op's output in the activation dtype.
template <typename T>
__device__ __forceinline__ float rounded(float v) {
  return Conv<T>::load(Conv<T>::store(v));
}

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum over the block (all threads get it). `scratch` holds one float per warp.
__device__ float blockSum(float v, float* scratch) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = warpSum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  float total = 0.0f;
  for (int w = 0; w < warps; w++) total += scratch[w];
  return total;
}

// Eight elements in one 16-byte access: the row kernels below read and write whole vectors, all
// of a thread's loads issued before the first use, so a one-token step (a decode step at batch 1)
// pays one memory round trip per kernel instead of one per element.
constexpr int kVecElems = 8;
// Vectors a thread of a row kernel keeps in registers (a row of up to 256 x 8 x 8 = 16384 elements);
// longer rows, or rows that are not whole vectors, take the scalar kernels.
constexpr int kMaxVecsPerThread = 8;

template <typename T>
struct Vec8 {
  uint4 bits;
  __device__ __forceinline__ float get(int i) const {
    const T* e = reinterpret_cast<const T*>(&bits);
    return Conv<T>::load(e[i]);
  }
  __device__ __forceinline__ void set(int i, float v) {
    T* e = reinterpret_cast<T*>(&bits);
    e[i] = Conv<T>::store(v);
  }
  __device__ __forceinline__ void setRaw(int i, T v) { reinterpret_cast<T*>(&bits)[i] = v; }
  __device__ __forceinline__ T raw(int i) const { return reinterpret_cast<const T*>(&bits)[i]; }
};

template <typename T>
__device__ __forceinline__ Vec8<T> loadVec(const T* p) {
  return Vec8<T>{*reinterpret_cast<const uint4*>(p)};
}
template <typename T>
__device__ __forceinline__ void storeVec(T* p, const Vec8<T>& v) {
  *reinterpret_cast<uint4*>(p) = v.bits;
}

// Whether rows of `elements` run on the vector kernels: whole 16-byte vectors, 16-byte aligned
// (every row base is then aligned too, the buffers being allocations), few enough per thread.
bool rowsVectorizable(long long elements, const void* const* pointers, int count) {
  if (elements % kVecElems != 0) return false;
  for (int i = 0; i < count; i++)
    if ((reinterpret_cast<uintptr_t>(pointers[i]) & 15u) != 0) return false;
  return true;
}

// Threads and vectors per thread of a row kernel over `vecs` vectors: 0 vectors when the row is
// too long for the register copy.
struct RowLaunch {
  int threads;
  int vecsPerThread;
};
RowLaunch rowLaunch(int vecs) {
  const int threads = vecs >= kNormThreads ? kNormThreads : ((vecs + 31) / 32) * 32;
  const int per = (vecs + threads - 1) / threads;
  int pow2 = 1;
  while (pow2 < per) pow2 <<= 1;
  return {threads, pow2 <= kMaxVecsPerThread ? pow2 : 0};
}

// out[t] = table[tokenIds[t]], a zero row for an id outside [0, vocab); kVec: 16-byte vectors
// (rowsVectorizable), else one element at a time.
template <typename T, bool kVec>
__global__ void embedKernel(const T* __restrict__ table, const int32_t* __restrict__ tokenIds, T* __restrict__ out,
                            int hidden, int vocab) {
  const int t = blockIdx.x;
  const int id = tokenIds[t];
  T* dst = out + static_cast<long long>(t) * hidden;
  const T* src = table + static_cast<long long>(id) * hidden;
  const bool valid = id >= 0 && id < vocab;
  if constexpr (kVec) {
    for (int v = threadIdx.x; v < hidden / kVecElems; v += blockDim.x) {
      Vec8<T> e{make_uint4(0u, 0u, 0u, 0u)};  // +0 in bf16 and fp16
      if (valid) e = loadVec(src + v * kVecElems);
      storeVec(dst + v * kVecElems, e);
    }
  } else {
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = valid ? src[i] : Conv<T>::store(0.0f);
  }
}

// transformers' LlamaRMSNorm: fp32 variance, x * rsqrt(var + eps) rounded, times the weight rounded.
template <typename T>
__device__ void normRow(const T* x, const T* __restrict__ weight, T* __restrict__ out, int hidden, float eps,
                        float sumSquares) {
  const float r = rsqrtf(sumSquares / hidden + eps);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    const float n = rounded<T>(Conv<T>::load(x[i]) * r);
    out[i] = Conv<T>::store(n * Conv<T>::load(weight[i]));
  }
}

template <typename T>
__global__ void addRmsNormKernel(T* __restrict__ x, const T* __restrict__ delta, const T* __restrict__ weight,
                                 T* __restrict__ out, int hidden, float eps) {
  __shared__ float scratch[32];
  const long long base = static_cast<long long>(blockIdx.x) * hidden;
  T* row = x + base;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    float v = Conv<T>::load(row[i]);
    if (delta != nullptr) {
      const T sum = Conv<T>::store(v + Conv<T>::load(delta[base + i]));
      row[i] = sum;  // this thread reads it back in normRow
      v = Conv<T>::load(sum);
    }
    ss += v * v;
  }
  ss = blockSum(ss, scratch);
  normRow<T>(row, weight, out + base, hidden, eps, ss);
}

// The vector form of addRmsNormKernel (same roundings per element): x, delta and weight loaded
// once into registers (kVecs vectors a thread), the sum written back, squares reduced over the
// block, then the normed row stored; no element is read twice.
template <typename T, int kVecs>
__global__ void addRmsNormVecKernel(T* __restrict__ x, const T* __restrict__ delta, const T* __restrict__ weight,
                                    T* __restrict__ out, int hidden, float eps) {
  __shared__ float scratch[32];
  const long long base = static_cast<long long>(blockIdx.x) * hidden;
  const int vecs = hidden / kVecElems;
  Vec8<T> xv[kVecs], dv[kVecs], wv[kVecs];
#pragma unroll
  for (int i = 0; i < kVecs; i++) {
    const int v = threadIdx.x + i * blockDim.x;
    if (v < vecs) {
      xv[i] = loadVec(x + base + v * kVecElems);
      if (delta != nullptr) dv[i] = loadVec(delta + base + v * kVecElems);
      wv[i] = loadVec(weight + v * kVecElems);
    }
  }
  float ss = 0.0f;
#pragma unroll
  for (int i = 0; i < kVecs; i++) {
    const int v = threadIdx.x + i * blockDim.x;
    if (v < vecs) {
      if (delta != nullptr) {
#pragma unroll
        for (int e = 0; e < kVecElems; e++) xv[i].set(e, xv[i].get(e) + dv[i].get(e));
        storeVec(x + base + v * kVecElems, xv[i]);
      }
#pragma unroll
      for (int e = 0; e < kVecElems; e++) ss += xv[i].get(e) * xv[i].get(e);
    }
  }
  ss = blockSum(ss, scratch);
  const float r = rsqrtf(ss / hidden + eps);
#pragma unroll
  for (int i = 0; i < kVecs; i++) {
    const int v = threadIdx.x + i * blockDim.x;
    if (v < vecs) {
      Vec8<T> o;
#pragma unroll
      for (int e = 0; e < kVecElems; e++) o.set(e, rounded<T>(xv[i].get(e) * r) * wv[i].get(e));
      storeVec(out + base + v * kVecElems, o);
    }
  }
}

template <typename T>
__global__ void gatherFinalNormKernel(const T* __restrict__ x, const T* __restrict__ delta,
                                      const T* __restrict__ weight, const int32_t* __restrict__ sampleRows,
                                      T* __restrict__ out, int hidden, float eps, int numTokens) {
  __shared__ float scratch[32];
  extern __shared__ unsigned char smem[];
  T* summed = reinterpret_cast<T*>(smem);
  const int row = sampleRows[blockIdx.x];
  T* dst = out + static_cast<long long>(blockIdx.x) * hidden;
  if (row < 0 || row >= numTokens) {
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = Conv<T>::store(0.0f);
    return;
  }
  const long long base = static_cast<long long>(row) * hidden;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    const T sum = Conv<T>::store(Conv<T>::load(x[base + i]) + Conv<T>::load(delta[base + i]));
    summed[i] = sum;
    const float v = Conv<T>::load(sum);
    ss += v * v;
  }
  ss = blockSum(ss, scratch);
  normRow<T>(summed, weight, dst, hidden, eps, ss);
}

// One warp per head: lane handles the rotate-half pairs (j, j + D/2) for j = lane + 32 i.
template <typename T>
__device__ void normRopeHead(const T* __restrict__ src, const T* __restrict__ normWeight,
                             const float* __restrict__ invFreq, float position, T* __restrict__ dst, int headDim,
                             float eps) {
  const int lane = threadIdx.x & 31;
  const int half = headDim / 2;
  float lo[kMaxPairsPerLane];
  float hi[kMaxPairsPerLane];
  float ss = 0.0f;
#pragma unroll
  for (int p = 0; p < kMaxPairsPerLane; p++) {
    const int j = lane + 32 * p;
    lo[p] = 0.0f;
    hi[p] = 0.0f;
    if (j < half) {
      lo[p] = Conv<T>::load(src[j]);
      hi[p] = Conv<T>::load(src[j + half]);
      ss += lo[p] * lo[p] + hi[p] * hi[p];
    }
  }
  if (normWeight != nullptr) {
    const float r = rsqrtf(warpSum(ss) / headDim + eps);
#pragma unroll
    for (int p = 0; p < kMaxPairsPerLane; p++) {
      const int j = lane + 32 * p;
      if (j < half) {
        lo[p] = rounded<T>(rounded<T>(lo[p] * r) * Conv<T>::load(normWeight[j]));
        hi[p] = rounded<T>(rounded<T>(hi[p] * r) * Conv<T>::load(normWeight[j + half]));
      }
    }
  }
#pragma unroll
  for (int p = 0; p < kMaxPairsPerLane; p++) {
    const int j = lane + 32 * p;
    if (j < half) {
      // transformers: freqs = inv_freq * position in fp32, cos/sin rounded to the activation
      // dtype, then q * cos + rotate_half(q) * sin with every product and the sum rounded.
      float s;
      float c;
      sincosf(__fmul_rn(invFreq[j], position), &s, &c);
      c = rounded<T>(c);
      s = rounded<T>(s);
      dst[j] = Conv<T>::store(rounded<T>(lo[p] * c) + rounded<T>(-hi[p] * s));
      dst[j + half] = Conv<T>::store(rounded<T>(hi[p] * c) + rounded<T>(lo[p] * s));
    }
  }
}

template <typename T>
__global__ void qkvRopeKernel(const T* __restrict__ qkv, const T* __restrict__ qNorm, const T* __restrict__ kNorm,
                              const float* __restrict__ invFreq, const int32_t* __restrict__ positions,
                              T* __restrict__ q, T* __restrict__ k, T* __restrict__ v, int numHeadsQ,
                              int numHeadsKv, int headDim, float eps) {
  const int t = blockIdx.x;
  const int qSize = numHeadsQ * headDim;
  const int kvSize = numHeadsKv * headDim;
  const T* row = qkv + static_cast<long long>(t) * (qSize + 2 * kvSize);
  const float position = static_cast<float>(positions[t]);
  // A warp per head, the token's heads spread over gridDim.y blocks: at one token (a batch-1
  // decode step) every head's loads are in flight at once instead of ten heads a warp in turn.
  const int warps = blockDim.x >> 5;
  for (int h = blockIdx.y * warps + (threadIdx.x >> 5); h < numHeadsQ + numHeadsKv; h += gridDim.y * warps) {
    if (h < numHeadsQ) {
      normRopeHead<T>(row + h * headDim, qNorm, invFreq, position,
                      q + static_cast<long long>(t) * qSize + h * headDim, headDim, eps);
    } else {
      const int hk = h - numHeadsQ;
      normRopeHead<T>(row + qSize + hk * headDim, kNorm, invFreq, position,
                      k + static_cast<long long>(t) * kvSize + hk * headDim, headDim, eps);
    }
  }
  const T* vSrc = row + qSize + kvSize;
  T* vDst = v + static_cast<long long>(t) * kvSize;
  for (int i = blockIdx.y * blockDim.x + threadIdx.x; i < kvSize; i += gridDim.y * blockDim.x) vDst[i] = vSrc[i];
}

template <typename T>
__global__ void siluMulKernel(const T* __restrict__ gateUp, T* __restrict__ out, int inter, long long total) {
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = e / inter;
    const int i = static_cast<int>(e - t * inter);
    const T* row = gateUp + t * 2 * inter;
    const float g = Conv<T>::load(row[i]);
    const float act = rounded<T>(g / (1.0f + expf(-g)));
    out[e] = Conv<T>::store(act * Conv<T>::load(row[inter + i]));
  }
}

// The vector form of siluMulKernel (same roundings): token rows over blockIdx.y, 8 elements a
// thread over x, no 64-bit division per element.
template <typename T>
__global__ void siluMulVecKernel(const T* __restrict__ gateUp, T* __restrict__ out, int inter, int numTokens) {
  const int vecs = inter / kVecElems;
  for (int t = blockIdx.y; t < numTokens; t += gridDim.y) {
    const T* row = gateUp + static_cast<long long>(t) * 2 * inter;
    T* dst = out + static_cast<long long>(t) * inter;
    for (int v = blockIdx.x * blockDim.x + threadIdx.x; v < vecs; v += gridDim.x * blockDim.x) {
      const Vec8<T> g = loadVec(row + v * kVecElems);
      const Vec8<T> u = loadVec(row + inter + v * kVecElems);
      Vec8<T> o;
#pragma unroll
      for (int e = 0; e < kVecElems; e++) {
        const float gv = g.get(e);
        o.set(e, rounded<T>(gv / (1.0f + expf(-gv))) * u.get(e));
      }
      storeVec(dst + v * kVecElems, o);
    }
  }
}

template <typename Src, typename Dst>
__global__ void convertKernel(const Src* __restrict__ src, Dst* __restrict__ dst, long long count) {
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < count;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    float v;
    if constexpr (std::is_same<Src, float>::value) {
      v = src[e];
    } else {
      v = Conv<Src>::load(src[e]);
    }
    if constexpr (std::is_same<Dst, float>::value) {
      dst[e] = v;
    } else {
      dst[e] = Conv<Dst>::store(v);
    }
  }
}

unsigned gridFor(long long n, int threads) {
  const long long blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks > 65535LL * 16 ? 65535LL * 16 : (blocks < 1 ? 1 : blocks));
}

bool dimsValid(const LlamaDims& d) {
  return d.hiddenSize > 0 && d.numHeadsQ > 0 && d.numHeadsKv > 0 && d.headDim > 0 && d.headDim % 2 == 0 &&
         d.headDim <= 2 * 32 * kMaxPairsPerLane && d.intermediateSize > 0 && d.vocabSize > 0 &&
         (d.dtype == Dtype::kBf16 || d.dtype == Dtype::kFp16);
}

cudaError_t launched() { return cudaGetLastError(); }

template <typename F>
cudaError_t dispatch(Dtype dtype, F&& f) {
  if (dtype == Dtype::kBf16) return f(static_cast<__nv_bfloat16*>(nullptr));
  return f(static_cast<__half*>(nullptr));
}

}  // namespace

cudaError_t launchEmbed(const LlamaDims& d, const void* table, const int32_t* tokenIds, void* out, int numTokens,
                        cudaStream_t stream) {
  if (!dimsValid(d) || numTokens < 0) return cudaErrorInvalidValue;
  if (numTokens == 0) return cudaSuccess;
  return dispatch(d.dtype, [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const void* ptrs[] = {table, out};
    if (rowsVectorizable(d.hiddenSize, ptrs, 2))
      return launchRow(embedKernel<T, true>, dim3(numTokens), rowLaunch(d.hiddenSize / kVecElems).threads, 0, stream,
                       static_cast<const T*>(table), tokenIds, static_cast<T*>(out), d.hiddenSize, d.vocabSize);
    return launchRow(embedKernel<T, false>, dim3(numTokens), kNormThreads, 0, stream, static_cast<const T*>(table),
                     tokenIds, static_cast<T*>(out), d.hiddenSize, d.vocabSize);
  });
}

cudaError_t launchAddRmsNorm(const LlamaDims& d, void* x, const void* delta, const void* weight, void* out,
                             int numTokens, cudaStream_t stream) {
  if (!dimsValid(d) || numTokens < 0) return cudaErrorInvalidValue;
  if (numTokens == 0) return cudaSuccess;
  return dispatch(d.dtype, [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const void* ptrs[] = {x, delta != nullptr ? delta : x, weight, out};
    const RowLaunch rl = rowLaunch(d.hiddenSize / kVecElems);
    auto vec = [&](auto vecs) {
      return launchRow(addRmsNormVecKernel<T, decltype(vecs)::value>, dim3(numTokens), rl.threads, 0, stream,
                       static_cast<T*>(x), static_cast<const T*>(delta), static_cast<const T*>(weight),
                       static_cast<T*>(out), d.hiddenSize, d.rmsNormEps);
    };
    if (!rowsVectorizable(d.hiddenSize, ptrs, 4) || rl.vecsPerThread == 0)
      return launchRow(addRmsNormKernel<T>, dim3(numTokens), kNormThreads, 0, stream, static_cast<T*>(x),
                       static_cast<const T*>(delta), static_cast<const T*>(weight), static_cast<T*>(out),
                       d.hiddenSize, d.rmsNormEps);
    if (rl.vecsPerThread == 1) return vec(std::integral_constant<int, 1>{});
    if (rl.vecsPerThread == 2) return vec(std::integral_constant<int, 2>{});
    if (rl.vecsPerThread == 4) return vec(std::integral_constant<int, 4>{});
    return vec(std::integral_constant<int, 8>{});
  });
}

cudaError_t launchQkvRope(const LlamaDims& d, const void* qkv, const void* qNorm, const void* kNorm,
                          const float* invFreq, const int32_t* positions, void* q, void* k, void* v, int numTokens,
                          cudaStream_t stream) {
  if (!dimsValid(d) || numTokens < 0) return cudaErrorInvalidValue;
  if (numTokens == 0) return cudaSuccess;
  return dispatch(d.dtype, [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const int heads = d.numHeadsQ + d.numHeadsKv;
    const dim3 grid(static_cast<unsigned>(numTokens), static_cast<unsigned>((heads + kRopeThreads / 32 - 1) / (kRopeThreads / 32)));
    return launchRow(qkvRopeKernel<T>, grid, kRopeThreads, 0, stream, static_cast<const T*>(qkv),
                     static_cast<const T*>(qNorm), static_cast<const T*>(kNorm), invFreq, positions, static_cast<T*>(q),
                     static_cast<T*>(k), static_cast<T*>(v), d.numHeadsQ, d.numHeadsKv, d.headDim, d.rmsNormEps);
  });
}

cudaError_t launchSiluMul(const LlamaDims& d, const void* gateUp, void* out, int numTokens, cudaStream_t stream) {
  if (!dimsValid(d) || numTokens < 0) return cudaErrorInvalidValue;
  if (numTokens == 0) return cudaSuccess;
  const long long total = static_cast<long long>(numTokens) * d.intermediateSize;
  return dispatch(d.dtype, [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const void* ptrs[] = {gateUp, out};
    if (rowsVectorizable(d.intermediateSize, ptrs, 2)) {
      const int vecs = d.intermediateSize / kVecElems;
      const dim3 grid(static_cast<unsigned>((vecs + 255) / 256), static_cast<unsigned>(numTokens < 65535 ? numTokens : 65535));
      return launchRow(siluMulVecKernel<T>, grid, 256, 0, stream, static_cast<const T*>(gateUp), static_cast<T*>(out),
                       d.intermediateSize, numTokens);
    }
    return launchRow(siluMulKernel<T>, dim3(gridFor(total, 256)), 256, 0, stream, static_cast<const T*>(gateUp),
                     static_cast<T*>(out), d.intermediateSize, total);
  });
}

cudaError_t launchGatherFinalNorm(const LlamaDims& d, const void* x, const void* delta, const void* weight,
                                  const int32_t* sampleRows, void* out, int numReqs, int numTokens,
                                  cudaStream_t stream) {
  if (!dimsValid(d) || numReqs < 0 || numTokens < 0) return cudaErrorInvalidValue;
  if (numReqs == 0) return cudaSuccess;
  return dispatch(d.dtype, [&](auto tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const size_t smem = sizeof(T) * static_cast<size_t>(d.hiddenSize);
    if (smem > 48 * 1024) return cudaErrorInvalidValue;
    return launchRow(gatherFinalNormKernel<T>, dim3(numReqs), kNormThreads, smem, stream, static_cast<const T*>(x),
                     static_cast<const T*>(delta), static_cast<const T*>(weight), sampleRows, static_cast<T*>(out),
                     d.hiddenSize, d.rmsNormEps, numTokens);
  });
}

cudaError_t launchConvert(const void* src, int srcType, void* dst, int dstType, long long count, cudaStream_t stream) {
  if (count < 0 || srcType < 0 || srcType > 2 || dstType < 0 || dstType > 2) return cudaErrorInvalidValue;
  if (count == 0) return cudaSuccess;
  const unsigned grid = gridFor(count, 256);
  auto run = [&](auto* s, auto* d) {
    convertKernel<<<grid, 256, 0, stream>>>(s, d, count);
    return launched();
  };
  auto withDst = [&](auto* s) {
    switch (dstType) {
      case 0: return run(s, static_cast<__nv_bfloat16*>(dst));
      case 1: return run(s, static_cast<__half*>(dst));
      default: return run(s, static_cast<float*>(dst));
    }
  };
  switch (srcType) {
    case 0: return withDst(static_cast<const __nv_bfloat16*>(src));
    case 1: return withDst(static_cast<const __half*>(src));
    default: return withDst(static_cast<const float*>(src));
  }
}

}  // namespace flashgraph_models
