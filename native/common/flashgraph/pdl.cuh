// Programmatic dependent launch (PDL), shared by the addons' kernels: a kernel launched with
// launchWithPdl may start while its predecessor on the stream still runs (also inside captured
// graphs, as programmatic edges), so its launch latency hides behind that kernel. Such a kernel
// must call pdlWait() before touching global memory (it returns once the predecessor completed
// and its writes are visible) and may call pdlLaunchDependents() to let its own successor launch.
// A chain stays ordered: passing the wait means the predecessor completed, hence passed its own.
// A predecessor that never triggers (a library's kernel) triggers at completion: the wait then
// returns at once and the order is the plain stream order.
#pragma once

#include <cuda_runtime.h>

namespace flashgraph {

__device__ __forceinline__ void pdlWait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }
__device__ __forceinline__ void pdlLaunchDependents() {
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
}

// One launch, with the PDL attribute when `pdl` (each addon's switch decides).
template <typename... KernelArgs, typename... Args>
cudaError_t launchWithPdl(bool pdl, void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smemBytes,
                          cudaStream_t stream, Args... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smemBytes;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl ? 1 : 0;
  const cudaError_t err = cudaLaunchKernelEx(&cfg, kernel, static_cast<KernelArgs>(args)...);
  return err != cudaSuccess ? err : cudaGetLastError();
}

}  // namespace flashgraph
