// Programmatic dependent launch (PDL): kernels launched with it may be scheduled while the
// previous kernel of the stream is still running (also inside a CUDA graph), which hides launch
// latency; each such kernel waits (griddepcontrol.wait) before touching data the previous
// kernel writes. FLASHGRAPH_FA3_NO_PDL=1 turns it off (plain launches).
#pragma once

#include <cuda_runtime.h>

#include <cstdlib>
#include <utility>

namespace fa3 {

__device__ __forceinline__ void grid_dependency_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }
__device__ __forceinline__ void grid_dependency_trigger() {
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
}

inline bool pdl_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("FLASHGRAPH_FA3_NO_PDL");
    return v == nullptr || v[0] == '\0' || v[0] == '0';
  }();
  return enabled;
}

template <typename... Params, typename... Args>
cudaError_t launch_with_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                            Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_enabled() ? 1 : 0;
  return cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
}

}  // namespace fa3
