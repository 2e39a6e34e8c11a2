// Explicit instantiations of the wgmma prefill kernel for fp16, generated from
// forward_kernel_list.h (one translation unit per kernel and dtype: parallel build).
#include "wgmma_kernel.cuh"

#define FA3_INSTANTIATE_wgmma_fp16
#include "instantiate_from_list.h"
