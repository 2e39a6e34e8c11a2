// The one kernel of the interop-test addon: scale a float32 array in place.
#include "scale.h"

namespace flashgraph_interop {
namespace {
__global__ void scaleFloat32Kernel(float* ptr, size_t n, float factor) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    ptr[i] *= factor;
  }
}
}  // namespace

cudaError_t launchScaleFloat32(float* ptr, size_t n, float factor, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (ptr == nullptr) return cudaErrorInvalidValue;
  constexpr unsigned kThreads = 256;
  const size_t blocks = (n + kThreads - 1) / kThreads;
  const unsigned grid = blocks > 65535 ? 65535u : static_cast<unsigned>(blocks);
  scaleFloat32Kernel<<<grid, kThreads, 0, stream>>>(ptr, n, factor);
  return cudaGetLastError();
}
}  // namespace flashgraph_interop
