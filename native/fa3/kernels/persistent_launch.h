// Launch of a persistent forward kernel (forward, decode or wgmma kernel): a grid of smCount x
// (CTAs of this kernel that fit on an SM), so it never depends on the batch and a captured graph
// stays valid for any batch up to capacity; with PDL (pdl_launch.h). The occupancy query runs once
// per kernel and device.
#pragma once

#include <cuda_runtime.h>

#include "forward_params.h"
#include "pdl_launch.h"

namespace fa3 {

constexpr int kMaxDevices = 64;

// kKernel takes the ForwardParams, then `extra` (the wgmma kernel's tensor maps).
template <auto kKernel, int kThreads, int kSmemBytes, typename... Extra>
cudaError_t launch_persistent(const ForwardParams& p, int sm_count, cudaStream_t stream, const Extra&... extra) {
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
  return launch_with_pdl(kKernel, dim3(sm_count * ctas_per_sm[dev]), dim3(kThreads), kSmemBytes, stream, p, extra...);
}

}  // namespace fa3
