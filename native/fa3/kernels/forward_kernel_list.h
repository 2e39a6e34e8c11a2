// THE list of forward-kernel instantiations, one X(kernel, head dim, dtype) per entry. Everything
// else derives from it: which head dims a kernel has (kernel_has_head_dim in scheduling.h, so the
// kernel choice falls back to the general kernel where one is missing), the explicit
// instantiations (one translation unit per kernel and dtype, *_instantiate_*.cu) and the dispatch
// switch (forward_dispatch.cu). kernel: general | decode | wgmma; dtype: bf16 | fp16.
// The head dims of the general kernel are the ones fa3 accepts (head_dim_supported in
// scheduling.h): it runs any step, so every other kernel may lack a head dim (wgmma has 64, 128 and 256).
// FA3_FP8_KV_KERNELS lists the same triples for an fp8 e4m3 KV cache (query and output in dtype,
// K / V dequantized on load, kv_fp8.h). The wgmma kernel has none: a step it would run on an fp8
// cache runs the general kernel (kernel_for_kv in scheduling.h).
#pragma once

#define FA3_FORWARD_KERNELS(X) \
  X(general, 64, bf16)         \
  X(general, 96, bf16)         \
  X(general, 128, bf16)        \
  X(general, 192, bf16)        \
  X(general, 256, bf16)        \
  X(general, 64, fp16)         \
  X(general, 96, fp16)         \
  X(general, 128, fp16)        \
  X(general, 192, fp16)        \
  X(general, 256, fp16)        \
  X(decode, 64, bf16)          \
  X(decode, 96, bf16)          \
  X(decode, 128, bf16)         \
  X(decode, 192, bf16)         \
  X(decode, 256, bf16)         \
  X(decode, 64, fp16)          \
  X(decode, 96, fp16)          \
  X(decode, 128, fp16)         \
  X(decode, 192, fp16)         \
  X(decode, 256, fp16)         \
  X(wgmma, 64, bf16)           \
  X(wgmma, 128, bf16)          \
  X(wgmma, 256, bf16)          \
  X(wgmma, 64, fp16)           \
  X(wgmma, 128, fp16)          \
  X(wgmma, 256, fp16)

#define FA3_FP8_KV_KERNELS(X) \
  X(general, 64, bf16)        \
  X(general, 128, bf16)       \
  X(general, 256, bf16)       \
  X(general, 64, fp16)        \
  X(general, 128, fp16)       \
  X(general, 256, fp16)       \
  X(decode, 64, bf16)         \
  X(decode, 128, bf16)        \
  X(decode, 256, bf16)        \
  X(decode, 64, fp16)         \
  X(decode, 128, fp16)        \
  X(decode, 256, fp16)
