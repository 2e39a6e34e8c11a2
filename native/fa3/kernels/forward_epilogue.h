// Epilogue of one work tile: merges the warps that split the KV block (per-row max / sum through
// shared memory), then either writes the final output (bf16/fp16) and LSE directly (a request
// with one split) or writes fp32 partials and, if this is the last split tile of its
// (KV head, request, m block) group to arrive, merges all partials of the group by LSE
// (the fused combine; all -inf gives zeros, never NaN) and resets the group's arrival counter.
#pragma once

#include <stdint.h>

#include "forward_mainloop.h"
#include "forward_params.h"
#include "forward_tile_scheduler.h"
#include "ptx.h"

namespace fa3 {

constexpr float kLn2 = 0.69314718055994530942f;

struct EpilogueShared {
  float m[4][16];  // per warp, per row of its slice: running max (log2 domain)
  float l[4][16];  // per warp, per row: running sum
  float lse[64];   // per tile row: LSE, natural log
  int last;        // this CTA merges the group
};

template <typename T>
__device__ __forceinline__ void store_8(T* dst, const float (&v)[8]) {
  uint4 u;
  u.x = MmaOp<T>::pack(v[0], v[1]);
  u.y = MmaOp<T>::pack(v[2], v[3]);
  u.z = MmaOp<T>::pack(v[4], v[5]);
  u.w = MmaOp<T>::pack(v[6], v[7]);
  *reinterpret_cast<uint4*>(dst) = u;
}

template <int D, typename T>
__device__ __forceinline__ void run_epilogue(const ForwardParams& p, const TileInfo& ti, const TileGeometry& geo,
                                             char* smem, EpilogueShared& es, WarpState<D>& st,
                                             int64_t lse_stride) {
  using Tr = ForwardTraits<D>;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = qheads_per_kvhead(p.shape);
  const int hq = p.shape.num_heads_q;
  const int64_t T_cap = p.shape.max_num_tokens;
  float* sO = reinterpret_cast<float*>(smem + Tr::kKOffset);  // [warps_n * warps_m * 16][kOStride]

  // 1. Row sums over the quad, then per-warp stats to shared memory.
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    st.l[h] += __shfl_xor_sync(0xffffffffu, st.l[h], 1);
    st.l[h] += __shfl_xor_sync(0xffffffffu, st.l[h], 2);
  }
  if ((lane & 3) == 0) {
    es.m[warp][lane >> 2] = st.m[0];
    es.m[warp][(lane >> 2) + 8] = st.m[1];
    es.l[warp][lane >> 2] = st.l[0];
    es.l[warp][(lane >> 2) + 8] = st.l[1];
  }
  __syncthreads();

  // 2. Merge the warps_n partners of this warp's rows; scale O and park it in shared memory.
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = (lane >> 2) + 8 * h;
    float M = -INFINITY;
    for (int k = 0; k < geo.warps_n; ++k) M = fmaxf(M, es.m[geo.wm * geo.warps_n + k][r]);
    float L = 0.f;
    if (M != -INFINITY) {
      for (int k = 0; k < geo.warps_n; ++k) {
        const float mk = es.m[geo.wm * geo.warps_n + k][r];
        if (mk != -INFINITY) L += es.l[geo.wm * geo.warps_n + k][r] * fast_exp2(mk - M);
      }
    }
    const bool any = L > 0.f;
    const float factor = (any && st.m[h] != -INFINITY) ? fast_exp2(st.m[h] - M) / L : 0.f;
    const int row = geo.wm * 16 + r;
    float* dst = sO + (geo.wn * geo.warps_m * 16 + row) * Tr::kOStride + (lane & 3) * 2;
#pragma unroll
    for (int d = 0; d < D / 8; ++d) {
      float2 v = make_float2(st.o[d][2 * h] * factor, st.o[d][2 * h + 1] * factor);
      *reinterpret_cast<float2*>(dst + d * 8) = v;
    }
    if (geo.wn == 0 && (lane & 3) == 0) es.lse[row] = any ? (M + __log2f(L)) * kLn2 : -INFINITY;
  }
  __syncthreads();

  // 3. Write: rows x 16-byte chunks of output, summing the warps_n partner slices.
  const int slice_rows = geo.warps_m * 16;
  const bool direct = ti.splits == 1;
