// Launch of a persistent forward kernel (forward_kernel or decode_kernel): a grid of smCount x
// (CTAs of this kernel that fit on an SM), so it never depends on the batch and a captured graph
// stays valid for any batch up to capacity; with programmatic dependent launch unless
// FLASHGRAPH_FA3_PDL=0. The occupancy query runs once per kernel and device.
#pragma once

#include <cuda_runtime.h>

#include "forward_params.h"
#include "launchers.h"

namespace fa3 {

constexpr int kMaxDevices = 64;

// `ctas_per_sm`: the caller's per-kernel cache, kMaxDevices entries, 0 = not configured yet.
template <typename Kernel>
cudaError_t launch_persistent(Kernel kernel, const ForwardParams& p, int threads, int smem_bytes, int sm_count,
                              int* ctas_per_sm, cudaStream_t stream) {
  int dev = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err != cudaSuccess) return err;
  if (dev < 0 || dev >= kMaxDevices) return cudaErrorInvalidDevice;
  if (ctas_per_sm[dev] == 0) {
    err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
    if (err != cudaSuccess) return err;
    int n = 0;
    err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, threads, smem_bytes);
    if (err != cudaSuccess) return err;
    if (n < 1) return cudaErrorInvalidConfiguration;
    ctas_per_sm[dev] = n;
  }
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(sm_count * ctas_per_sm[dev]);
  cfg.blockDim = dim3(threads);
  cfg.dynamicSmemBytes = smem_bytes;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_enabled() ? 1 : 0;
  err = cudaLaunchKernelEx(&cfg, kernel, p);
  if (err != cudaSuccess) return err;
  return cudaGetLastError();
}

}  // namespace fa3
