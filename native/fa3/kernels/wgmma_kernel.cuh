// The FA3-style prefill kernel (sm_90a): persistent, warp-specialized, on 128-row query tiles.
//
//   warpgroup 0 (producer, setmaxnreg down): fetches and decodes the tiles (warp 0), gathers the
//     tile's packed Q rows and its paged K / V blocks with 16-byte cp.async into 128-byte-swizzled
//     shared-memory tiles (the layout wgmma reads), through a 2-stage mbarrier full / empty
//     pipeline (each producer thread's cp.async completion arrives on the stage's full barrier).
//   warpgroups 1 and 2 (consumers, setmaxnreg up): 64 rows each; S = Q K^T with wgmma from shared
//     memory, mask / softcap / online softmax in registers (the mma.sync fragment layout the
//     general kernel's softmax code already uses), O += P V with wgmma, P from registers and V
//     transposed by the descriptor; then the shared epilogue (direct output, fp32 partials, the
//     fused split merge) on the consumers only (named barrier 1).
//
// Same contract, metadata, partials layout and fused combine as forward_kernel; the tiles are
// tile_shape(kKernelWgmma, ...) (prepare numbers them so when choose_forward_kernel picks this
// kernel). The producer loads the next tile only after the consumers' epilogue (it reuses the
// K / V region), so the two consumer warpgroups overlap each other (one's softmax with the
// other's GEMMs) but not yet the epilogue with the next tile's loads.
// Included only by wgmma_instantiate_*.cu (explicit instantiations).
#pragma once

#include <cuda_runtime.h>

#include "forward_epilogue.h"
#include "forward_mainloop.h"
#include "forward_params.h"
#include "forward_tile_scheduler.h"
#include "launchers.h"
#include "persistent_launch.h"
#include "ptx.h"
#include "wgmma_ptx.h"

