// Explicit instantiations of the decode forward kernel for bf16, generated from
// forward_kernel_list.h (one translation unit per kernel and dtype: parallel build).
#include "decode_kernel.cuh"

#define FA3_INSTANTIATE_decode_bf16
#include "instantiate_from_list.h"
