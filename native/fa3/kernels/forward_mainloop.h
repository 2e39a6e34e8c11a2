// Main loop of one work tile: loads the tile's packed Q rows, streams its KV blocks through a
// 3-stage cp.async pipeline (16-byte gathers from the paged cache, page ids fetched a pipeline
// depth ahead and checked against [0, numPages) before any address is formed), and runs
// S = Q K^T, masking, online softmax (exp2, scale folded in, fp32 state) and O += P V on
// mma.sync m16n8k16.
//
// Warp layout per tile: the 4 warps split the tile's valid rows into 16-row slices (warps_m) and
// each KV block's keys into warps_n = 4 / warps_m slices. A decode tile (<= 16 packed rows) thus
// has all four warps computing on a quarter of every KV block; the epilogue merges them.
#pragma once

#include <stdint.h>

#include "forward_params.h"
#include "forward_tile_scheduler.h"
#include "kv_fp8.h"
#include "ptx.h"

namespace fa3 {

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Element offset of 16-byte chunk c of row `row` in a [rows][D] tile: an XOR swizzle inside the
// row, so the 8 rows one ldmatrix reads hit 8 different bank groups (of the 8 per 128 bytes).
// D / 8 a multiple of 8 (D = 64, 128, 192, 256): c ^ (row & 7). D = 96 (12 chunks, rows 192 bytes
// apart, so rows r and r + 2 share a bank group): the XOR takes the low 2 bits only (keeping c
// inside its group of 4, so inside the row), with row >> 1; the odd rows' 64-byte offset gives
// the third bit.
template <int D>
__device__ __forceinline__ int swz(int row, int c) {
  static_assert((D / 8) % 4 == 0, "rows of whole groups of four 16-byte chunks");
  if constexpr ((D / 8) % 8 == 0)
    return row * D + ((c ^ (row & 7)) << 3);
  else
    return row * D + ((c ^ ((row >> 1) & 3)) << 3);
}

// The mma A fragment of k16 step kk of a warp's 16 query rows: from the registers Q was loaded
// into (kQInRegs), else from the swizzled Q tile in shared memory.
template <int D, bool kQInRegs, typename T>
__device__ __forceinline__ void q_fragment(const uint32_t (&qf)[kQInRegs ? D / 16 : 1][4], const T* sQ, int q_row, int kk,
                                           int lane, uint32_t (&a)[4]) {
  if constexpr (kQInRegs) {
    a[0] = qf[kk][0]; a[1] = qf[kk][1]; a[2] = qf[kk][2]; a[3] = qf[kk][3];
  } else {
    ldmatrix_x4(smem_u32(sQ + swz<D>(q_row, 2 * kk + (lane >> 4))), a[0], a[1], a[2], a[3]);
  }
}

// The largest power of two <= x (x >= 1): rows per load pass when D / 8 chunks do not divide the
// threads (D = 96, 192).
__host__ __device__ constexpr int pow2_floor(int x) { return x >= 2 ? 2 * pow2_floor(x / 2) : 1; }

// Per-tile constants every thread derives once.
struct TileGeometry {
  int warps_m, warps_n, wm, wn, nt_w;  // nt_w: n8 tiles of each KV block this warp owns
  int nblocks;
  int64_t diag_a, diag_b;              // bottom-right diagonal of this thread's two rows
  int64_t diag_tile_lo, diag_tile_hi;  // of the tile's first and last valid rows
};

template <int D>
__device__ __forceinline__ TileGeometry tile_geometry(const ForwardParams& p, const TileInfo& ti) {
  using Tr = ForwardTraits<D>;
  TileGeometry geo;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  geo.warps_m = ti.rows <= 16 ? 1 : (ti.rows <= 32 ? 2 : 4);
  geo.warps_n = Tr::kWarps / geo.warps_m;
  geo.wm = warp / geo.warps_n;
  geo.wn = warp % geo.warps_n;
  geo.nt_w = (Tr::kBlockN / 8) / geo.warps_n;
  geo.nblocks = ti.block_end - ti.block_begin;
  const int g = qheads_per_kvhead(p.shape);
  const int row_a = ti.m_block * Tr::kBlockM + geo.wm * 16 + (lane >> 2);
  const int64_t base = static_cast<int64_t>(ti.k_len) - ti.q_len;
  geo.diag_a = base + row_a / g;
  geo.diag_b = base + (row_a + 8) / g;
  geo.diag_tile_lo = base + (ti.m_block * Tr::kBlockM) / g;
  geo.diag_tile_hi = base + (ti.m_block * Tr::kBlockM + ti.rows - 1) / g;
  return geo;
}

template <int D, typename T>
__device__ __forceinline__ void load_q_tile(const ForwardParams& p, const TileInfo& ti, T* sQ) {
  using Tr = ForwardTraits<D>;
  const T* q = static_cast<const T*>(p.q);
  const int g = qheads_per_kvhead(p.shape);
#pragma unroll 1
  for (int idx = threadIdx.x; idx < Tr::kBlockM * Tr::kChunks; idx += Tr::kThreads) {
    const int row = idx / Tr::kChunks, c = idx % Tr::kChunks;
    const bool valid = row < ti.rows;
    const int packed = ti.m_block * Tr::kBlockM + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    const T* src = valid ? q + (tok * p.shape.num_heads_q + head) * D + c * 8 : q;
    cp_async_16(smem_u32(sQ + swz<D>(row, c)), src, valid);
  }
}

// Key position -> (page-table column, offset inside the page). Positions are < 2^30 (validated
// capacities), so 32-bit math; a shift / mask for power-of-two page sizes, a division otherwise.
__device__ __forceinline__ int page_column(const ForwardParams& p, int pos) {
  return p.page_shift >= 0 ? pos >> p.page_shift : pos / p.shape.page_size;
}
__device__ __forceinline__ int page_offset(const ForwardParams& p, int pos) {
  return p.page_shift >= 0 ? pos & (p.shape.page_size - 1) : pos % p.shape.page_size;
}

// Page ids of KV block k (relative to the tile) into ring slot k % kPageRing; 0 past k_len.
template <int D>
__device__ __forceinline__ void issue_page_ids(const ForwardParams& p, const TileInfo& ti, int k, int* ring) {
  using Tr = ForwardTraits<D>;
  const int t = threadIdx.x;
  if (t < Tr::kGroupsPerBlock) {
    const int pos = (ti.block_begin + k) * Tr::kBlockN + t * 16;
    const bool valid = k < ti.block_end - ti.block_begin && pos < ti.k_len;
    const int* src = valid ? p.page_table + ti.req * p.page_table_stride + page_column(p, pos) : p.page_table;
    cp_async_4(smem_u32(ring + (k % Tr::kPageRing) * Tr::kGroupsPerBlock + t), src, valid);
  }
}

// K and V of KV block k into stage k % kStages. A thread owns one 16-byte column chunk c of rows
// r0 + j * kRowsPerPass, so which 16-key group (one page) each of its rows falls in is known at
// compile time: one page lookup and one offset per group, then a multiply-add per row. An
// invalid page or a key past k_len is zero-filled and never read (the mask removes it).
template <int D, typename T>
__device__ __forceinline__ void issue_kv_block(const ForwardParams& p, const TileInfo& ti, int k, T* sK, T* sV,
                                               const int* ring) {
  using Tr = ForwardTraits<D>;
  if (k >= ti.block_end - ti.block_begin) return;
  // Rows per pass: the largest power of two <= kThreads / kChunks (16, 8, 4 for D = 64, 128, 256;
  // 8 and 4 for D = 96 and 192, where the threads past kRowsPerPass x kChunks issue nothing).
  constexpr int kRowsPerPass = pow2_floor(Tr::kThreads / Tr::kChunks);
  constexpr int kRowsPerGroup = 16 / kRowsPerPass;
  static_assert(16 % kRowsPerPass == 0, "a thread's rows must tile the 16-key groups");
  if (kRowsPerPass * Tr::kChunks < Tr::kThreads && threadIdx.x >= kRowsPerPass * Tr::kChunks) return;
  const int stage = k % Tr::kStages;
  T* sk = sK + stage * (Tr::kBlockN * D);
  T* sv = sV + stage * (Tr::kBlockN * D);
  const int* pages = ring + (k % Tr::kPageRing) * Tr::kGroupsPerBlock;
  const int c = threadIdx.x % Tr::kChunks;
  const int r0 = threadIdx.x / Tr::kChunks;
  const int64_t token_stride = static_cast<int64_t>(p.shape.num_heads_kv) * D;
  const int64_t col = static_cast<int64_t>(ti.kv_head) * D + c * 8;
  const T* kc = static_cast<const T*>(p.k_cache) + col;
  const T* vc = static_cast<const T*>(p.v_cache) + col;
  const int block_pos = (ti.block_begin + k) * Tr::kBlockN;
#pragma unroll
  for (int q = 0; q < Tr::kGroupsPerBlock; ++q) {
    const int gpos = block_pos + q * 16;
    const int page = pages[q];
    const bool page_ok = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages);
    // First cache slot of this thread's rows in the group (slots < 2^31: validated capacities).
    const unsigned slot0 = static_cast<unsigned>(page) * static_cast<unsigned>(p.shape.page_size) +
                           static_cast<unsigned>(page_offset(p, gpos) + r0);
#pragma unroll
    for (int j = 0; j < kRowsPerGroup; ++j) {
      const int row = q * 16 + r0 + j * kRowsPerPass;
      const bool ok = page_ok && gpos + r0 + j * kRowsPerPass < ti.k_len;
      const int64_t off = ok ? static_cast<int64_t>(slot0 + j * kRowsPerPass) * token_stride : 0;
      cp_async_16(smem_u32(sk + swz<D>(row, c)), kc + off, ok);
      cp_async_16(smem_u32(sv + swz<D>(row, c)), vc + off, ok);
    }
  }
}

