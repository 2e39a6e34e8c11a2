// The fp8 e4m3 KV cache on the device: the cache element type, dequantization of e4m3 codes to the
// query dtype (bf16 / fp16) in registers, and the per-(KV head) descale factors. The forward
// kernels stage a KV chunk's fp8 bytes in shared memory (cp.async, half the bytes of a bf16 cache),
// turn them into the dtype their ldmatrix / mma.sync path reads, and apply the descales in fp32:
// scores x kDescale before the softmax, the output x vDescale after the KV loop (exact: the codes
// are exact in bf16 and fp16, and both products are linear).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <stdint.h>

namespace fa3 {

using KvFp8 = __nv_fp8_e4m3;

template <typename KV>
struct KvTraits {
  static constexpr bool kFp8 = false;
};
template <>
struct KvTraits<KvFp8> {
  static constexpr bool kFp8 = true;
};

// The descale factor of a KV head (1 when the caller passed none). Read on the device every
// launch, so a captured graph picks up factors set between replays.
__device__ __forceinline__ float kv_descale(const float* descale, int kv_head) {
  return descale != nullptr ? __ldg(descale + kv_head) : 1.f;
}

// Four e4m3 codes (byte k = code k) -> two words of two T values each, in order (codes 0, 1 and
// 2, 3). Integer moves put each code's sign, exponent and mantissa into the T bit pattern with
// the exponent unbiased (the value times 2^-(bias_T - 7), exact, subnormals included), then one
// multiply by 2^(bias_T - 7) restores it. NaN codes (S.1111.111) would read as +-480 that way; a
// chunk of 16 codes holding one takes the slow path, which sets those values to NaN.
template <typename T>
struct Fp8Dequant;

template <>
struct Fp8Dequant<__nv_bfloat16> {
  // bf16: sign to bit 15, exponent and mantissa (7 bits) to bits 4..10; times 2^120.
  __device__ __forceinline__ static uint32_t place(uint32_t x) {
    return (x & 0x80008000u) | ((x >> 4) & 0x07f007f0u);
  }
  __device__ __forceinline__ static uint32_t rebias(uint32_t v) {
    const __nv_bfloat162 s = __halves2bfloat162(__ushort_as_bfloat16(0x7b80), __ushort_as_bfloat16(0x7b80));
    __nv_bfloat162 r = __hmul2(*reinterpret_cast<__nv_bfloat162*>(&v), s);
    return *reinterpret_cast<uint32_t*>(&r);
  }
};

template <>
struct Fp8Dequant<__half> {
  // fp16: sign to bit 15, exponent and mantissa (7 bits) to bits 7..13; times 2^8.
  __device__ __forceinline__ static uint32_t place(uint32_t x) {
    return (x & 0x80008000u) | ((x >> 1) & 0x3f803f80u);
  }
  __device__ __forceinline__ static uint32_t rebias(uint32_t v) {
    const __half2 s = __halves2half2(__ushort_as_half(0x5c00), __ushort_as_half(0x5c00));
    __half2 r = __hmul2(*reinterpret_cast<__half2*>(&v), s);
    return *reinterpret_cast<uint32_t*>(&r);
  }
};

// Which bytes of w are e4m3 NaN codes (low 7 bits all ones): bit 7 of each such byte.
__device__ __forceinline__ uint32_t e4m3_nan_bytes(uint32_t w) {
  return ((w & 0x7f7f7f7fu) + 0x01010101u) & 0x80808080u;
}

// Four codes, NaN codes not yet handled (they come out as +-480).
template <typename T>
__device__ __forceinline__ void dequant_e4m3x4_finite(uint32_t w, uint32_t& lo, uint32_t& hi) {
  // Code k into the high byte of its 16-bit half: codes 0, 1 -> lo, codes 2, 3 -> hi.
  lo = Fp8Dequant<T>::rebias(Fp8Dequant<T>::place(__byte_perm(w, 0u, 0x1404)));
  hi = Fp8Dequant<T>::rebias(Fp8Dequant<T>::place(__byte_perm(w, 0u, 0x3424)));
}

// The values of w's NaN codes set to NaN: exponent and mantissa all ones, sign kept (NaN in
// bf16 and fp16 alike).
__device__ __forceinline__ void set_e4m3_nans(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t nan = e4m3_nan_bytes(w);
  if (nan & 0x00000080u) lo |= 0x00007fffu;
  if (nan & 0x00008000u) lo |= 0x7fff0000u;
  if (nan & 0x00800000u) hi |= 0x00007fffu;
  if (nan & 0x80000000u) hi |= 0x7fff0000u;
}

// 16 e4m3 codes (one 16-byte shared-memory chunk) -> 16 T values (two 16-byte chunks). One NaN
// test for all 16 codes (their bytes' low 7 bits plus one, OR-ed: no carry crosses a byte), so
// the fix-up is a branch almost never taken.
template <typename T>
__device__ __forceinline__ void dequant_e4m3x16(const uint4& in, uint4& out0, uint4& out1) {
  dequant_e4m3x4_finite<T>(in.x, out0.x, out0.y);
  dequant_e4m3x4_finite<T>(in.y, out0.z, out0.w);
  dequant_e4m3x4_finite<T>(in.z, out1.x, out1.y);
  dequant_e4m3x4_finite<T>(in.w, out1.z, out1.w);
  const uint32_t any = (((in.x & 0x7f7f7f7fu) + 0x01010101u) | ((in.y & 0x7f7f7f7fu) + 0x01010101u) |
                        ((in.z & 0x7f7f7f7fu) + 0x01010101u) | ((in.w & 0x7f7f7f7fu) + 0x01010101u)) &
                       0x80808080u;
  if (any != 0u) {
    set_e4m3_nans(in.x, out0.x, out0.y);
    set_e4m3_nans(in.y, out0.z, out0.w);
    set_e4m3_nans(in.z, out1.x, out1.y);
    set_e4m3_nans(in.w, out1.z, out1.w);
  }
}

}  // namespace fa3
