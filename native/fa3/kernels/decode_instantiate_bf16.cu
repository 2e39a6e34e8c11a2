// Explicit instantiations of the decode forward kernel for bf16 (one translation unit per dtype so
// the two compile in parallel). The list of instantiations lives in forward_dispatch.cu.
#include <cuda_bf16.h>

#include "decode_kernel.cuh"

namespace fa3 {
template cudaError_t launch_decode<64, __nv_bfloat16>(const ForwardParams&, int, cudaStream_t);
template cudaError_t launch_decode<128, __nv_bfloat16>(const ForwardParams&, int, cudaStream_t);
template cudaError_t launch_decode<256, __nv_bfloat16>(const ForwardParams&, int, cudaStream_t);
}  // namespace fa3
