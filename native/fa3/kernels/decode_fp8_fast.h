// The decode kernel's fast fp8 path (decode_slice's kFast; the default for fp8 caches since run U,
// FLASHGRAPH_FA3_FP8_FAST=0 in the TS layer keeps the standard one): fewer instructions per fp8
// code than the standard path, which turns 4 codes into bf16 / fp16 with ~10 integer and half
// instructions, stores the chunk to shared memory and reads it back with ldmatrix (run R: the step
// is bound by those instructions, not by bytes in flight; run U, H100: this path 1.74-1.91x the
// bf16 step and 88-99% of copy bandwidth wherever B x context >= 256k).
//   - Codes -> fp16 by the hardware: one cvt.rn.f16x2.e4m3x2 per pair (F2FP on sm_90a), which maps
//     the NaN codes to NaN itself, so no NaN fix-up. Every e4m3 value is an fp16, so exact.
//   - Both MMAs in fp16 whatever the query dtype: K and V codes go to fp16 exactly; P in fp16 is
//     finer than bf16; a bf16 query goes to fp16 once per slice, scaled per row by a power of two
//     (fast_q_row_scale) that is undone in fp32 on the scores.
//   - K straight from the fp8 ring into the MMA's B registers, no dequantized K chunk: the head
//     dim is permuted the same way for Q and K (fast_k_piece, fast_q_chunk), which leaves Q K^T
//     unchanged and lets a lane read its B fragments as contiguous codes.
// V still goes through a dequantized fp16 chunk (ldmatrix.trans in pv_accumulate).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "forward_mainloop.h"
#include "kv_fp8.h"

namespace fa3 {

// Four e4m3 codes (byte k = code k) -> two fp16x2 words (codes 0, 1 and 2, 3; the lower byte
// to the lower half), one hardware conversion per pair. NaN codes give NaN (0x7fff).
__device__ __forceinline__ void e4m3x4_to_half2x2(uint32_t w, uint32_t& lo, uint32_t& hi) {
  asm("{\n"
      "  .reg .b16 l, h;\n"
      "  mov.b32 {l, h}, %2;\n"
      "  cvt.rn.f16x2.e4m3x2 %0, l;\n"
      "  cvt.rn.f16x2.e4m3x2 %1, h;\n"
      "}\n"
      : "=r"(lo), "=r"(hi)
      : "r"(w));
}

// 16 codes -> 16 fp16 values (two 16-byte chunks), in order.
__device__ __forceinline__ void e4m3x16_to_half(const uint4& in, uint4& out0, uint4& out1) {
  e4m3x4_to_half2x2(in.x, out0.x, out0.y);
  e4m3x4_to_half2x2(in.y, out0.z, out0.w);
  e4m3x4_to_half2x2(in.z, out1.x, out1.y);
  e4m3x4_to_half2x2(in.w, out1.z, out1.w);
}

// The head-dim permutation. In mma m16n8k16, at k step kk lane (g = lane / 4, t = lane % 4)
// holds k indices 2t, 2t + 1 (a0 / a1, b0) and 2t + 8, 2t + 9 (a2 / a3, b1) of Q's rows g,
// g + 8 and K's key g. Q K^T is the same under any one permutation of the head dim applied to
// both, so step kk's four k indices of lane t stand for head dims (D / 4) t + 4 kk + {0, 1, 2, 3}:
// over the D / 16 steps, lane t reads head dims [(D / 4) t, (D / 4)(t + 1)) of each row, D / 4
// consecutive codes (one 16-byte piece per 4 steps: word i of piece m is step 4 m + i, its low
// half b0, its high half b1).
template <int D>
struct Fp8FastLayout {
  static constexpr int kLanePieces = D / 64;   // 16-byte code pieces of a lane's K row part
  static constexpr int kLaneQChunks = D / 32;  // 8-element Q chunks of a lane's row part
  static_assert(D % 64 == 0, "a lane's part of a row is whole 16-byte code pieces");
};

// Ring position (16-byte piece) of K row `row`'s piece c: the pieces are XOR-swizzled by the row
// so that the 8 rows one load reads (lanes g = 0..7, each at its piece (D / 64) t + m) spread
// over all 32 banks: D 64 needs none (rows of 64 bytes alternate halves of the banks), D 128
// swaps the pieces of odd rows in pairs, D 256 XORs the low two bits with row & 3. The mask
// keeps the piece inside the row (rows are 16-key chunks, so rows g and g + 8 share it).
template <int D>
__device__ __forceinline__ int fast_k_piece(int row, int c) {
  return c ^ (row & (D / 64 - 1));
}

// The per-row power-of-two scale that takes a bf16 query row into fp16 (fp16 rows: none).
// Q x 2^s has its largest |element| in [2^14, 2^15): no overflow (fp16 max 65504), and every
// element within 2^-28 of the row's largest is an fp16 normal, so exact (bf16's 8 significant
// bits fit fp16's 11). Smaller elements land in fp16 subnormals (absolute error <= 2^-25 after
// scaling, <= 2^-39 of the row's largest |q|): far below the rounding of the bf16 query itself
// (2^-9 relative), which the reference tolerance already allows. The scores are multiplied by
// 2^-s in fp32 (exact), so the result is Q K^T as before. s is clamped to [-114, 126], so 2^s and
// 2^-s are fp32 normals; a row holding an inf / NaN keeps it (s = -114); a row whose largest |q|
// is below 2^-112 (s = 126) converts exactly (bf16's finest step, 2^-133, becomes 2^-7). Checked
// on the host against numpy's fp16 over 20,000 rows of exponents 2^-130 .. 2^126: every element
// within 2^-28 of its row's largest exact, worst error 2^-39 of the row's largest.
// e: the largest biased exponent field of the row (0 for an all-zero row).
__device__ __forceinline__ int fast_q_shift(int e) { return min(141 - e, 126); }
__device__ __forceinline__ float pow2f(int s) { return __int_as_float((127 + s) << 23); }

// The larger biased exponent field of a bf16x2 word's two elements.
__device__ __forceinline__ int bf16x2_max_exponent(uint32_t w) {
  return max(static_cast<int>((w >> 7) & 0xffu), static_cast<int>((w >> 23) & 0xffu));
}

// A query word (two elements of dtype T) -> fp16x2: bf16 scaled by `up` (a power of two), fp16
// as is.
template <typename T>
__device__ __forceinline__ uint32_t fast_q_word(uint32_t w, float up);
template <>
__device__ __forceinline__ uint32_t fast_q_word<__half>(uint32_t w, float) {
  return w;
}
template <>
__device__ __forceinline__ uint32_t fast_q_word<__nv_bfloat16>(uint32_t w, float up) {
  const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w));
  __half2 h = __floats2half2_rn(f.x * up, f.y * up);
  return *reinterpret_cast<uint32_t*>(&h);
}

// Swizzled [16][D] Q tile chunk (8 elements) m of lane t's row part: head dims
// (D / 4) t + 8 m + {0..7}, i.e. steps 2 m (words x, y) and 2 m + 1 (words z, w).
template <int D>
__device__ __forceinline__ int fast_q_chunk(int t, int m) {
  return (D / 32) * t + m;
}

}  // namespace fa3
