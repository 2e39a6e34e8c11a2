// KV-cache write: copies this step's keys and values ([numTokens, Hkv, D]) into the paged caches
// ([numPages, pageSize, Hkv, D]) at slotMapping[t] = page * pageSize + offset, 16 bytes per
// thread. Slot -1 (graph padding) and any slot outside the cache are skipped. An fp8 e4m3 cache
// gets each element quantized as @flashgraph/fa3's encodeE4m3 does: the fp32 value divided by its
// KV head's descale factor (an IEEE division), then round-to-nearest-even with saturation to +-448
// (cvt.rn.satfinite: NaN stays NaN), 16 bytes read and 8 written per thread. Launched with
// programmatic dependent launch like forward (unless FLASHGRAPH_FA3_PDL=0): it may start while the
// kernel that produced the keys still runs and waits for it before reading anything.
#include <cuda_fp8.h>

#include "launchers.h"
#include "pdl_launch.h"
#include "kv_fp8.h"
#include "ptx.h"

namespace fa3 {

__global__ void __launch_bounds__(256) kv_write_kernel(const KvWriteParams p) {
  pdl_wait();
  pdl_launch_dependents();
  const int64_t total = static_cast<int64_t>(p.num_tokens) * p.row_chunks;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t token = i / p.row_chunks;
    const int64_t c = i % p.row_chunks;
    const int slot = __ldg(p.slot_mapping + token);
    if (slot < 0 || slot >= p.num_slots) continue;
    const int64_t dst = static_cast<int64_t>(slot) * p.row_chunks + c;
    const int64_t src = token * p.row_chunks + c;
    reinterpret_cast<uint4*>(p.k_cache)[dst] = __ldg(reinterpret_cast<const uint4*>(p.key) + src);
    reinterpret_cast<uint4*>(p.v_cache)[dst] = __ldg(reinterpret_cast<const uint4*>(p.value) + src);
  }
}

// Eight T values -> eight e4m3 codes of x / descale.
template <typename T>
__device__ __forceinline__ uint2 quantize_e4m3x8(const uint4& in, float descale) {
  const T* v = reinterpret_cast<const T*>(&in);
  uint32_t w[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    uint32_t word = 0;
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const float2 f = make_float2(__fdiv_rn(static_cast<float>(v[4 * i + 2 * j]), descale),
                                   __fdiv_rn(static_cast<float>(v[4 * i + 2 * j + 1]), descale));
      const __nv_fp8x2_storage_t q = __nv_cvt_float2_to_fp8x2(f, __NV_SATFINITE, __NV_E4M3);
      word |= static_cast<uint32_t>(q) << (16 * j);
    }
    w[i] = word;
  }
  return make_uint2(w[0], w[1]);
}

template <typename T>
__global__ void __launch_bounds__(256) kv_write_fp8_kernel(const KvWriteParams p) {
  pdl_wait();
  pdl_launch_dependents();
  const int64_t total = static_cast<int64_t>(p.num_tokens) * p.row_chunks;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t token = i / p.row_chunks;
    const int c = static_cast<int>(i % p.row_chunks);
    const int slot = __ldg(p.slot_mapping + token);
    if (slot < 0 || slot >= p.num_slots) continue;
    const int head = c / p.head_chunks;
    const int64_t dst = static_cast<int64_t>(slot) * p.row_chunks + c;  // in 8-byte units
    const int64_t src = token * p.row_chunks + c;
    const uint4 k = __ldg(reinterpret_cast<const uint4*>(p.key) + src);
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p.value) + src);
    reinterpret_cast<uint2*>(p.k_cache)[dst] = quantize_e4m3x8<T>(k, kv_descale(p.k_descale, head));
    reinterpret_cast<uint2*>(p.v_cache)[dst] = quantize_e4m3x8<T>(v, kv_descale(p.v_descale, head));
  }
}

cudaError_t launch_kv_write(const KvWriteParams& p, cudaStream_t stream) {
  if (p.num_tokens <= 0) return cudaSuccess;
  const int64_t total = static_cast<int64_t>(p.num_tokens) * p.row_chunks;
  const int64_t want = (total + 255) / 256;
  const int64_t cap = 2048;  // grid-stride beyond this: enough CTAs to fill any Hopper part
  const int grid = static_cast<int>(want < cap ? want : cap);
  if (p.kv_fp8) {
    return p.dtype == DType::kBF16
               ? launch_with_pdl(kv_write_fp8_kernel<__nv_bfloat16>, dim3(grid), dim3(256), 0, stream, p)
               : launch_with_pdl(kv_write_fp8_kernel<__half>, dim3(grid), dim3(256), 0, stream, p);
  }
  return launch_with_pdl(kv_write_kernel, dim3(grid), dim3(256), 0, stream, p);
}

}  // namespace fa3
