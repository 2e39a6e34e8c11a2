// Explicit instantiations of the decode forward kernel for fp16 (one translation unit per dtype so
// the two compile in parallel). The list of instantiations lives in forward_dispatch.cu.
#include <cuda_fp16.h>

#include "decode_kernel.cuh"

namespace fa3 {
template cudaError_t launch_decode<64, __half>(const ForwardParams&, int, cudaStream_t);
template cudaError_t launch_decode<128, __half>(const ForwardParams&, int, cudaStream_t);
template cudaError_t launch_decode<256, __half>(const ForwardParams&, int, cudaStream_t);
}  // namespace fa3
