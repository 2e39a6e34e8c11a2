// Tiny self-test kernels of flashgraph_cuda.node; see tiny_kernels.h.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "tiny_kernels.h"

namespace flashgraph_cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr size_t kMaxBlocks = 4096;  // grid-stride loops cover the rest

unsigned gridFor(size_t count) {
  const size_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

__device__ __forceinline__ size_t globalIndex() { return blockIdx.x * size_t(blockDim.x) + threadIdx.x; }
__device__ __forceinline__ size_t globalStride() { return size_t(gridDim.x) * blockDim.x; }

__global__ void fillInt32Kernel(int32_t* out, int32_t value, size_t count) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) out[i] = value;
}

__global__ void addFloat32Kernel(const float* a, const float* b, float* out, size_t count) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) out[i] = a[i] + b[i];
}

__global__ void copyBytesKernel(unsigned char* dst, const unsigned char* src, size_t n) {
  for (size_t i = globalIndex(); i < n; i += globalStride()) dst[i] = src[i];
}

__global__ void emptyKernel() {}

__global__ void convertKernel(Conversion kind, const void* src, void* dst, size_t count) {
  for (size_t i = globalIndex(); i < count; i += globalStride()) {
    switch (kind) {
      case Conversion::Float32ToBf16:
        static_cast<__nv_bfloat16*>(dst)[i] = __float2bfloat16_rn(static_cast<const float*>(src)[i]);
        break;
      case Conversion::Float32ToFp16:
        static_cast<__half*>(dst)[i] = __float2half_rn(static_cast<const float*>(src)[i]);
        break;
      case Conversion::Bf16ToFloat32:
        static_cast<float*>(dst)[i] = __bfloat162float(static_cast<const __nv_bfloat16*>(src)[i]);
        break;
      case Conversion::Fp16ToFloat32:
        static_cast<float*>(dst)[i] = __half2float(static_cast<const __half*>(src)[i]);
        break;
    }
  }
}

}  // namespace

cudaError_t launchFillInt32(int32_t* out, int32_t value, size_t count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (out == nullptr) return cudaErrorInvalidValue;
  fillInt32Kernel<<<gridFor(count), kThreads, 0, stream>>>(out, value, count);
  return cudaGetLastError();
}

cudaError_t launchAddFloat32(const float* a, const float* b, float* out, size_t count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (a == nullptr || b == nullptr || out == nullptr) return cudaErrorInvalidValue;
  addFloat32Kernel<<<gridFor(count), kThreads, 0, stream>>>(a, b, out, count);
  return cudaGetLastError();
}

cudaError_t launchCopyBytes(void* dst, const void* src, size_t byteLength, cudaStream_t stream) {
  if (byteLength == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
  copyBytesKernel<<<gridFor(byteLength), kThreads, 0, stream>>>(static_cast<unsigned char*>(dst),
                                                                static_cast<const unsigned char*>(src), byteLength);
  return cudaGetLastError();
}

cudaError_t launchEmpty(cudaStream_t stream) {
  emptyKernel<<<1, 1, 0, stream>>>();
  return cudaGetLastError();
}

cudaError_t launchConvert(Conversion kind, const void* src, void* dst, size_t count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (src == nullptr || dst == nullptr) return cudaErrorInvalidValue;
  if (static_cast<int>(kind) < 0 || static_cast<int>(kind) > 3) return cudaErrorInvalidValue;
  convertKernel<<<gridFor(count), kThreads, 0, stream>>>(kind, src, dst, count);
  return cudaGetLastError();
}

}  // namespace flashgraph_cuda
