// The tensor-core MMA the addons' mma.sync kernels share (fa3's general and decode kernels, the
// models' skinny GEMM): m16n8k16, bf16 or fp16 operands, fp32 accumulators in place, and packing
// two floats into the operand dtype (round to nearest even).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include <type_traits>

namespace flashgraph {

// The operand list of both dtypes' mma.sync (d in place, a, b0 b1).
#define FLASHGRAPH_MMA_OPERANDS                                     \
  : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                  \
  : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1)

template <typename T>
struct MmaOp {
  static_assert(std::is_same<T, __nv_bfloat16>::value || std::is_same<T, __half>::value, "bf16 or fp16 operands");
  static constexpr bool kBf16 = std::is_same<T, __nv_bfloat16>::value;

  __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    if constexpr (kBf16)
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
          "{%0,%1,%2,%3};\n" FLASHGRAPH_MMA_OPERANDS);
    else
      asm volatile(
          "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
          "{%0,%1,%2,%3};\n" FLASHGRAPH_MMA_OPERANDS);
  }
  __device__ __forceinline__ static uint32_t pack(float lo, float hi) {
    uint32_t bits;
    if constexpr (kBf16) {
      const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
      bits = *reinterpret_cast<const uint32_t*>(&v);
    } else {
      const __half2 v = __floats2half2_rn(lo, hi);
      bits = *reinterpret_cast<const uint32_t*>(&v);
    }
    return bits;
  }
};

#undef FLASHGRAPH_MMA_OPERANDS

}  // namespace flashgraph
