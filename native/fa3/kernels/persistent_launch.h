// Launch of a persistent forward kernel (forward_kernel or decode_kernel): a grid of smCount x
// (CTAs of this kernel that fit on an SM), so it never depends on the batch and a captured graph
// stays valid for any batch up to capacity; with PDL (pdl_launch.h). The occupancy query runs once
// per kernel and device.
#pragma once

#include <cuda_runtime.h>

#include "forward_params.h"
#include "pdl_launch.h"

namespace fa3 {

constexpr int kMaxDevices = 64;

template <void (*kKernel)(ForwardParams), int kThreads, int kSmemBytes>
cudaError_t launch_persistent(const ForwardParams& p, int sm_count, cudaStream_t stream) {
  static int ctas_per_sm[kMaxDevices] = {0};  // per device ordinal; 0 = not configured yet
  int dev = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err != cudaSuccess) return err;
  if (dev < 0 || dev >= kMaxDevices) return cudaErrorInvalidDevice;
  if (ctas_per_sm[dev] == 0) {
    err = cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes);
    if (err != cudaSuccess) return err;
    int n = 0;
    err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kKernel, kThreads, kSmemBytes);
    if (err != cudaSuccess) return err;
    if (n < 1) return cudaErrorInvalidConfiguration;
    ctas_per_sm[dev] = n;
  }
  return launch_with_pdl(kKernel, dim3(sm_count * ctas_per_sm[dev]), dim3(kThreads), kSmemBytes, stream, p);
}

}  // namespace fa3