namespace fa3 {

template <int D>
struct WgmmaTraits {
  static constexpr int kHeadDim = D;
  static constexpr int kBlockM = tile_shape(kKernelWgmma, D, 1).block_m;
  static constexpr int kBlockN = tile_shape(kKernelWgmma, D, 1).block_n;
  static constexpr int kStages = 2;
  static constexpr int kAtoms = D / 64;  // 64-column (128-byte) swizzle atoms per row
  static constexpr int kProducerThreads = 128;
  static constexpr int kCtaThreads = 384;
  static constexpr int kProducerRegs = 72;
  static constexpr int kConsumerRegs = 216;
  // The epilogue's view (forward_epilogue.h): the 256 consumer threads, 8 warps of 16 rows.
  static constexpr int kThreads = 256;
  static constexpr int kWarps = 8;
  static constexpr int kChunks = D / 8;
  static constexpr int kOStride = D + 8;
  static __device__ __forceinline__ int tid() { return static_cast<int>(threadIdx.x) - kProducerThreads; }
  static __device__ __forceinline__ void sync() { named_barrier_sync(1, kThreads); }
  // Dynamic shared memory (1024-byte aligned: the swizzle atoms): Q, K stages, V stages, page ids,
  // mbarriers. The epilogue reuses Q (merge row table) and the K / V stages (O tile, merge).
  static constexpr int kQBytes = kBlockM * D * 2;
  static constexpr int kKVBytes = kBlockN * D * 2;
  static constexpr int kKOffset = kQBytes;
  static constexpr int kVOffset = kKOffset + kStages * kKVBytes;
  static constexpr int kGroupsPerBlock = kBlockN / 16;
  static constexpr int kPageOffset = kVOffset + kStages * kKVBytes;
  static constexpr int kBarOffset = kPageOffset + kStages * kGroupsPerBlock * 4;
  static constexpr int kBarFull = 0, kBarEmpty = kStages, kBarQ = 2 * kStages, kBarTileFull = kBarQ + 1,
                       kBarTileDone = kBarQ + 2, kNumBars = kBarQ + 3;
  static constexpr int kSmemBytes = kBarOffset + kNumBars * 8 + 1024;  // + alignment slack
  static constexpr int kRegionFloats = 2 * kStages * kKVBytes / 4;
  static_assert(D % 64 == 0 && kBlockM == 128 && kBlockN % 16 == 0, "tile shape of the wgmma kernel");
  static_assert(kBlockM * kOStride * 4 <= 2 * kStages * kKVBytes, "epilogue O tile fits the K/V stages");
  static_assert(kBlockM * kMaxSplitsLimit <= kRegionFloats, "merge LSE table fits the K/V stages");
  static_assert(2 * kBlockM * 4 <= kQBytes, "merge row table fits the Q region");
  static_assert(kProducerRegs * kProducerThreads + kConsumerRegs * kThreads <= 65536, "register file");
};

__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Byte offset of 16-byte chunk c of row r in a [atoms][rows][64] 128-byte-swizzled tile.
template <int kRows>
__device__ __forceinline__ uint32_t swizzled(int r, int c) {
  return static_cast<uint32_t>((c >> 3) * kRows * 128 + r * 128 + (((c & 7) ^ (r & 7)) << 4));
}

// ---------------------------------------------------------------------------------------------
// Producer.

// The tile's packed Q rows (zero past ti.rows) into the swizzled Q tile.
template <int D, typename T>
__device__ __forceinline__ void wgmma_load_q(const ForwardParams& p, const TileInfo& ti, uint32_t sq, int t) {
  using Tr = WgmmaTraits<D>;
  constexpr int kRowsPerPass = Tr::kProducerThreads / Tr::kChunks;
  const T* q = static_cast<const T*>(p.q);
  const int g = qheads_per_kvhead(p.shape);
  const int c = t % Tr::kChunks, r0 = t / Tr::kChunks;
#pragma unroll 4
  for (int r = r0; r < Tr::kBlockM; r += kRowsPerPass) {
    const bool valid = r < ti.rows;
    const int packed = ti.m_block * Tr::kBlockM + r;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    const T* src = valid ? q + (tok * p.shape.num_heads_q + head) * D + c * 8 : q;
    cp_async_16(sq + swizzled<Tr::kBlockM>(r, c), src, valid);
  }
}

// K and V of KV block k of the tile into the swizzled stage tiles, and the block's page ids into
// the stage's page slots (for the consumers' invalid-page mask). A thread owns one 16-byte column
// chunk of rows r0 + 8 i, so each 16-key group (one page) holds two of its rows: one page-table
// load per group. An invalid page or a key past k_len is zero-filled (and masked).
template <int D, typename T>
__device__ __forceinline__ void wgmma_load_kv(const ForwardParams& p, const TileInfo& ti, int k, uint32_t sk,
                                              uint32_t sv, int* pages, int t) {
  using Tr = WgmmaTraits<D>;
  constexpr int kRowsPerPass = Tr::kProducerThreads / Tr::kChunks;  // 8 at D = 128
  static_assert(16 % kRowsPerPass == 0, "a thread's rows tile the 16-key groups");
  constexpr int kRowsPerGroup = 16 / kRowsPerPass;
  const int c = t % Tr::kChunks, r0 = t / Tr::kChunks;
  const int64_t token_stride = static_cast<int64_t>(p.shape.num_heads_kv) * D;
  const int64_t col = static_cast<int64_t>(ti.kv_head) * D + c * 8;
  const T* kc = static_cast<const T*>(p.k_cache) + col;
  const T* vc = static_cast<const T*>(p.v_cache) + col;
  const int block_pos = (ti.block_begin + k) * Tr::kBlockN;
  const int* row_pages = p.page_table + ti.req * p.page_table_stride;
  if (t < Tr::kGroupsPerBlock) {
    const int pos = block_pos + t * 16;
    const bool valid = pos < ti.k_len;
    cp_async_4(smem_u32(pages + t), valid ? row_pages + page_column(p, pos) : p.page_table, valid);
  }
#pragma unroll 2
  for (int q = 0; q < Tr::kGroupsPerBlock; ++q) {
    const int gpos = block_pos + q * 16;
    const int page = gpos < ti.k_len ? __ldg(row_pages + page_column(p, gpos)) : 0;
    const bool page_ok = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages);
    const unsigned slot0 = static_cast<unsigned>(page) * static_cast<unsigned>(p.shape.page_size) +
                           static_cast<unsigned>(page_offset(p, gpos) + r0);
#pragma unroll
    for (int j = 0; j < kRowsPerGroup; ++j) {
      const int row = q * 16 + r0 + j * kRowsPerPass;
      const bool ok = page_ok && gpos + r0 + j * kRowsPerPass < ti.k_len;
      const int64_t off = ok ? static_cast<int64_t>(slot0 + j * kRowsPerPass) * token_stride : 0;
      const uint32_t dst = swizzled<Tr::kBlockN>(row, c);
      cp_async_16(sk + dst, kc + off, ok);
      cp_async_16(sv + dst, vc + off, ok);
    }
  }
}