// fp8 e4m3 caches (kv_fp8.h): the codes of KV block k go to fp8 ring stage k % kStages, which lives
// in K / V stages 1.. of the bf16 layout (stage 0 of each holds the dequantized block the mma path
// reads). A thread copies 16 codes of one row per cp.async; rows of D bytes, unswizzled (the
// dequantization reads them a 16-byte piece per thread, conflict-free). Pages are looked up per row
// (the groups of a thread's rows are not compile-time here at D = 64); invalid pages and keys past
// k_len are zero-filled, as above.
template <int D>
struct Fp8KvLayout {
  using Tr = ForwardTraits<D>;
  static constexpr int kStageBytes = Tr::kBlockN * D;  // codes of one block of K (or V)
  static constexpr int kPieces = D / 16;               // 16-byte pieces of a row
  static constexpr int kRingOffsetK = Tr::kKOffset + Tr::kKVStageBytes;
  static constexpr int kRingOffsetV = Tr::kVOffset + Tr::kKVStageBytes;
  static_assert(Tr::kStages * kStageBytes <= (Tr::kStages - 1) * Tr::kKVStageBytes,
                "the fp8 ring fits the bf16 stages 1..");
  static_assert(Tr::kThreads % kPieces == 0 && Tr::kBlockN % (Tr::kThreads / kPieces) == 0,
                "threads tile a block's pieces");
};

