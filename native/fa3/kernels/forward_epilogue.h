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

// The fused combine, run by the last split tile of a group to arrive. Every load of the group's
// partials is independent of every other, so they are all issued at once (LSE with __ldcg, the
// O partials with cp.async.cg into the now free K/V region) and the merge costs one round trip
// instead of one per split. Rows go in passes sized so all splits of a pass fit; past ~190 splits
// at D >= 128 a row no longer fits and the O partials are read from L2 directly. Splits are summed
// in index order, so results are bit-identical run to run. The loops stay rolled: at small batch
// the kernel is bound by instruction fetch, and this code runs once per group.
template <int D, typename T>
__device__ __forceinline__ void merge_group(const ForwardParams& p, const TileInfo& ti, char* smem,
                                            int64_t lse_stride) {
  using Tr = ForwardTraits<D>;
  constexpr int kRegionFloats = 2 * Tr::kStages * Tr::kKVStageBytes / 4;
  constexpr int kC4 = D / 4;  // 16-byte chunks of one fp32 row
  static_assert(Tr::kBlockM * kMaxSplitsLimit <= kRegionFloats, "the LSE of every row and split fits");
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = qheads_per_kvhead(p.shape);
  const int hq = p.shape.num_heads_q;
  const int s_cap = p.shape.max_num_splits;
  const int S = ti.splits;
  // Per tile row: its query token and head (in the Q region, free after the main loop). Its
  // partials start at slot (token x Hq + head) x S_cap of [T, Hq, S]; the splits follow.
  int* row_tok = reinterpret_cast<int*>(smem);
  int* row_head = row_tok + Tr::kBlockM;
  static_assert(2 * Tr::kBlockM * 4 <= Tr::kQBytes, "row table fits the Q region");
  for (int row = threadIdx.x; row < ti.rows; row += Tr::kThreads) {
    const int packed = ti.m_block * Tr::kBlockM + row;
    row_tok[row] = ti.q_start + packed / g;
    row_head[row] = ti.kv_head * g + packed % g;
  }
  __syncthreads();
  auto out_row = [&](int row) { return static_cast<int64_t>(row_tok[row]) * hq + row_head[row]; };
  auto row_slot = [&](int row) { return out_row(row) * s_cap; };
  FA3_TRACE_TILE(p, ti, 10);
  const int fit = kRegionFloats / (S * (D + 1) + 4);  // rows whose weights and O partials fit
  const bool staged = fit >= 1;
  float* s_w = reinterpret_cast<float*>(smem + Tr::kKOffset);  // [rp][S]: LSE, then weights
#pragma unroll 1
  for (int row0 = 0; row0 < ti.rows; row0 += staged ? fit : Tr::kBlockM) {
    const int rp = min(staged ? fit : Tr::kBlockM, ti.rows - row0);
    float* s_o = s_w + ((rp * S + 3) & ~3);  // [rp][S][D], 16-byte aligned
    // (a) Everything in flight at once: each row's S x D contiguous O partials (staged) and its
    //     S contiguous LSE partials.
    if (staged) {
#pragma unroll 1
      for (int row = 0; row < rp; ++row) {
        const float* src = p.o_partial + row_slot(row0 + row) * D;
        float* dst = s_o + row * S * D;
#pragma unroll 1
        for (int i = threadIdx.x; i < S * kC4; i += Tr::kThreads)
          cp_async_16(smem_u32(dst + i * 4), src + i * 4, true);
      }
      cp_async_commit();
    }
    // (b) A warp per row: its LSE partials (lane = split), LSE = max + log sum exp (natural log)
    //     by warp reductions, and the merge weights exp(LSE_s - LSE): zero for an empty split or
    //     a row that sees no key (never NaN). The arguments are <= 0, where the fast exp / log
    //     are accurate to a few ulp.
#pragma unroll 1
    for (int row = warp; row < rp; row += Tr::kWarps) {
      float* w = s_w + row * S;
      const float* lp = p.lse_partial + row_slot(row0 + row);
      for (int sp = lane; sp < S; sp += 32) w[sp] = __ldcg(lp + sp);
      __syncwarp();
      float M = -INFINITY;
      for (int sp = lane; sp < S; sp += 32) M = fmaxf(M, w[sp]);
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
      float lse = -INFINITY;
      if (M != -INFINITY) {
        float sum = 0.f;
        for (int sp = lane; sp < S; sp += 32) sum += __expf(w[sp] - M);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
        lse = M + __logf(sum);
      }
      for (int sp = lane; sp < S; sp += 32) w[sp] = (lse == -INFINITY || w[sp] == -INFINITY) ? 0.f : __expf(w[sp] - lse);
      const int64_t tok = row_tok[row0 + row], head = row_head[row0 + row];
      if (lane == 0 && p.lse != nullptr && tok < lse_stride) p.lse[head * lse_stride + tok] = lse;
    }
    FA3_TRACE_TILE(p, ti, 11);
    if (staged) cp_async_wait<0>();
    __syncthreads();
    FA3_TRACE_TILE(p, ti, 12);
    // (c) O = sum_s w_s O_s in split order, 8 values per (row, 16-byte chunk) item; staged from
    //     shared memory ([rp][S][D]), else straight from L2 ([T, Hq, S, D]).
#pragma unroll 1
    for (int idx = threadIdx.x; idx < rp * Tr::kChunks; idx += Tr::kThreads) {
      const int row = idx / Tr::kChunks, c = idx % Tr::kChunks;
      const float* w = s_w + row * S;
      float v[8];
#pragma unroll
      for (int e = 0; e < 8; ++e) v[e] = 0.f;
      if (staged) {
        const float* src = s_o + row * S * D + c * 8;
#pragma unroll 2
        for (int sp = 0; sp < S; ++sp) {
          const float ws = w[sp];
          const float4 x0 = *reinterpret_cast<const float4*>(src + sp * D);
          const float4 x1 = *reinterpret_cast<const float4*>(src + sp * D + 4);
          v[0] += ws * x0.x; v[1] += ws * x0.y; v[2] += ws * x0.z; v[3] += ws * x0.w;
          v[4] += ws * x1.x; v[5] += ws * x1.y; v[6] += ws * x1.z; v[7] += ws * x1.w;
        }
      } else {
        const float* src = p.o_partial + row_slot(row0 + row) * D + c * 8;
#pragma unroll 1
        for (int sp = 0; sp < S; ++sp) {
          const float ws = w[sp];
          const float4 x0 = __ldcg(reinterpret_cast<const float4*>(src + sp * D));
          const float4 x1 = __ldcg(reinterpret_cast<const float4*>(src + sp * D + 4));
          v[0] += ws * x0.x; v[1] += ws * x0.y; v[2] += ws * x0.z; v[3] += ws * x0.w;
          v[4] += ws * x1.x; v[5] += ws * x1.y; v[6] += ws * x1.z; v[7] += ws * x1.w;
        }
      }
      store_8<T>(static_cast<T*>(p.out) + out_row(row0 + row) * D + c * 8, v);
    }
    __syncthreads();  // the next pass overwrites s_w / s_o
  }
}

