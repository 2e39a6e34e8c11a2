// The device sampler (see sampling.h): one block of 1024 threads per request, the whole row in
// one block so the result never depends on other requests or on the grid. Passes over the row
// (it stays in L2): max/argmax and logsumexp; for temperature > 0, a radix select of the k-th
// largest logit (4 passes of 8 bits over order-preserving keys, exact and deterministic), a
// radix search of the top-p weight cut (4 passes over the fp32 weight bits, per-bin weight sums
// in fp64), and the draw: each thread owns a contiguous slice of the vocabulary, a block scan of
// the slices' kept weight (fp64, fixed order, so the walk is deterministic) finds the slice where
// the running sum first exceeds u * total, and that thread walks its slice in ascending index.
#include <cfloat>

#include "sampling.h"

namespace flashgraph_engine {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// Order-preserving map of a float's bits to uint32 (larger float, larger key).
__device__ __forceinline__ uint32_t orderedKey(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct Shared {
  double dsum[kWarps];
  float fval[kWarps];
  int ival[kWarps];
  unsigned long long hist[256];  // counts (top-k) or fp64 weight sums (top-p), as 64-bit words
  uint32_t chosen;
  int remaining;
  double above;
};

__device__ double blockSumD(double v, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) s.dsum[threadIdx.x >> 5] = v;
  __syncthreads();
  double total = 0.0;
  for (int w = 0; w < kWarps; w++) total += s.dsum[w];
  return total;
}

__device__ int blockSumI(int v, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) s.ival[threadIdx.x >> 5] = v;
  __syncthreads();
  int total = 0;
  for (int w = 0; w < kWarps; w++) total += s.ival[w];
  return total;
}

__device__ int blockMinI(int v, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) s.ival[threadIdx.x >> 5] = v;
  __syncthreads();
  int out = s.ival[0];
  for (int w = 1; w < kWarps; w++) out = min(out, s.ival[w]);
  return out;
}

__device__ int blockMaxI(int v, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) s.ival[threadIdx.x >> 5] = v;
  __syncthreads();
  int out = s.ival[0];
  for (int w = 1; w < kWarps; w++) out = max(out, s.ival[w]);
  return out;
}

// Largest value, first index on ties. Each thread scans ascending indices, so it keeps the first.
__device__ void blockArgmax(float& value, int& index, Shared& s) {
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, value, o);
    const int oi = __shfl_xor_sync(0xffffffffu, index, o);
    if (ov > value || (ov == value && oi < index)) {
      value = ov;
      index = oi;
    }
  }
  __syncthreads();
  if ((threadIdx.x & 31) == 0) {
    s.fval[threadIdx.x >> 5] = value;
    s.ival[threadIdx.x >> 5] = index;
  }
  __syncthreads();
  value = s.fval[0];
  index = s.ival[0];
  for (int w = 1; w < kWarps; w++) {
    if (s.fval[w] > value || (s.fval[w] == value && s.ival[w] < index)) {
      value = s.fval[w];
      index = s.ival[w];
    }
  }
}

// Exclusive prefix sum over threads (fixed order), and the block total.
__device__ double blockExclusiveScanD(double v, double& total, Shared& s) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  double inclusive = v;
  for (int o = 1; o < 32; o <<= 1) {
    const double n = __shfl_up_sync(0xffffffffu, inclusive, o);
    if (lane >= o) inclusive += n;
  }
  __syncthreads();
  if (lane == 31) s.dsum[warp] = inclusive;
  __syncthreads();
  double warpBase = 0.0;
  total = 0.0;
  for (int w = 0; w < kWarps; w++) {
    if (w < warp) warpBase += s.dsum[w];
    total += s.dsum[w];
  }
  return warpBase + inclusive - v;
}