template <int D, typename T>
__device__ __forceinline__ void wgmma_producer(const ForwardParams& p, char* smem, TileInfo* s_tile, uint32_t bars,
                                               int total_tiles) {
  using Tr = WgmmaTraits<D>;
  setmaxnreg_dec<Tr::kProducerRegs>();
  const int t = threadIdx.x;
  auto bar = [&](int i) { return bars + 8u * i; };
  if (t < 32) decode_tile<Tr, true>(p, total_tiles, static_cast<int>(blockIdx.x), &s_tile[0]);
  uint32_t kv = 0;  // KV blocks this CTA has loaded: stage kv % kStages, phase (kv / kStages) & 1
#pragma unroll 1
  for (int iter = 0;; ++iter) {
    // The consumers are done with tile iter - 1 (its shared memory and its TileInfo slot).
    mbar_wait(bar(Tr::kBarTileDone), (iter & 1) ^ 1);
    named_barrier_sync(2, Tr::kProducerThreads);  // warp 0's decode of this tile is visible
    const TileInfo ti = s_tile[iter & 1];
    if (t == 0) mbar_arrive(bar(Tr::kBarTileFull));
    if (ti.tile == -1) break;
    const int nblocks = ti.block_end - ti.block_begin;
    if (ti.tile >= 0 && nblocks > 0) {
      wgmma_load_q<D, T>(p, ti, smem_u32(smem), t);
      mbar_arrive_cp_async(bar(Tr::kBarQ));
#pragma unroll 1
      for (int j = 0; j < nblocks; ++j, ++kv) {
        const int stage = kv % Tr::kStages;
        mbar_wait(bar(Tr::kBarEmpty + stage), ((kv / Tr::kStages) & 1) ^ 1);
        wgmma_load_kv<D, T>(p, ti, j, smem_u32(smem + Tr::kKOffset + stage * Tr::kKVBytes),
                            smem_u32(smem + Tr::kVOffset + stage * Tr::kKVBytes),
                            reinterpret_cast<int*>(smem + Tr::kPageOffset) + stage * Tr::kGroupsPerBlock, t);
        mbar_arrive_cp_async(bar(Tr::kBarFull + stage));
      }
    }
    // The next tile, fetched and decoded while the consumers finish this one.
    if (t < 32) {
      int next = 0;
      if (t == 0) next = fetch_next_tile(p);
      decode_tile<Tr, false>(p, total_tiles, next, &s_tile[(iter + 1) & 1]);
    }
  }
  cp_async_wait<0>();
  finish_forward(p);  // thread 0, after its last fetch
}

// ---------------------------------------------------------------------------------------------
// Consumers.

