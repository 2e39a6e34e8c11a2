// One kernel launch with programmatic dependent launch (PDL) unless FLASHGRAPH_FA3_PDL=0: the
// kernel may start while the previous kernel on the stream still runs (also inside captured
// graphs), so it must call pdl_wait() (ptx.h) before touching global memory.
#pragma once

#include <cuda_runtime.h>

#include "flashgraph/pdl.cuh"
#include "launchers.h"

namespace fa3 {

template <typename... KernelArgs, typename... Args>
cudaError_t launch_with_pdl(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, int smem_bytes, cudaStream_t stream,
                            Args... args) {
  return flashgraph::launchWithPdl(pdl_enabled(), kernel, grid, block, static_cast<size_t>(smem_bytes), stream, args...);
}

}  // namespace fa3