template <int D>
__device__ __forceinline__ void issue_kv_block_fp8(const ForwardParams& p, const TileInfo& ti, int k, char* smem,
                                                   const int* ring) {
  using Tr = ForwardTraits<D>;
  using L = Fp8KvLayout<D>;
  if (k >= ti.block_end - ti.block_begin) return;
  constexpr int kRowsPerPass = Tr::kThreads / L::kPieces;  // 32, 16, 8 for D = 64, 128, 256
  const int stage = k % Tr::kStages;
  char* sk = smem + L::kRingOffsetK + stage * L::kStageBytes;
  char* sv = smem + L::kRingOffsetV + stage * L::kStageBytes;
  const int* pages = ring + (k % Tr::kPageRing) * Tr::kGroupsPerBlock;
  const int c = threadIdx.x % L::kPieces;
  const int r0 = threadIdx.x / L::kPieces;
  const int64_t token_stride = static_cast<int64_t>(p.shape.num_heads_kv) * D;  // bytes: one per element
  const int64_t col = static_cast<int64_t>(ti.kv_head) * D + c * 16;
  const char* kc = static_cast<const char*>(p.k_cache) + col;
  const char* vc = static_cast<const char*>(p.v_cache) + col;
  const int block_pos = (ti.block_begin + k) * Tr::kBlockN;
#pragma unroll
  for (int i = 0; i < Tr::kBlockN / kRowsPerPass; ++i) {
    const int row = r0 + i * kRowsPerPass;
    const int pos = block_pos + row;
    const int page = pages[row >> 4];
    const bool ok = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages) && pos < ti.k_len;
    const unsigned slot = static_cast<unsigned>(page) * static_cast<unsigned>(p.shape.page_size) +
                          static_cast<unsigned>(page_offset(p, pos));
    const int64_t off = ok ? static_cast<int64_t>(slot) * token_stride : 0;
    cp_async_16(smem_u32(sk + row * D + c * 16), kc + off, ok);
    cp_async_16(smem_u32(sv + row * D + c * 16), vc + off, ok);
  }
}