#pragma unroll 1
  for (int idx = threadIdx.x; idx < ti.rows * Tr::kChunks; idx += Tr::kThreads) {
    const int row = idx / Tr::kChunks, c = idx % Tr::kChunks;
    float v[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) v[e] = 0.f;
    for (int k = 0; k < geo.warps_n; ++k) {
      const float* src = sO + (k * slice_rows + row) * Tr::kOStride + c * 8;
      const float4 x0 = *reinterpret_cast<const float4*>(src);
      const float4 x1 = *reinterpret_cast<const float4*>(src + 4);
      v[0] += x0.x; v[1] += x0.y; v[2] += x0.z; v[3] += x0.w;
      v[4] += x1.x; v[5] += x1.y; v[6] += x1.z; v[7] += x1.w;
    }
    const int packed = ti.m_block * Tr::kBlockM + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    if (direct) {
      store_8<T>(static_cast<T*>(p.out) + (tok * hq + head) * D + c * 8, v);
      if (c == 0 && p.lse != nullptr && tok < lse_stride) p.lse[head * lse_stride + tok] = es.lse[row];
    } else {
      float* dst = p.o_partial + ((static_cast<int64_t>(ti.split) * hq + head) * T_cap + tok) * D + c * 8;
      __stcg(reinterpret_cast<float4*>(dst), make_float4(v[0], v[1], v[2], v[3]));
      __stcg(reinterpret_cast<float4*>(dst + 4), make_float4(v[4], v[5], v[6], v[7]));
      if (c == 0) __stcg(p.lse_partial + (static_cast<int64_t>(ti.split) * hq + head) * T_cap + tok, es.lse[row]);
    }
  }
  if (direct) return;

  // 4. Fused combine: the last split tile of the group to arrive merges the group.
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    int* counter = p.counters + kCounterHeader + ti.group;
    const int old = atomicAdd(counter, 1);
    const bool last = old >= ti.splits - 1;
    if (last) atomicExch(counter, 0);
    es.last = last;
  }
  __syncthreads();
  if (!es.last) return;
  __threadfence();
  // (a) Every (row, split) LSE into shared memory (the K/V region is free now): one round trip.
  const int64_t split_stride = static_cast<int64_t>(hq) * T_cap;
  float* s_w = reinterpret_cast<float*>(smem + Tr::kKOffset);  // [rows][splits]
  const int n_ls = ti.rows * ti.splits;
  for (int i = threadIdx.x; i < n_ls; i += Tr::kThreads) {
    const int row = i / ti.splits, s = i % ti.splits;
    const int packed = ti.m_block * Tr::kBlockM + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    s_w[i] = __ldcg(p.lse_partial + s * split_stride + static_cast<int64_t>(head) * T_cap + tok);
  }
  __syncthreads();
  // (b) Per row: LSE = max + log sum exp (natural log); the LSE partials become merge weights
  //     exp(LSE_s - LSE), zero for an empty split or a row that sees no key (never NaN).
  for (int row = threadIdx.x; row < ti.rows; row += Tr::kThreads) {
    float* w = s_w + row * ti.splits;
    float M = -INFINITY;
    for (int s = 0; s < ti.splits; ++s) M = fmaxf(M, w[s]);
    float lse = -INFINITY;
    if (M != -INFINITY) {
      float sum = 0.f;
      for (int s = 0; s < ti.splits; ++s) sum += expf(w[s] - M);
      lse = M + logf(sum);
    }
    for (int s = 0; s < ti.splits; ++s) w[s] = (lse == -INFINITY || w[s] == -INFINITY) ? 0.f : expf(w[s] - lse);
    es.lse[row] = lse;
    const int packed = ti.m_block * Tr::kBlockM + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    if (p.lse != nullptr && tok < lse_stride) p.lse[head * lse_stride + tok] = lse;
  }
  __syncthreads();
  // (c) O = sum_s w_s O_s, 8 values per thread; the loads do not depend on each other, so an
  //     unrolled loop keeps several splits in flight.
#pragma unroll 1
  for (int idx = threadIdx.x; idx < ti.rows * Tr::kChunks; idx += Tr::kThreads) {
    const int row = idx / Tr::kChunks, c = idx % Tr::kChunks;
    const int packed = ti.m_block * Tr::kBlockM + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    const float* w = s_w + row * ti.splits;
    const float* op = p.o_partial + (static_cast<int64_t>(head) * T_cap + tok) * D + c * 8;
    float v[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) v[e] = 0.f;
#pragma unroll 8
    for (int s = 0; s < ti.splits; ++s) {
      const float ws = w[s];
      const float4 x0 = __ldcg(reinterpret_cast<const float4*>(op + s * split_stride * D));
      const float4 x1 = __ldcg(reinterpret_cast<const float4*>(op + s * split_stride * D + 4));
      v[0] += ws * x0.x; v[1] += ws * x0.y; v[2] += ws * x0.z; v[3] += ws * x0.w;
      v[4] += ws * x1.x; v[5] += ws * x1.y; v[6] += ws * x1.z; v[7] += ws * x1.w;
    }
    store_8<T>(static_cast<T*>(p.out) + (tok * hq + head) * D + c * 8, v);
  }
}

}  // namespace fa3