template <int D, typename T>
__device__ __forceinline__ void run_epilogue(const ForwardParams& p, const TileInfo& ti, const TileGeometry& geo,
                                             char* smem, EpilogueShared& es, WarpState<D>& st,
                                             int64_t lse_stride) {
  using Tr = ForwardTraits<D>;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = qheads_per_kvhead(p.shape);
  const int hq = p.shape.num_heads_q;
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
      // [T, Hq, S, D] / [T, Hq, S] (layout.h).
      const int64_t slot = (tok * hq + head) * p.shape.max_num_splits + ti.split;
      float* dst = p.o_partial + slot * D + c * 8;
      __stcg(reinterpret_cast<float4*>(dst), make_float4(v[0], v[1], v[2], v[3]));
      __stcg(reinterpret_cast<float4*>(dst + 4), make_float4(v[4], v[5], v[6], v[7]));
      if (c == 0) __stcg(p.lse_partial + slot, es.lse[row]);
    }
  }
  if (direct) return;

  // 4. Fused combine: the last split tile of the group to arrive merges the group. Release /
  //    acquire through thread 0 (the cooperative-groups grid-sync idiom): the barrier orders every
  //    thread's partial stores before thread 0's cumulative release fence and arrival; the last
  //    arrival's acquire fence then covers the loads its CTA issues after the next barrier. One
  //    acq_rel fence by one thread, where a fence.sc by every thread cost ~1 us per tile.
  __syncthreads();
  FA3_TRACE_TILE(p, ti, 5);
  if (threadIdx.x == 0) {
    int* counter = p.counters + kCounterHeader + ti.group;
    fence_acq_rel_gpu();
    const int old = atomicAdd(counter, 1);
    const bool last = old >= ti.splits - 1;
    if (last) {
      atomicExch(counter, 0);
      fence_acq_rel_gpu();
    }
    es.last = last;
  }
  __syncthreads();
  FA3_TRACE_TILE(p, ti, 6);
  if (!es.last) return;
  merge_group<D, T>(p, ti, smem, lse_stride);
  FA3_TRACE_TILE(p, ti, 8);
}

}  // namespace fa3