// The key of the k-th largest logit, counting multiplicity (radix select, MSB first).
__device__ uint32_t kthLargestKey(const float* row, int V, int k, Shared& s) {
  uint32_t prefix = 0;
  uint32_t mask = 0;
  if (threadIdx.x == 0) s.remaining = k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) s.hist[b] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
      const uint32_t key = orderedKey(row[i]);
      if ((key & mask) == prefix) atomicAdd(&s.hist[(key >> shift) & 255u], 1ull);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      unsigned long long cum = 0;
      uint32_t chosen = 0;
      for (int b = 255; b >= 0; b--) {
        if (cum + s.hist[b] >= static_cast<unsigned long long>(s.remaining)) {
          chosen = static_cast<uint32_t>(b);
          break;
        }
        cum += s.hist[b];
      }
      s.remaining -= static_cast<int>(cum);
      s.chosen = chosen;
    }
    __syncthreads();
    prefix |= s.chosen << shift;
    mask |= 255u << shift;
  }
  return prefix;
}

__device__ __forceinline__ float weightOf(float l, float lmax, float invT) { return expf((l - lmax) * invT); }

// The bits of the smallest kept weight under top-p: the largest weight v (among kept tokens)
// with sum of kept weights >= v at least target (radix search over the positive fp32 bits).
__device__ uint32_t topPCutBits(const float* row, int V, uint32_t cutKey, float lmax, float invT, double target,
                                Shared& s) {
  uint32_t prefix = 0;
  uint32_t mask = 0;
  if (threadIdx.x == 0) s.above = 0.0;
  double* hist = reinterpret_cast<double*>(s.hist);
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = -0.0;
    __syncthreads();
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
      const float l = row[i];
      if (orderedKey(l) < cutKey) continue;
      const float w = weightOf(l, lmax, invT);
      const uint32_t bits = __float_as_uint(w);
      if ((bits & mask) == prefix) atomicAdd(&hist[(bits >> shift) & 255u], static_cast<double>(w));
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double above = s.above;
      int chosen = -1;
      int lowestNonEmpty = 0;
      for (int b = 255; b >= 0; b--) {
        // -0.0 marks an empty bin; a bin of only zero weights holds +0.0.
        const bool empty = __double_as_longlong(hist[b]) == __double_as_longlong(-0.0);
        if (empty) continue;
        lowestNonEmpty = b;
        if (above + hist[b] >= target) {
          chosen = b;
          break;
        }
        above += hist[b];
      }
      if (chosen < 0) {
        // Rounding left the target unreached: keep every token (the lowest bin).
        chosen = lowestNonEmpty;
        above = s.above;
        for (int b = 255; b > chosen; b--) {
          if (__double_as_longlong(hist[b]) != __double_as_longlong(-0.0)) above += hist[b];
        }
      }
      s.above = above;
      s.chosen = static_cast<uint32_t>(chosen);
    }
    __syncthreads();
    prefix |= s.chosen << shift;
    mask |= 255u << shift;
  }
  return prefix;
}