// kOverlap: a warpgroup issues block j's Q K^T right behind block j - 1's P V (without waiting for
// it), waits for the P V only then, and frees the stage after it: the tensor cores see the two
// GEMMs back to back (FA3's intra-warpgroup overlap, without its softmax split).
template <int D, typename T, bool kOverlap>
__device__ __forceinline__ void wgmma_consumer(const ForwardParams& p, char* smem, const TileInfo* s_tile,
                                               EpilogueSharedT<WgmmaTraits<D>::kWarps>& es, uint32_t bars,
                                               int64_t lse_stride) {
  using Tr = WgmmaTraits<D>;
  constexpr int kNT = Tr::kBlockN / 8;  // n8 column groups of S per thread
  setmaxnreg_inc<Tr::kConsumerRegs>();
  const int ct = Tr::tid();
  const int wg = ct >> 7;    // consumer warpgroup: rows 64 wg ..
  const int warp = ct >> 5;  // rows 16 warp .. of the tile
  const int lane = ct & 31;
  const int g = qheads_per_kvhead(p.shape);
  auto bar = [&](int i) { return bars + 8u * i; };
  const uint32_t sq = smem_u32(smem) + wg * 64 * 128;
  const int* page_slots = reinterpret_cast<const int*>(smem + Tr::kPageOffset);
  uint32_t kv = 0, q_loads = 0;
#pragma unroll 1
  for (int iter = 0;; ++iter) {
    mbar_wait(bar(Tr::kBarTileFull), iter & 1);
    const TileInfo ti = s_tile[iter & 1];
    if (ti.tile == -1) break;
    if (ti.tile >= 0) {
      WarpState<D> st;
#pragma unroll
      for (int d = 0; d < D / 8; ++d) st.o[d][0] = st.o[d][1] = st.o[d][2] = st.o[d][3] = 0.f;
      st.m[0] = st.m[1] = -INFINITY;
      st.l[0] = st.l[1] = 0.f;
      const int nblocks = ti.block_end - ti.block_begin;
      if (nblocks > 0) {
        const int64_t base = static_cast<int64_t>(ti.k_len) - ti.q_len;
        const int row_a = ti.m_block * Tr::kBlockM + warp * 16 + (lane >> 2);
        const int64_t diag_a = base + row_a / g, diag_b = base + (row_a + 8) / g;
        const int64_t diag_tile_lo = base + (ti.m_block * Tr::kBlockM) / g;
        const int64_t diag_tile_hi = base + (ti.m_block * Tr::kBlockM + ti.rows - 1) / g;
        const int right = p.causal ? 0 : p.window_right;
        const int left = p.window_left;
        mbar_wait(bar(Tr::kBarQ), q_loads & 1);
        ++q_loads;
        // P fragments live across blocks: an asynchronous P V reads them until its wait.
        uint32_t pa[kNT / 2][4];
        int prev_stage = 0;
#pragma unroll 1
        for (int j = 0; j < nblocks; ++j, ++kv) {
          const int stage = kv % Tr::kStages;
          mbar_wait(bar(Tr::kBarFull + stage), (kv / Tr::kStages) & 1);
          fence_proxy_async_shared();  // cp.async (generic proxy) writes -> wgmma (async proxy) reads
          const uint32_t sk = smem_u32(smem + Tr::kKOffset + stage * Tr::kKVBytes);
          const uint32_t sv = smem_u32(smem + Tr::kVOffset + stage * Tr::kKVBytes);

          // S = Q K^T (64 rows of this warpgroup x kBlockN keys).
          float s[kNT][4];
          wgmma_fence();
#pragma unroll
          for (int a = 0; a < Tr::kAtoms; ++a)
#pragma unroll
            for (int kk = 0; kk < 4; ++kk)
              WgmmaSS<T, Tr::kBlockN>::run(s, smem_desc(sq + a * Tr::kBlockM * 128 + kk * 32, 16, 1024),
                                           smem_desc(sk + a * Tr::kBlockN * 128 + kk * 32, 16, 1024),
                                           (a | kk) != 0);
          wgmma_commit();
          if constexpr (kOverlap) {
            if (j > 0) {  // block j - 1's P V (committed before this Q K^T) is done: free its stage
              wgmma_wait<1>();
              fence_fragments(pa);
              fence_accumulators(st.o);
              mbar_arrive(bar(Tr::kBarEmpty + prev_stage));
            }
          }
          wgmma_wait<0>();
          fence_accumulators(s);

          // Which 16-key groups sit on an invalid page (uniform over the CTA).
          const int* pages = page_slots + stage * Tr::kGroupsPerBlock;
          const int64_t kb0 = static_cast<int64_t>(ti.block_begin + j) * Tr::kBlockN;
          unsigned bad_pages = 0;
#pragma unroll
          for (int q = 0; q < Tr::kGroupsPerBlock; ++q)
            if (kb0 + q * 16 < ti.k_len && static_cast<unsigned>(pages[q]) >= static_cast<unsigned>(p.num_pages))
              bad_pages |= 1u << q;
          const int64_t kb1 = kb0 + Tr::kBlockN - 1;
          const bool need_mask = kb1 >= ti.k_len || bad_pages != 0 ||
                                 (right >= 0 && kb1 > diag_tile_lo + right) ||
                                 (left >= 0 && kb0 < diag_tile_hi - left);
          scale_scores<kNT>(p, s, kNT);
          if (need_mask) {
#pragma unroll
            for (int tt = 0; tt < kNT; ++tt)
#pragma unroll
              for (int e = 0; e < 4; ++e) {
                const int colk = tt * 8 + (lane & 3) * 2 + (e & 1);
                const int64_t pos = kb0 + colk;
                const int64_t diag = e < 2 ? diag_a : diag_b;
                const bool masked = pos >= ti.k_len || ((bad_pages >> (colk >> 4)) & 1u) ||
                                    (right >= 0 && pos > diag + right) || (left >= 0 && pos < diag - left);
                if (masked) s[tt][e] = -INFINITY;
              }
          }
          online_softmax<D, kNT>(s, kNT, st);

          // O += P V: P (this thread's probabilities) as the A fragments, 16 keys per step.
#pragma unroll
          for (int kk = 0; kk < kNT / 2; ++kk) {
            pa[kk][0] = MmaOp<T>::pack(s[2 * kk][0], s[2 * kk][1]);
            pa[kk][1] = MmaOp<T>::pack(s[2 * kk][2], s[2 * kk][3]);
            pa[kk][2] = MmaOp<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pa[kk][3] = MmaOp<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
          }
          wgmma_fence();
          fence_accumulators(st.o);
#pragma unroll
          for (int kk = 0; kk < kNT / 2; ++kk)
            WgmmaRS<T, D>::run(st.o, pa[kk], smem_desc(sv + kk * 16 * 128, Tr::kBlockN * 128, 1024), 1);
          wgmma_commit();
          if constexpr (kOverlap) {
            prev_stage = stage;  // waited for behind the next block's Q K^T
          } else {
            wgmma_wait<0>();
            fence_accumulators(st.o);
            mbar_arrive(bar(Tr::kBarEmpty + stage));
          }
        }
        if constexpr (kOverlap) {
          wgmma_wait<0>();
          fence_fragments(pa);
          fence_accumulators(st.o);
          mbar_arrive(bar(Tr::kBarEmpty + prev_stage));
        }
      }
      TileGeometry geo;  // what the epilogue reads: 8 warps of 16 rows, none splitting the keys
      geo.warps_m = Tr::kWarps;
      geo.warps_n = 1;
      geo.wm = warp;
      geo.wn = 0;
      store_tile_rows<Tr, T>(p, ti, geo, reinterpret_cast<float*>(smem + Tr::kKOffset), es, st, lse_stride, 0,
                             ti.rows);
      if (ti.splits > 1 && arrive_at_group<Tr>(p, ti, &es.last))
        merge_group<Tr, T, Tr::kRegionFloats>(p, ti, reinterpret_cast<int*>(smem),
                                              reinterpret_cast<float*>(smem + Tr::kKOffset), lse_stride);
    }
    mbar_arrive(bar(Tr::kBarTileDone));  // this thread is done with the tile's shared memory
  }
}

