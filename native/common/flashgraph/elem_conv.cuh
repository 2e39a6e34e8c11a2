// fp32 <-> element conversions the addons' kernels share (models, engine): load widens, store rounds to nearest
// even (as PyTorch's casts do), float passes through.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace flashgraph {

template <typename T>
struct Conv;
template <>
struct Conv<__nv_bfloat16> {
  static __device__ __forceinline__ float load(__nv_bfloat16 v) { return __bfloat162float(v); }
  static __device__ __forceinline__ __nv_bfloat16 store(float v) { return __float2bfloat16_rn(v); }
};
template <>
struct Conv<__half> {
  static __device__ __forceinline__ float load(__half v) { return __half2float(v); }
  static __device__ __forceinline__ __half store(float v) { return __float2half_rn(v); }
};
template <>
struct Conv<float> {
  static __device__ __forceinline__ float load(float v) { return v; }
  static __device__ __forceinline__ float store(float v) { return v; }
};

}  // namespace flashgraph
