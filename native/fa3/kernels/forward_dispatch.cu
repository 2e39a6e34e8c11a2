// The switch from run-time (head dim, dtype) to the forward kernel's template instantiations:
// the whole instantiation list is here (6 kernels: D in {64, 128, 256} x {bf16, fp16}); every
// other option (causal, window, softcap, splits, page size, GQA ratio) is a run-time argument.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "launchers.h"

#include <cstdlib>
#include <cstring>

namespace fa3 {

bool pdl_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("FLASHGRAPH_FA3_PDL");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return enabled;
}

template <int D, typename T>
cudaError_t launch_forward(const ForwardParams& p, int sm_count, cudaStream_t stream);

cudaError_t dispatch_forward(const ForwardParams& p, int head_dim, DType dtype, int sm_count, cudaStream_t stream) {
  switch (dtype) {
    case DType::kBF16:
      switch (head_dim) {
        case 64: return launch_forward<64, __nv_bfloat16>(p, sm_count, stream);
        case 128: return launch_forward<128, __nv_bfloat16>(p, sm_count, stream);
        case 256: return launch_forward<256, __nv_bfloat16>(p, sm_count, stream);
        default: return cudaErrorInvalidValue;
      }
    case DType::kFP16:
      switch (head_dim) {
        case 64: return launch_forward<64, __half>(p, sm_count, stream);
        case 128: return launch_forward<128, __half>(p, sm_count, stream);
        case 256: return launch_forward<256, __half>(p, sm_count, stream);
        default: return cudaErrorInvalidValue;
      }
  }
  return cudaErrorInvalidValue;
}

}  // namespace fa3