// The codes of KV block j (ring stage j % kStages) -> the dequantized K and V tiles (the swizzled
// T layout of stage 0), by the whole CTA.
template <int D, typename T>
__device__ __forceinline__ void dequant_kv_block(const char* smem_ring_k, const char* smem_ring_v, T* sK, T* sV) {
  using Tr = ForwardTraits<D>;
  using L = Fp8KvLayout<D>;
#pragma unroll
  for (int idx = threadIdx.x; idx < Tr::kBlockN * L::kPieces; idx += Tr::kThreads) {
    const int row = idx / L::kPieces, c = idx % L::kPieces;
    uint4 lo, hi;
    dequant_e4m3x16<T>(*reinterpret_cast<const uint4*>(smem_ring_k + row * D + c * 16), lo, hi);
    *reinterpret_cast<uint4*>(sK + swz<D>(row, 2 * c)) = lo;
    *reinterpret_cast<uint4*>(sK + swz<D>(row, 2 * c + 1)) = hi;
    dequant_e4m3x16<T>(*reinterpret_cast<const uint4*>(smem_ring_v + row * D + c * 16), lo, hi);
    *reinterpret_cast<uint4*>(sV + swz<D>(row, 2 * c)) = lo;
    *reinterpret_cast<uint4*>(sV + swz<D>(row, 2 * c + 1)) = hi;
  }
}

// Running softmax state and output accumulator of one warp's 16 rows (two rows per thread:
// lane/4 and lane/4 + 8 of the slice).
template <int D>
struct WarpState {
  float o[D / 8][4];
  float m[2];  // running max, log2 domain; -inf before any visible key
  float l[2];  // running sum, partial over this thread's columns
};

// Scale (or softcap) a warp's scores into the log2 domain: a uniform branch around a whole loop,
// so the code a tile does not need is jumped over and never fetched. At small batch the kernels
// are bound by instruction fetch (ncu: ~60% of stall samples "no instruction"), and the softcap's
// tanhf inlined into every element cost that. Tiles t >= nt_w are not this warp's.
template <int kNT>
__device__ __forceinline__ void scale_scores(const ForwardParams& p, float (&s)[kNT][4], int nt_w) {
  if (p.has_softcap) {
#pragma unroll
    for (int t = 0; t < kNT; ++t)
      if (t < nt_w)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[t][e] = p.softcap_post * tanhf(s[t][e] * p.softcap_pre);
  } else {
#pragma unroll
    for (int t = 0; t < kNT; ++t)
      if (t < nt_w)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[t][e] *= p.scale_log2;
  }
}

