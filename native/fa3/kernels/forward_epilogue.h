// Epilogue of one work tile: merges the warps that split the KV block (per-row max / sum through
// shared memory), then either writes the final output (bf16/fp16) and LSE directly (a request
// with one split) or writes fp32 partials and, if this is the last split tile of its
// (KV head, request, m block) group to arrive, merges all partials of the group by LSE
// (the fused combine; all -inf gives zeros, never NaN) and resets the group's arrival counter.
// Attention sinks join each row's denominator once: at the direct write, or in the merge.
#pragma once

#include <stdint.h>

#include "forward_mainloop.h"
#include "forward_params.h"
#include "forward_tile_scheduler.h"
#include "ptx.h"

namespace fa3 {

constexpr float kLn2 = 0.69314718055994530942f;

// kWarps: the warps that hold the tile's accumulators (each 16 rows).
template <int kWarps>
struct EpilogueSharedT {
  float m[kWarps][16];   // per warp, per row of its slice: running max (log2 domain)
  float l[kWarps][16];   // per warp, per row: running sum
  float lse[kWarps * 16];  // per tile row: LSE, natural log
  int last;              // this CTA merges the group
};
using EpilogueShared = EpilogueSharedT<4>;

template <typename T>
__device__ __forceinline__ void store_8(T* dst, const float (&v)[8]) {
  uint4 u;
  u.x = MmaOp<T>::pack(v[0], v[1]);
  u.y = MmaOp<T>::pack(v[2], v[3]);
  u.z = MmaOp<T>::pack(v[4], v[5]);
  u.w = MmaOp<T>::pack(v[6], v[7]);
  *reinterpret_cast<uint4*>(dst) = u;
}

// Attention sinks (forward_params.h) for a one-split row: the sink is one more term of the
// softmax denominator with no value row, so LSE' = log(exp(LSE) + exp(sink)) (natural log;
// written to `lse`) and the row's normalised output scales by the returned exp(LSE - LSE') (a row
// that sees no key keeps zeros and gets LSE' = sink; a -inf sink returns 1 and leaves `lse`).
// Applied where the output is written (epilogue step 3), after the accumulators are parked in
// shared memory: folded into the softmax state instead, while they are live, it cost D = 256 16
// more bytes of register spills. Split rows get their sink in the merge.
__device__ __forceinline__ float fold_sink(float sink, float& lse) {
  const float M = fmaxf(lse, sink);
  if (M == -INFINITY) return 1.f;  // no key and no sink
  const float lse1 = M + __logf((lse == -INFINITY ? 0.f : __expf(lse - M)) + (sink == -INFINITY ? 0.f : __expf(sink - M)));
  const float scale = lse == -INFINITY ? 0.f : __expf(lse - lse1);
  lse = lse1;
  return scale;
}

// The fused combine, run by the last split tile of a group to arrive. Every load of the group's
// partials is independent of every other, so they all go out at once as cp.async (the O
// partials and the LSE partials, into the now free K/V region): the merge costs one round trip.
// Rows go in passes sized so all splits of a pass fit; past ~190 splits at D >= 128 a row no
// longer fits and the O partials are read from L2 directly (only the LSE partials are staged).
// Then a warp per row turns the LSE partials into weights, and a thread per (row, 4 columns)
// sums the splits in index order, so results are bit-identical run to run. The loops stay
// rolled: at small batch the kernel is bound by instruction fetch, and this code runs once per
// group.
//
// Shared by every forward kernel (Tr: its epilogue traits: the kThreads threads that run the
// epilogue, numbered Tr::tid(), synchronised by Tr::sync()): `row_tab` holds 2 x kBlockM ints and
// `region` kRegionFloats floats of free shared memory (16-byte aligned), both the epilogue's.
template <class Tr, typename T, int kRegionFloats>
__device__ __forceinline__ void merge_group(const ForwardParams& p, const TileInfo& ti, int* row_tab, float* region,
                                            int64_t lse_stride) {
  constexpr int D = Tr::kHeadDim;
  constexpr int kC4 = D / 4;  // 16-byte chunks of one fp32 row
  static_assert(Tr::kBlockM * kMaxSplitsLimit <= kRegionFloats, "the LSE of every row and split fits");
  const int warp = Tr::tid() >> 5, lane = Tr::tid() & 31;
  const int g = qheads_per_kvhead(p.shape);
  const int hq = p.shape.num_heads_q;
  const int s_cap = p.shape.max_num_splits;
  const int S = ti.splits;
  // Per tile row: its query token and head. Its partials start at slot
  // (token x Hq + head) x S_cap of [T, Hq, S]; the splits follow.
  int* row_tok = row_tab;
  int* row_head = row_tok + Tr::kBlockM;
  for (int row = Tr::tid(); row < ti.rows; row += Tr::kThreads) {
    const int packed = ti.m_block * Tr::kBlockM + row;
    row_tok[row] = ti.q_start + packed / g;
    row_head[row] = ti.kv_head * g + packed % g;
  }
  Tr::sync();
  auto out_row = [&](int row) { return static_cast<int64_t>(row_tok[row]) * hq + row_head[row]; };
  auto row_slot = [&](int row) { return out_row(row) * s_cap; };
  FA3_TRACE_TILE(p, ti, 10);
  const int fit = kRegionFloats / (S * (D + 1) + 4);  // rows whose weights and O partials fit
  const bool staged = fit >= 1;
  float* s_w = region;  // [rp][S]: LSE, then weights
#pragma unroll 1
  for (int row0 = 0; row0 < ti.rows; row0 += staged ? fit : Tr::kBlockM) {
    const int rp = min(staged ? fit : Tr::kBlockM, ti.rows - row0);
    float* s_o = s_w + ((rp * S + 3) & ~3);  // [rp][S][D], 16-byte aligned
    // (a) Everything in flight at once: each row's S contiguous LSE partials and (staged) its
    //     S x D contiguous O partials.
#pragma unroll 1
    for (int i = Tr::tid(); i < rp * S; i += Tr::kThreads) {
      const int row = i / S, sp = i - row * S;
      cp_async_4(smem_u32(s_w + i), p.lse_partial + row_slot(row0 + row) + sp, true);
    }
    if (staged) {
#pragma unroll 1
      for (int row = 0; row < rp; ++row) {
        const float* src = p.o_partial + row_slot(row0 + row) * D;
        float* dst = s_o + row * S * D;
#pragma unroll 1
        for (int i = Tr::tid(); i < S * kC4; i += Tr::kThreads)
          cp_async_16(smem_u32(dst + i * 4), src + i * 4, true);
      }
    }
    cp_async_commit();
    cp_async_wait<0>();
    Tr::sync();
    FA3_TRACE_TILE(p, ti, 11);
    // (b) A warp per row: LSE = max + log sum exp (natural log) by warp reductions, the row's
    //     sink included, and the merge weights exp(LSE_s - LSE): zero for an empty split or a
    //     row that sees no key (never NaN). With a sink the weights sum to less than 1 (the sink's
    //     share has no value row). The arguments are <= 0, where the fast exp / log are accurate
    //     to a few ulp.
#pragma unroll 1
    for (int row = warp; row < rp; row += Tr::kWarps) {
      float* w = s_w + row * S;
      float M = -INFINITY;
      for (int sp = lane; sp < S; sp += 32) M = fmaxf(M, w[sp]);
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
      // The row's sink joins the denominator here, once (the split partials exclude it).
      const float sink = p.sinks != nullptr ? __ldg(p.sinks + row_head[row0 + row]) : -INFINITY;
      M = fmaxf(M, sink);
      float lse = -INFINITY;
      if (M != -INFINITY) {
        float sum = 0.f;
        for (int sp = lane; sp < S; sp += 32) sum += __expf(w[sp] - M);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
        if (sink != -INFINITY) sum += __expf(sink - M);
        lse = M + __logf(sum);
      }
      for (int sp = lane; sp < S; sp += 32) w[sp] = (lse == -INFINITY || w[sp] == -INFINITY) ? 0.f : __expf(w[sp] - lse);
      const int64_t tok = row_tok[row0 + row], head = row_head[row0 + row];
      if (lane == 0 && p.lse != nullptr && tok < lse_stride) p.lse[head * lse_stride + tok] = lse;
    }
    Tr::sync();
    FA3_TRACE_TILE(p, ti, 12);
    // (c) O = sum_s w_s O_s in split order, a thread per (row, 4 columns); staged from shared
    //     memory ([rp][S][D]), else straight from L2 ([T, Hq, S, D]).
#pragma unroll 1
    for (int idx = Tr::tid(); idx < rp * kC4; idx += Tr::kThreads) {
      const int row = idx / kC4, c = idx % kC4;
      const float* w = s_w + row * S;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      const float* src = staged ? s_o + row * S * D + c * 4 : p.o_partial + row_slot(row0 + row) * D + c * 4;
#pragma unroll 4
      for (int sp = 0; sp < S; ++sp) {
        const float ws = w[sp];
        const float4 x = staged ? *reinterpret_cast<const float4*>(src + sp * D)
                                : __ldcg(reinterpret_cast<const float4*>(src + sp * D));
        v.x += ws * x.x; v.y += ws * x.y; v.z += ws * x.z; v.w += ws * x.w;
      }
      uint2 u;
      u.x = MmaOp<T>::pack(v.x, v.y);
      u.y = MmaOp<T>::pack(v.z, v.w);
      *reinterpret_cast<uint2*>(static_cast<T*>(p.out) + out_row(row0 + row) * D + c * 4) = u;
    }
    Tr::sync();  // the next pass overwrites s_w / s_o
  }
}

// The fused combine's arrival, called by every thread of the CTA once its partials are stored:
// returns (in every thread) whether this tile is the last of its group to arrive, and then resets
// the group's counter. Release / acquire through thread 0 (the cooperative-groups grid-sync
// idiom): the barrier orders every thread's partial stores before thread 0's cumulative release
// fence and arrival; the last arrival's acquire fence then covers the loads its CTA issues after
// the next barrier. One acq_rel fence by one thread, where a fence.sc by every thread cost ~1 us
// per tile.
template <class Tr>
__device__ __forceinline__ bool arrive_at_group(const ForwardParams& p, const TileInfo& ti, int* s_last) {
  Tr::sync();
  FA3_TRACE_TILE(p, ti, 5);
  if (Tr::tid() == 0) {
    int* counter = p.counters + kCounterHeader + ti.group;
    fence_acq_rel_gpu();
    const int old = atomicAdd(counter, 1);
    const bool last = old >= ti.splits - 1;
    if (last) {
      atomicExch(counter, 0);
      fence_acq_rel_gpu();
    }
    *s_last = last;
  }
  Tr::sync();
  FA3_TRACE_TILE(p, ti, 6);
  return *s_last != 0;
}

// Steps 1-3 of the epilogue for tile rows [row0, row0 + rows) (the general kernel: the whole
// tile; the decode kernel: one 16-row slice): merge the warps that split the keys, then write the
// output and LSE (one split) or the fp32 partials. `sO` is free shared memory for
// warps_n x warps_m x 16 rows of kOStride floats. Shared by both forward kernels.
template <class Tr, typename T>
__device__ __forceinline__ void store_tile_rows(const ForwardParams& p, const TileInfo& ti, const TileGeometry& geo,
                                                float* sO, EpilogueSharedT<Tr::kWarps>& es,
                                                WarpState<Tr::kHeadDim>& st, int64_t lse_stride, int row0, int rows) {
  constexpr int D = Tr::kHeadDim;
  const int warp = Tr::tid() >> 5, lane = Tr::tid() & 31;
  const int g = qheads_per_kvhead(p.shape);
  const int hq = p.shape.num_heads_q;

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
  Tr::sync();

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
  Tr::sync();

  // 3. Write: rows x 16-byte chunks of output, summing the warps_n partner slices.
  const int slice_rows = geo.warps_m * 16;
  const bool direct = ti.splits == 1;
#pragma unroll 1
  for (int idx = Tr::tid(); idx < rows * Tr::kChunks; idx += Tr::kThreads) {
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
    const int packed = ti.m_block * Tr::kBlockM + row0 + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    if (direct) {
      float lse = es.lse[row];
      if (p.sinks != nullptr) {
        const float scale = fold_sink(__ldg(p.sinks + head), lse);
#pragma unroll
        for (int e = 0; e < 8; ++e) v[e] *= scale;
      }
      store_8<T>(static_cast<T*>(p.out) + (tok * hq + head) * D + c * 8, v);
      if (c == 0 && p.lse != nullptr && tok < lse_stride) p.lse[head * lse_stride + tok] = lse;
    } else {
      // [T, Hq, S, D] / [T, Hq, S] (layout.h).
      const int64_t slot = (tok * hq + head) * p.shape.max_num_splits + ti.split;
      float* dst = p.o_partial + slot * D + c * 8;
      __stcg(reinterpret_cast<float4*>(dst), make_float4(v[0], v[1], v[2], v[3]));
      __stcg(reinterpret_cast<float4*>(dst + 4), make_float4(v[4], v[5], v[6], v[7]));
      if (c == 0) __stcg(p.lse_partial + slot, es.lse[row]);
    }
  }
}

template <int D, typename T>
__device__ __forceinline__ void run_epilogue(const ForwardParams& p, const TileInfo& ti, const TileGeometry& geo,
                                             char* smem, EpilogueShared& es, WarpState<D>& st,
                                             int64_t lse_stride) {
  using Tr = ForwardTraits<D>;
  store_tile_rows<Tr, T>(p, ti, geo, reinterpret_cast<float*>(smem + Tr::kKOffset), es, st, lse_stride, 0, ti.rows);
  if (ti.splits == 1) return;

  // 4. Fused combine: the last split tile of the group to arrive merges the group.
  if (!arrive_at_group<Tr>(p, ti, &es.last)) return;
  // Row table in the Q region and the K/V stages as the staging region, both free by now.
  static_assert(2 * Tr::kBlockM * 4 <= Tr::kQBytes, "row table fits the Q region");
  merge_group<Tr, T, 2 * Tr::kStages * Tr::kKVStageBytes / 4>(p, ti, reinterpret_cast<int*>(smem),
                                                             reinterpret_cast<float*>(smem + Tr::kKOffset), lse_stride);
  FA3_TRACE_TILE(p, ti, 8);
}

}  // namespace fa3
