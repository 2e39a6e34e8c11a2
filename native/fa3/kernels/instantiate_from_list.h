// Explicit instantiations from forward_kernel_list.h for one (kernel, dtype) pair: a translation
// unit defines FA3_INSTANTIATE_<kernel>_<dtype> (or FA3_INSTANTIATE_FP8_<kernel>_<dtype>: the fp8
// KV cache list) and the kernel's header, then includes this file, which emits
// `launch_<kernel><D, T>` (`launch_<kernel><D, T, KvFp8>`) for every head dim the list has for
// that pair. One translation unit per pair, so the largest files compile in parallel.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "forward_kernel_list.h"
#include "kv_fp8.h"

#define FA3_EMIT(kernel, d, T) template cudaError_t launch_##kernel<d, T>(const ForwardParams&, int, cudaStream_t);

#ifdef FA3_INSTANTIATE_general_bf16
#define FA3_PICK_general_bf16(d) FA3_EMIT(general, d, __nv_bfloat16)
#else
#define FA3_PICK_general_bf16(d)
#endif
#ifdef FA3_INSTANTIATE_general_fp16
#define FA3_PICK_general_fp16(d) FA3_EMIT(general, d, __half)
#else
#define FA3_PICK_general_fp16(d)
#endif
#ifdef FA3_INSTANTIATE_decode_bf16
#define FA3_PICK_decode_bf16(d) FA3_EMIT(decode, d, __nv_bfloat16)
#else
#define FA3_PICK_decode_bf16(d)
#endif
#ifdef FA3_INSTANTIATE_decode_fp16
#define FA3_PICK_decode_fp16(d) FA3_EMIT(decode, d, __half)
#else
#define FA3_PICK_decode_fp16(d)
#endif
#ifdef FA3_INSTANTIATE_wgmma_bf16
#define FA3_PICK_wgmma_bf16(d) FA3_EMIT(wgmma, d, __nv_bfloat16)
#else
#define FA3_PICK_wgmma_bf16(d)
#endif
#ifdef FA3_INSTANTIATE_wgmma_fp16
#define FA3_PICK_wgmma_fp16(d) FA3_EMIT(wgmma, d, __half)
#else
#define FA3_PICK_wgmma_fp16(d)
#endif

#define FA3_PICK(kernel, d, dtype) FA3_PICK_##kernel##_##dtype(d)

#define FA3_EMIT_FP8(kernel, d, T) \
  template cudaError_t launch_##kernel<d, T, KvFp8>(const ForwardParams&, int, cudaStream_t);
#ifdef FA3_INSTANTIATE_FP8_general_bf16
#define FA3_PICK_FP8_general_bf16(d) FA3_EMIT_FP8(general, d, __nv_bfloat16)
#else
#define FA3_PICK_FP8_general_bf16(d)
#endif
#ifdef FA3_INSTANTIATE_FP8_general_fp16
#define FA3_PICK_FP8_general_fp16(d) FA3_EMIT_FP8(general, d, __half)
#else
#define FA3_PICK_FP8_general_fp16(d)
#endif
#ifdef FA3_INSTANTIATE_FP8_decode_bf16
#define FA3_PICK_FP8_decode_bf16(d) FA3_EMIT_FP8(decode, d, __nv_bfloat16)
#else
#define FA3_PICK_FP8_decode_bf16(d)
#endif
#ifdef FA3_INSTANTIATE_FP8_decode_fp16
#define FA3_PICK_FP8_decode_fp16(d) FA3_EMIT_FP8(decode, d, __half)
#else
#define FA3_PICK_FP8_decode_fp16(d)
#endif

#define FA3_PICK_FP8(kernel, d, dtype) FA3_PICK_FP8_##kernel##_##dtype(d)

namespace fa3 {
FA3_FORWARD_KERNELS(FA3_PICK)
FA3_FP8_KV_KERNELS(FA3_PICK_FP8)
}  // namespace fa3