__global__ void __launch_bounds__(kThreads) sampleKernel(const float* __restrict__ logits,
                                                         const unsigned char* __restrict__ params,
                                                         const int32_t* __restrict__ sampleRows,
                                                         int32_t* __restrict__ sampled, float* __restrict__ logprobs,
                                                         float* __restrict__ stats, int V, int R) {
  __shared__ Shared s;
  const int r = blockIdx.x;
  if (sampleRows[r] < 0) {
    if (threadIdx.x == 0) {
      sampled[r] = -1;
      logprobs[r] = 0.0f;
    }
    return;
  }
  const float* row = logits + static_cast<long long>(r) * V;
  const float temperature = reinterpret_cast<const float*>(params)[r];
  const int topK = reinterpret_cast<const int32_t*>(params + 4ll * R)[r];
  const float topP = reinterpret_cast<const float*>(params + 8ll * R)[r];
  const uint32_t seed = reinterpret_cast<const uint32_t*>(params + 12ll * R)[r];
  const int32_t position = reinterpret_cast<const int32_t*>(params + 16ll * R)[r];

  float lmax = -FLT_MAX;
  int arg = 0x7fffffff;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float l = row[i];
    if (l > lmax || arg == 0x7fffffff) {
      lmax = l;
      arg = i;
    }
  }
  blockArgmax(lmax, arg, s);
  double expSum = 0.0;
  for (int i = threadIdx.x; i < V; i += blockDim.x) expSum += static_cast<double>(expf(row[i] - lmax));
  expSum = blockSumD(expSum, s);
  const float lse = lmax + static_cast<float>(log(expSum));

  int token = arg;
  int keptCount = 1;
  double keptTotal = 1.0;
  if (temperature > 0.0f) {
    const float invT = 1.0f / temperature;
    uint32_t cutKey = 0;
    if (topK > 0 && topK < V) cutKey = kthLargestKey(row, V, topK, s);
    uint32_t cutBits = 0;
    if (topP < 1.0f) {
      double total = 0.0;
      for (int i = threadIdx.x; i < V; i += blockDim.x) {
        const float l = row[i];
        if (orderedKey(l) >= cutKey) total += static_cast<double>(weightOf(l, lmax, invT));
      }
      total = blockSumD(total, s);
      cutBits = topPCutBits(row, V, cutKey, lmax, invT, static_cast<double>(topP) * total, s);
    }
    // The draw over this thread's contiguous slice.
    const int slice = (V + blockDim.x - 1) / blockDim.x;
    const int begin = min(V, static_cast<int>(threadIdx.x) * slice);
    const int end = min(V, begin + slice);
    double mine = 0.0;
    int myCount = 0;
    int myLast = -1;
    for (int i = begin; i < end; i++) {
      const float l = row[i];
      if (orderedKey(l) < cutKey) continue;
      const float w = weightOf(l, lmax, invT);
      if (__float_as_uint(w) < cutBits) continue;
      mine += static_cast<double>(w);
      myCount++;
      myLast = i;
    }
    double total = 0.0;
    const double before = blockExclusiveScanD(mine, total, s);
    const uint32_t bits = mix32(seed ^ mix32(static_cast<uint32_t>(position) ^ 0x9e3779b9u));
    const double target = static_cast<double>(bits >> 8) * (1.0 / 16777216.0) * total;
    int found = 0x7fffffff;
    if (before + mine > target) {
      double running = before;
      for (int i = begin; i < end; i++) {
        const float l = row[i];
        if (orderedKey(l) < cutKey) continue;
        const float w = weightOf(l, lmax, invT);
        if (__float_as_uint(w) < cutBits) continue;
        running += static_cast<double>(w);
        if (running > target) {
          found = i;
          break;
        }
      }
    }
    found = blockMinI(found, s);
    const int last = blockMaxI(myLast, s);
    keptCount = blockSumI(myCount, s);
    keptTotal = total;
    token = found != 0x7fffffff ? found : last;
  }
  if (threadIdx.x == 0) {
    sampled[r] = token;
    logprobs[r] = row[token] - lse;
    if (stats != nullptr) {
      float* st = stats + kSamplerStatsPerRequest * r;
      st[0] = lmax;
      st[1] = lse;
      st[2] = static_cast<float>(keptCount);
      st[3] = static_cast<float>(keptTotal);
    }
  }
}

}  // namespace

size_t samplerWorkspaceBytes(int vocabSize, int maxNumReqs) {
  (void)vocabSize;  // the row's scratch lives in shared memory
  const size_t n = maxNumReqs > 0 ? static_cast<size_t>(maxNumReqs) : 0;
  return n * kSamplerStatsPerRequest * sizeof(float);
}

cudaError_t launchSample(const float* logits, const void* params, const int32_t* sampleRows, int32_t* sampled,
                         float* logprobs, void* workspace, int vocabSize, int numReqs, int maxNumReqs,
                         cudaStream_t stream) {
  if (vocabSize <= 0 || numReqs < 0 || maxNumReqs <= 0 || numReqs > maxNumReqs) return cudaErrorInvalidValue;
  if (logits == nullptr || params == nullptr || sampleRows == nullptr || sampled == nullptr || logprobs == nullptr)
    return cudaErrorInvalidValue;
  if (numReqs == 0) return cudaSuccess;
  sampleKernel<<<numReqs, kThreads, 0, stream>>>(logits, static_cast<const unsigned char*>(params), sampleRows,
                                                 sampled, logprobs, static_cast<float*>(workspace), vocabSize,
                                                 maxNumReqs);
  return cudaGetLastError();
}

}  // namespace flashgraph_engine
