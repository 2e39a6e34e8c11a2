// Explicit instantiations of the decode forward kernel for bf16 queries over an fp8 e4m3 KV cache,
// generated from forward_kernel_list.h's FA3_FP8_KV_KERNELS (one translation unit per kernel and
// dtype: parallel build).
#include "decode_kernel.cuh"

#define FA3_INSTANTIATE_FP8_decode_bf16
#include "instantiate_from_list.h"
