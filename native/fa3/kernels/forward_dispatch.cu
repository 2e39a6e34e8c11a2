// The switch from run-time (kernel, head dim, dtype) to the forward kernels' template
// instantiations, generated from forward_kernel_list.h; the kernel request read from the
// environment; every other option (causal, window, softcap, splits, page size, GQA ratio) is a
// run-time argument.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kv_fp8.h"
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

namespace {
int read_kernel_request(const char** value) {
  const char* v = std::getenv("FLASHGRAPH_FA3_KERNEL");
  *value = v;
  if (v == nullptr || *v == '\0') {
    const char* d = std::getenv("FLASHGRAPH_FA3_DECODE");
    return d != nullptr && std::strcmp(d, "0") == 0 ? kRequestGeneral : kRequestAuto;
  }
  if (std::strcmp(v, "general") == 0) return kRequestGeneral;
  if (std::strcmp(v, "decode") == 0) return kRequestDecode;
  if (std::strcmp(v, "wgmma") == 0) return kRequestWgmma;
  return -1;
}
const char* g_request_value = nullptr;
}  // namespace

int kernel_request() {
  static const int request = read_kernel_request(&g_request_value);
  return request;
}
const char* kernel_request_value() {
  kernel_request();
  return g_request_value != nullptr ? g_request_value : "";
}

// The wgmma kernel's switches: on unless the variable is "0" (the production configuration by
// default; the off settings are for comparisons).
static bool switch_on(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr || std::strcmp(v, "0") != 0;
}
bool wgmma_overlap_enabled() {
  static const bool enabled = switch_on("FLASHGRAPH_FA3_WGMMA_OVERLAP");
  return enabled;
}
bool wgmma_tma_enabled() {
  static const bool enabled = switch_on("FLASHGRAPH_FA3_WGMMA_TMA");
  return enabled;
}
// The lean variant with three stages at D = 128 is the default since run V (H100): off for
// comparisons with FLASHGRAPH_FA3_WGMMA_LEAN=0 / FLASHGRAPH_FA3_WGMMA_STAGES=2.
bool wgmma_lean_enabled() {
  static const bool enabled = switch_on("FLASHGRAPH_FA3_WGMMA_LEAN");
  return enabled;
}
bool wgmma_deep_ring_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("FLASHGRAPH_FA3_WGMMA_STAGES");
    return v == nullptr || std::strcmp(v, "2") != 0;
  }();
  return enabled;
}

int step_kernel(int max_seqlen_q, int qheads_per_kvhead, int head_dim) {
  const int r = kernel_request();
  return choose_forward_kernel(max_seqlen_q, qheads_per_kvhead, head_dim, r < 0 ? kRequestAuto : r);
}

const char* kernel_name(int kernel) {
  switch (kernel) {
    case kKernelGeneral: return "general";
    case kKernelDecode: return "decode";
    case kKernelWgmma: return "wgmma";
  }
  return "unknown";
}

#define FA3_DTYPE_ID_bf16 DType::kBF16
#define FA3_DTYPE_ID_fp16 DType::kFP16
#define FA3_DTYPE_T_bf16 __nv_bfloat16
#define FA3_DTYPE_T_fp16 __half

// Declarations of every instantiation's launcher (defined in the *_instantiate_*.cu files); KV is
// the cache element type (the query dtype, or KvFp8).
template <int D, typename T, typename KV = T>
cudaError_t launch_general(const ForwardParams& p, int sm_count, cudaStream_t stream);
template <int D, typename T, typename KV = T>
cudaError_t launch_decode(const ForwardParams& p, int sm_count, cudaStream_t stream);
template <int D, typename T>
cudaError_t launch_wgmma(const ForwardParams& p, int sm_count, cudaStream_t stream);

bool forward_instantiated(int kernel, int head_dim, DType dtype, bool kv_fp8) {
#define FA3_IS(kernel_, d, dtype_) \
  if (kernel == FA3_KERNEL_ID_##kernel_ && head_dim == d && dtype == FA3_DTYPE_ID_##dtype_) return true;
  if (kv_fp8) {
    FA3_FP8_KV_KERNELS(FA3_IS)
    return false;
  }
  FA3_FORWARD_KERNELS(FA3_IS)
#undef FA3_IS
  return false;
}

cudaError_t dispatch_forward(const ForwardParams& p, int kernel, int head_dim, DType dtype, bool kv_fp8,
                             int sm_count, cudaStream_t stream) {
#define FA3_CASE(kernel_, d, dtype_)                                                     \
  if (kernel == FA3_KERNEL_ID_##kernel_ && head_dim == d && dtype == FA3_DTYPE_ID_##dtype_) \
    return launch_##kernel_<d, FA3_DTYPE_T_##dtype_>(p, sm_count, stream);
#define FA3_CASE_FP8(kernel_, d, dtype_)                                                 \
  if (kernel == FA3_KERNEL_ID_##kernel_ && head_dim == d && dtype == FA3_DTYPE_ID_##dtype_) \
    return launch_##kernel_<d, FA3_DTYPE_T_##dtype_, KvFp8>(p, sm_count, stream);
  if (kv_fp8) {
    FA3_FP8_KV_KERNELS(FA3_CASE_FP8)
    return cudaErrorInvalidValue;
  }
  FA3_FORWARD_KERNELS(FA3_CASE)
#undef FA3_CASE
#undef FA3_CASE_FP8
  return cudaErrorInvalidValue;
}

}  // namespace fa3
