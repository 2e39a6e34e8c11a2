// Explicit instantiations of the general forward kernel for bf16, generated from
// forward_kernel_list.h (one translation unit per kernel and dtype: parallel build).
#include "forward_kernel.cuh"

#define FA3_INSTANTIATE_general_bf16
#include "instantiate_from_list.h"