// Online softmax over a warp's scores (log2 domain), rows a (e = 0, 1) and b (e = 2, 3) of each
// thread: running max and sum, scores turned into probabilities in place, O rescaled only when
// some row's max moved (after the first blocks it rarely does: skipping a multiply by exactly 1
// changes no bit and saves D/2 multiplies per thread per block).
template <int D, int kNT>
__device__ __forceinline__ void online_softmax(float (&s)[kNT][4], int nt_w, WarpState<D>& st) {
  float alpha[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float mx = -INFINITY;
#pragma unroll
    for (int t = 0; t < kNT; ++t)
      if (t < nt_w) mx = fmaxf(mx, fmaxf(s[t][2 * h], s[t][2 * h + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(st.m[h], mx);
    const float m_use = m_new == -INFINITY ? 0.f : m_new;
    alpha[h] = fast_exp2(st.m[h] - m_use);
    float sum = 0.f;
#pragma unroll
    for (int t = 0; t < kNT; ++t) {
      if (t < nt_w) {
        s[t][2 * h] = fast_exp2(s[t][2 * h] - m_use);
        s[t][2 * h + 1] = fast_exp2(s[t][2 * h + 1] - m_use);
        sum += s[t][2 * h] + s[t][2 * h + 1];
      }
    }
    st.l[h] = st.l[h] * alpha[h] + sum;
    st.m[h] = m_new;
  }
  if (__any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f)) {
#pragma unroll
    for (int d = 0; d < D / 8; ++d) {
      st.o[d][0] *= alpha[0];
      st.o[d][1] *= alpha[0];
      st.o[d][2] *= alpha[1];
      st.o[d][3] *= alpha[1];
    }
  }
}

// O += P V for 16 keys: the C fragments of two adjacent n8 score tiles (s0, s1) form one k16 A
// fragment; the 16 keys are rows vrow_base.. of the swizzled [rows][D] V tile `sv`.
template <int D, typename T>
__device__ __forceinline__ void pv_accumulate(const float (&s0)[4], const float (&s1)[4], const T* sv, int vrow_base,
                                              WarpState<D>& st) {
  const int lane = threadIdx.x & 31;
  uint32_t a[4];
  a[0] = MmaOp<T>::pack(s0[0], s0[1]);
  a[1] = MmaOp<T>::pack(s0[2], s0[3]);
  a[2] = MmaOp<T>::pack(s1[0], s1[1]);
  a[3] = MmaOp<T>::pack(s1[2], s1[3]);
  const int vrow = vrow_base + (lane & 7) + ((lane >> 3) & 1) * 8;
#pragma unroll
  for (int d = 0; d < D / 8; d += 2) {
    uint32_t b0, b1, b2, b3;
    ldmatrix_x4_trans(smem_u32(sv + swz<D>(vrow, d + (lane >> 4))), b0, b1, b2, b3);
    MmaOp<T>::run(st.o[d], a, b0, b1);
    MmaOp<T>::run(st.o[d + 1], a, b2, b3);
  }
}

// kNtW > 0: the n8 tiles per warp are known at compile time (a decode tile, <= 16 rows: all
// warps split the KV block), so every `t < nt_w` below folds away; 0: read them from geo.
// KV: the cache element type (T, or KvFp8: codes staged and dequantized per block, descales in fp32).
template <int D, typename T, typename KV, int kNtW>
__device__ __forceinline__ void run_mainloop(const ForwardParams& p, const TileInfo& ti, const TileGeometry& geo,
                                             char* smem, WarpState<D>& st) {
  using Tr = ForwardTraits<D>;
  constexpr bool kFp8 = KvTraits<KV>::kFp8;
  constexpr int kNT = Tr::kBlockN / 8;
  const int nt_w = kNtW > 0 ? kNtW : geo.nt_w;
  T* sQ = reinterpret_cast<T*>(smem);
  T* sK = reinterpret_cast<T*>(smem + Tr::kKOffset);
  T* sV = reinterpret_cast<T*>(smem + Tr::kVOffset);
  int* ring = reinterpret_cast<int*>(smem + Tr::kPageOffset);
  const int lane = threadIdx.x & 31;

#pragma unroll
  for (int d = 0; d < D / 8; ++d) st.o[d][0] = st.o[d][1] = st.o[d][2] = st.o[d][3] = 0.f;
  st.m[0] = st.m[1] = -INFINITY;
  st.l[0] = st.l[1] = 0.f;
  if (geo.nblocks <= 0) return;

  // Prologue: Q and the page ids of the first kStages blocks, then K/V of blocks 0..kStages-2
  // (each group also brings the page ids kStages blocks further).
  load_q_tile<D, T>(p, ti, sQ);
#pragma unroll
  for (int k = 0; k < Tr::kStages; ++k) issue_page_ids<D>(p, ti, k, ring);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();
  FA3_TRACE_TILE(p, ti, 2);
#pragma unroll 1  // one copy of the gather code (instruction fetch, see the mask below)
  for (int k = 0; k < Tr::kStages - 1; ++k) {
    if constexpr (kFp8)
      issue_kv_block_fp8<D>(p, ti, k, smem, ring);
    else
      issue_kv_block<D, T>(p, ti, k, sK, sV, ring);
    issue_page_ids<D>(p, ti, k + Tr::kStages, ring);
    cp_async_commit();
  }
  const float k_descale = kFp8 ? kv_descale(p.k_descale, ti.kv_head) : 1.f;

  // Q fragments (A operand) of this warp's 16 rows.
  const int q_row = geo.wm * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
  uint32_t qf[Tr::kQInRegs ? D / 16 : 1][4];
  if constexpr (Tr::kQInRegs) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
      ldmatrix_x4(smem_u32(sQ + swz<D>(q_row, 2 * kk + (lane >> 4))), qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3]);
  }

  const int right = p.causal ? 0 : p.window_right;
  const int left = p.window_left;

#pragma unroll 1
  for (int j = 0; j < geo.nblocks; ++j) {
    cp_async_wait<Tr::kStages - 2>();
    __syncthreads();
    if (j == 0) FA3_TRACE_TILE(p, ti, 3);
    const T* sk;
    const T* sv;
    if constexpr (kFp8) {
      issue_kv_block_fp8<D>(p, ti, j + Tr::kStages - 1, smem, ring);
      issue_page_ids<D>(p, ti, j + 2 * Tr::kStages - 1, ring);
      cp_async_commit();
      const int stage = j % Tr::kStages;
      dequant_kv_block<D, T>(smem + Fp8KvLayout<D>::kRingOffsetK + stage * Fp8KvLayout<D>::kStageBytes,
                             smem + Fp8KvLayout<D>::kRingOffsetV + stage * Fp8KvLayout<D>::kStageBytes, sK, sV);
      __syncthreads();  // the dequantized block is complete
      sk = sK;
      sv = sV;
    } else {
      issue_kv_block<D, T>(p, ti, j + Tr::kStages - 1, sK, sV, ring);
      issue_page_ids<D>(p, ti, j + 2 * Tr::kStages - 1, ring);
      cp_async_commit();
      sk = sK + (j % Tr::kStages) * (Tr::kBlockN * D);
      sv = sV + (j % Tr::kStages) * (Tr::kBlockN * D);
    }
    const int* pages = ring + (j % Tr::kPageRing) * Tr::kGroupsPerBlock;
    const int64_t kb0 = static_cast<int64_t>(ti.block_begin + j) * Tr::kBlockN;

    // Which 16-key groups of this block sit on an invalid page (uniform over the CTA).
    unsigned bad_pages = 0;
#pragma unroll
    for (int q = 0; q < Tr::kGroupsPerBlock; ++q) {
      const int page = pages[q];
      if (kb0 + q * 16 < ti.k_len && static_cast<unsigned>(page) >= static_cast<unsigned>(p.num_pages))
        bad_pages |= 1u << q;
    }
    const int64_t kb1 = kb0 + Tr::kBlockN - 1;
    const bool need_mask = kb1 >= ti.k_len || bad_pages != 0 || (right >= 0 && kb1 > geo.diag_tile_lo + right) ||
                           (left >= 0 && kb0 < geo.diag_tile_hi - left);

    // S = Q K^T over this warp's keys of the block.
    float s[kNT][4];
#pragma unroll
    for (int t = 0; t < kNT; ++t) s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.f;
    const int n_base = geo.wn * nt_w * 8;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t a[4];
      q_fragment<D, Tr::kQInRegs>(qf, sQ, q_row, kk, lane, a);
#pragma unroll
      for (int t = 0; t < kNT; t += 2) {
        if (t < nt_w) {
          const int krow = n_base + t * 8 + ((lane >> 4) << 3) + (lane & 7);
          uint32_t b0, b1, b2, b3;
          ldmatrix_x4(smem_u32(sk + swz<D>(krow, 2 * kk + ((lane >> 3) & 1))), b0, b1, b2, b3);
          MmaOp<T>::run(s[t], a, b0, b1);
          MmaOp<T>::run(s[t + 1], a, b2, b3);
        }
      }
    }

    if constexpr (kFp8) {
#pragma unroll
      for (int t = 0; t < kNT; ++t)
        if (t < nt_w)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[t][e] *= k_descale;
    }
    // Scale (or softcap) into the log2 domain, then mask (a uniform branch around a whole loop too).
    scale_scores<kNT>(p, s, nt_w);
    if (need_mask) {
#pragma unroll
      for (int t = 0; t < kNT; ++t) {
        if (t < nt_w) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int col = n_base + t * 8 + (lane & 3) * 2 + (e & 1);
            const int64_t pos = kb0 + col;
            const int64_t diag = e < 2 ? geo.diag_a : geo.diag_b;
            const bool masked = pos >= ti.k_len || ((bad_pages >> (col >> 4)) & 1u) ||
                                (right >= 0 && pos > diag + right) || (left >= 0 && pos < diag - left);
            if (masked) s[t][e] = -INFINITY;
          }
        }
      }
    }

    online_softmax<D, kNT>(s, nt_w, st);

    // O += P V over this warp's keys, 16 at a time.
#pragma unroll
    for (int t = 0; t < kNT; t += 2)
      if (t < nt_w) pv_accumulate<D, T>(s[t], s[t + 1], sv, n_base + t * 8, st);
  }
  cp_async_wait<0>();
  if constexpr (kFp8) {
    const float v_descale = kv_descale(p.v_descale, ti.kv_head);
#pragma unroll
    for (int d = 0; d < D / 8; ++d) st.o[d][0] *= v_descale, st.o[d][1] *= v_descale, st.o[d][2] *= v_descale,
                                    st.o[d][3] *= v_descale;
  }
  __syncthreads();  // every warp is done with the K/V stages: the epilogue may reuse them
  FA3_TRACE_TILE(p, ti, 4);
}

}  // namespace fa3