template <int D, typename T, bool kOverlap>
__global__ void __launch_bounds__(WgmmaTraits<D>::kCtaThreads, 1)
    wgmma_kernel(const __grid_constant__ ForwardParams p) {
  using Tr = WgmmaTraits<D>;
  extern __shared__ __align__(1024) char smem_raw[];
  __shared__ TileInfo s_tile[2];
  __shared__ EpilogueSharedT<Tr::kWarps> s_epi;
  char* smem = smem_raw + ((1024u - (smem_u32(smem_raw) & 1023u)) & 1023u);
  const uint32_t bars = smem_u32(smem + Tr::kBarOffset);
  if (threadIdx.x == 0) {
    for (int s = 0; s < Tr::kStages; ++s) {
      mbar_init(bars + 8u * (Tr::kBarFull + s), Tr::kProducerThreads);
      mbar_init(bars + 8u * (Tr::kBarEmpty + s), Tr::kThreads);
    }
    mbar_init(bars + 8u * Tr::kBarQ, Tr::kProducerThreads);
    mbar_init(bars + 8u * Tr::kBarTileFull, 1);
    mbar_init(bars + 8u * Tr::kBarTileDone, Tr::kThreads);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  // Programmatic dependent launch, as in forward_kernel: nothing global is read before this.
  pdl_wait();
  pdl_launch_dependents();
  __syncthreads();
  if (threadIdx.x < Tr::kProducerThreads) {
    const int total_tiles = p.num_reqs > 0 ? min(__ldg(p.tile_offsets + p.num_reqs), p.max_total_tiles) : 0;
    wgmma_producer<D, T>(p, smem, s_tile, bars, total_tiles);
  } else {
    const int64_t lse_stride =
        p.num_reqs > 0 ? clamp_int(__ldg(p.cu_seqlens_q + p.num_reqs), 0, p.shape.max_num_tokens) : 0;
    wgmma_consumer<D, T, kOverlap>(p, smem, s_tile, s_epi, bars, lse_stride);
  }
}

template <int D, typename T>
cudaError_t launch_wgmma(const ForwardParams& p, int sm_count, cudaStream_t stream) {
  using Tr = WgmmaTraits<D>;
  if (wgmma_overlap_enabled())
    return launch_persistent<wgmma_kernel<D, T, true>, Tr::kCtaThreads, Tr::kSmemBytes>(p, sm_count, stream);
  return launch_persistent<wgmma_kernel<D, T, false>, Tr::kCtaThreads, Tr::kSmemBytes>(p, sm_count, stream);
}

}  // namespace fa3
