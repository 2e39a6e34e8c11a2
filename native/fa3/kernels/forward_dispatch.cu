// The switch from run-time (kernel, head dim, dtype) to the forward kernels' template
// instantiations: the whole instantiation list is here (forward and decode kernels x D in
// {64, 128, 256} x {bf16, fp16}); every other option (causal, window, softcap, splits, page size,
// GQA ratio) is a run-time argument.
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

bool decode_kernel_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("FLASHGRAPH_FA3_DECODE");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return enabled;
}

bool use_decode_kernel(int max_seqlen_q, int qheads_per_kvhead) {
  return decode_kernel_enabled() && decode_kernel_fits(max_seqlen_q, qheads_per_kvhead);
}

template <int D, typename T>
cudaError_t launch_forward(const ForwardParams& p, int sm_count, cudaStream_t stream);
template <int D, typename T>
cudaError_t launch_decode(const ForwardParams& p, int sm_count, cudaStream_t stream);

template <int D, typename T>
static cudaError_t launch_one(const ForwardParams& p, bool decode, int sm_count, cudaStream_t stream) {
  return decode ? launch_decode<D, T>(p, sm_count, stream) : launch_forward<D, T>(p, sm_count, stream);
}

template <typename T>
static cudaError_t dispatch_head_dim(const ForwardParams& p, int head_dim, bool decode, int sm_count,
                                     cudaStream_t stream) {
  switch (head_dim) {
    case 64: return launch_one<64, T>(p, decode, sm_count, stream);
    case 128: return launch_one<128, T>(p, decode, sm_count, stream);
    case 256: return launch_one<256, T>(p, decode, sm_count, stream);
    default: return cudaErrorInvalidValue;
  }
}

cudaError_t dispatch_forward(const ForwardParams& p, int head_dim, DType dtype, bool decode, int sm_count,
                             cudaStream_t stream) {
  switch (dtype) {
    case DType::kBF16: return dispatch_head_dim<__nv_bfloat16>(p, head_dim, decode, sm_count, stream);
    case DType::kFP16: return dispatch_head_dim<__half>(p, head_dim, decode, sm_count, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace fa3
