// Plain C++ API of the interop-test kernel (no Node headers).
#pragma once
#include <cstddef>
#include <cuda_runtime.h>

namespace flashgraph_interop {
// ptr[i] *= factor for i in [0, n), enqueued on `stream` (capturable).
cudaError_t launchScaleFloat32(float* ptr, size_t n, float factor, cudaStream_t stream);
}  // namespace flashgraph_interop
