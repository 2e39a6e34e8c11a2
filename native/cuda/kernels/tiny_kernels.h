// Tiny kernels that let @flashgraph/cuda test its primitives by themselves (fill, add, copy, an
// empty kernel for launch-overhead benchmarks, and the hardware bf16/fp16 conversions that the
// TypeScript converters are checked against). Plain C++ API, no Node headers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime.h>

namespace flashgraph_cuda {

// Every launcher enqueues on `stream` (capturable), returns cudaSuccess for an empty range, and
// returns an error code instead of aborting.
cudaError_t launchFillInt32(int32_t* out, int32_t value, size_t count, cudaStream_t stream);
cudaError_t launchAddFloat32(const float* a, const float* b, float* out, size_t count, cudaStream_t stream);
cudaError_t launchCopyBytes(void* dst, const void* src, size_t byteLength, cudaStream_t stream);
cudaError_t launchEmpty(cudaStream_t stream);

enum class Conversion : int {
  Float32ToBf16 = 0,  // __float2bfloat16_rn
  Float32ToFp16 = 1,  // __float2half_rn
  Bf16ToFloat32 = 2,  // __bfloat162float
  Fp16ToFloat32 = 3,  // __half2float
};
// src/dst element types follow the conversion (uint32 bit patterns of float32 or uint16 of 16-bit).
cudaError_t launchConvert(Conversion kind, const void* src, void* dst, size_t count, cudaStream_t stream);

}  // namespace flashgraph_cuda
