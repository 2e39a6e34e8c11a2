// The FA3-style prefill kernel (sm_90a): persistent, warp-specialized, on 128-row query tiles.
//
//   warpgroup 0 (producer, setmaxnreg down): fetches and decodes the tiles (warp 0), gathers the
//     tile's packed Q rows and its paged K / V blocks with 16-byte cp.async into 128-byte-swizzled
//     shared-memory tiles (the layout wgmma reads), or loads K / V by TMA in that layout where the
//     page size allows (wgmma_load_block: per block, or per page of a block). K and V have rings
//     of their own (full / empty mbarriers per stage; each producer thread's cp.async completion
//     arrives on the stage's full barrier, TMA bytes complete its transaction count), loaded K_0,
//     K_1, V_0, K_2, V_1, ...: K runs a block ahead of V, as the overlapped consumers read them.
//   warpgroups 1 and 2 (consumers, setmaxnreg up): 64 rows each; S = Q K^T with wgmma from shared
//     memory, mask / softcap / online softmax in registers (the mma.sync fragment layout the
//     general kernel's softmax code already uses), O += P V with wgmma, P from registers and V
//     transposed by the descriptor; then the epilogue: output (or fp32 partials) stored from
//     registers, and the shared fused split merge (named barrier 1, the consumers only).
//
// Two consumer main loops (FLASHGRAPH_FA3_WGMMA_OVERLAP picks, overlapped unless 0; launch_wgmma):
//   plain (0): per block S = Q K^T, wait, softmax, O += P V, wait. The two warpgroups overlap each
//     other only as the warp schedulers happen to interleave them.
//   overlapped (1, FA3's order): Q K_{j+1}^T is issued, then P_j V_j, and the softmax of block
//     j + 1 runs while P_j V_j is on the tensor cores (intra-warpgroup overlap; O's rescale by the
//     new max is deferred to just before the next P V); and the two warpgroups take turns at
//     issuing their GEMMs (ping-pong through named barriers 3 and 4), so one's softmax overlaps
//     the other's GEMMs.
//
// The next tile's loads overlap this one's epilogue: the consumers arrive on QFree once their last
// Q K^T has landed, the producer then loads the next Q (by TMA where the GQA group divides the
// tile; prefetched into L2 when the producer decoded that tile, a tile ahead), and the K / V
// stages come back through the rings; the epilogue touches no shared memory of theirs. Only a tile
// that may run the fused merge (splits > 1; the merge stages in Q and the K / V stages) makes the
// producer wait for its done arrival first.
//
// Same contract, metadata, partials layout and fused combine as forward_kernel; the tiles are
// tile_shape(kKernelWgmma, ...) (prepare numbers them so when choose_forward_kernel picks this
// kernel).
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
#include "wgmma_tma.h"

namespace fa3 {

// The kernel's variants (launch_wgmma picks one from the switches, launchers.h):
//   plain: the plain main loop (FLASHGRAPH_FA3_WGMMA_OVERLAP=0);
//   overlap: the overlapped main loop (FLASHGRAPH_FA3_WGMMA_LEAN=0);
//   lean (the default since run V, H100: 1.01-1.08x cuDNN at B 1 causal 4k / 16k): the overlapped loop
//     with less work off the tensor cores: a TMA-only block is waited for and issued by producer
//     warp 0 alone (the other producer warps skip it; they join, at the producer barrier rather
//     than spinning, only for blocks with gathered groups), producer waits sleep on the barrier
//     (suspend-time hint), each stage carries one word (its invalid-page mask and whether any
//     cp.async wrote it) instead of the page ids every consumer warp re-read and compared, the
//     proxy fence runs only after a stage with gathered rows, and the softmax scale is folded into
//     the exp2's argument (one FFMA per score, as FA3) instead of multiplying every score first;
//   lean-deep (D = 128 unless FLASHGRAPH_FA3_WGMMA_STAGES=2): lean with three K / V stages
//     instead of two, so V_j is not queued behind K_{j+1}'s wait for its stage.
enum WgmmaVariant : int { kWgmmaPlain = 0, kWgmmaOverlap = 1, kWgmmaLean = 2, kWgmmaLeanDeep = 3 };

// Stages of each of the K and V rings. D = 64 has room for 4 (and the fused merge's LSE table of
// 128 rows x 256 splits needs the K / V region to be 128 KiB); D = 128 has room for 3 (lean-deep).
__host__ __device__ constexpr int wgmma_stages(int d, int variant) {
  return d == 64 ? 4 : (variant == kWgmmaLeanDeep && d == 128 ? 3 : 2);
}

template <int D, int kStagesOfRing = wgmma_stages(D, kWgmmaOverlap)>
struct WgmmaTraits {
  static constexpr int kHeadDim = D;
  static constexpr int kBlockM = tile_shape(kKernelWgmma, D, 1).block_m;
  static constexpr int kBlockN = tile_shape(kKernelWgmma, D, 1).block_n;
  static constexpr int kStages = kStagesOfRing;
  static constexpr int kAtoms = D / 64;  // 64-column (128-byte) swizzle atoms per row
  static constexpr int kProducerThreads = 128;
  static constexpr int kCtaThreads = 384;
  static constexpr int kProducerRegs = 72;
  static constexpr int kConsumerRegs = 216;
  // The epilogue's view (forward_epilogue.h): the 256 consumer threads, 8 warps of 16 rows.
  static constexpr int kThreads = 256;
  static constexpr int kWarps = 8;
  static constexpr int kChunks = D / 8;
  static __device__ __forceinline__ int tid() { return static_cast<int>(threadIdx.x) - kProducerThreads; }
  static __device__ __forceinline__ void sync() { named_barrier_sync(kBarEpilogue, kThreads); }
  // Named barriers: 0 __syncthreads, the epilogue's, the producer's, and the two consumer
  // warpgroups' turns (overlapped main loop).
  static constexpr int kBarEpilogue = 1, kBarProducer = 2, kBarTurn0 = 3;
  // Dynamic shared memory (1024-byte aligned: the swizzle atoms): Q, K stages, V stages, page ids
  // (per K stage; the lean variants keep one word per K and per V stage there instead, kWord*),
  // mbarriers. The epilogue stores from registers; only the fused merge reuses Q (its row table)
  // and the K / V stages (its staging).
  static constexpr int kQBytes = kBlockM * D * 2;
  static constexpr int kKVBytes = kBlockN * D * 2;  // one block of K (or of V)
  static constexpr int kKOffset = kQBytes;
  static constexpr int kVOffset = kKOffset + kStages * kKVBytes;
  static constexpr int kGroupsPerBlock = kBlockN / 16;
  static constexpr int kPageOffset = kVOffset + kStages * kKVBytes;
  static constexpr int kBarOffset = kPageOffset + kStages * kGroupsPerBlock * 4;
  // A lean stage's word: bit q = 16-key group q is on an invalid page-table entry (masked), and
  // kWordGathered = some group of it came by cp.async (the consumers' proxy fence is needed).
  static constexpr uint32_t kWordGathered = 1u << 31;
  static constexpr int kWordK = 0, kWordV = kStages;  // word index of K / V stage 0
  static constexpr int kBarFullK = 0, kBarFullV = kStages, kBarEmptyK = 2 * kStages, kBarEmptyV = 3 * kStages,
                       kBarQ = 4 * kStages, kBarQFree = kBarQ + 1, kBarTileFull = kBarQ + 2,
                       kBarTileDone = kBarQ + 3, kNumBars = kBarQ + 4;
  // TileInfo slots: the producer decodes tile i + 1 while the consumers may still be in tile i - 1's
  // epilogue and about to start tile i.
  static constexpr int kTileSlots = 3;
  static constexpr int kSmemBytes = kBarOffset + kNumBars * 8 + 1024;  // + alignment slack
  // Static shared memory (ptxas -v: 1,024 B, TileInfo slots and the merge flag); a kernel whose
  // total exceeds 227 KiB fails its launch with an error (cudaFuncSetAttribute), never silently.
  static constexpr int kStaticSmemBytes = 1024;
  static constexpr int kRegionFloats = 2 * kStages * kKVBytes / 4;
  static_assert(D % 64 == 0 && kBlockM == 128 && kBlockN % 16 == 0 && kBlockN <= 128, "tile shape of the wgmma kernel");
  static_assert(kBlockM * kMaxSplitsLimit <= kRegionFloats, "merge LSE table fits the K/V stages");
  static_assert(2 * kBlockM * 4 <= kQBytes, "merge row table fits the Q region");
  static_assert(2 * kStages <= kStages * kGroupsPerBlock, "lean stage words fit the page-id slots");
  static_assert(kGroupsPerBlock <= 31, "a stage word's group bits stay below kWordGathered");
  static_assert(kSmemBytes + kStaticSmemBytes <= 227 * 1024, "shared memory of one CTA (+ static) fits an SM");
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

// Ring position of the n-th block a CTA loads into a ring of kStages: its stage and the parity of
// the phase its full barrier completes (the producer waits on empty with the opposite parity).
template <int kStages>
struct RingSlot {
  int stage;
  uint32_t phase;
};
template <int kStages>
__device__ __forceinline__ RingSlot<kStages> ring_slot(uint32_t n) {
  return {static_cast<int>(n % kStages), (n / kStages) & 1u};
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
  // Hidden from the compiler, so the per-thread swizzled addresses of this once-a-tile load are
  // formed here rather than hoisted out of the tile loop into registers the producer's 72 lack
  // (the lean variant spilled them).
  asm volatile("" : "+r"(t));
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

// The tile's Q rows into L2, one bulk prefetch per query token (a token's g heads of one KV head
// are contiguous), issued by one warp when the tile is decoded: the producer's Q load after the
// consumers' QFree arrival then reads L2, not DRAM, while they finish the tile before (profile of
// run X: consumers waited ~8% of their time for Q at causal B = 8, L = 4k).
template <int D, typename T>
__device__ __forceinline__ void prefetch_q_l2(const ForwardParams& p, const TileInfo& ti, int lane) {
  if (ti.tile < 0 || ti.block_end <= ti.block_begin) return;
  const int g = qheads_per_kvhead(p.shape);
  const int first = ti.m_block * WgmmaTraits<D>::kBlockM / g;
  const int last = (ti.m_block * WgmmaTraits<D>::kBlockM + ti.rows - 1) / g;
  const T* q = static_cast<const T*>(p.q);
  for (int i = first + lane; i <= last; i += 32)
    bulk_prefetch_l2(q + ((ti.q_start + static_cast<int64_t>(i)) * p.shape.num_heads_q + ti.kv_head * g) * D,
                     static_cast<uint32_t>(g * D * sizeof(T)));
}

// The page ids of KV block k of the tile into a K stage's page slots (for the consumers'
// invalid-page mask); 0 past k_len.
template <int D>
__device__ __forceinline__ void wgmma_load_pages(const ForwardParams& p, const TileInfo& ti, int k, int* pages,
                                                 int t) {
  using Tr = WgmmaTraits<D>;
  if (t < Tr::kGroupsPerBlock) {
    const int pos = (ti.block_begin + k) * Tr::kBlockN + t * 16;
    const bool valid = pos < ti.k_len;
    const int* row_pages = p.page_table + ti.req * p.page_table_stride;
    cp_async_4(smem_u32(pages + t), valid ? row_pages + page_column(p, pos) : p.page_table, valid);
  }
}

// One 16-key group of KV block rows [group_row, group_row + 16) of a stage tile, keys from gpos,
// from one cache (K or V) by the cp.async gather; `page` is the group's page-table entry (0 past
// k_len). A thread owns one 16-byte column chunk of rows r0 + 8 i (D = 128), so a group (inside
// one page) holds whole rows of it. An invalid page or a key past k_len is zero-filled (and
// masked): the entry is never dereferenced.
template <int D, typename T>
__device__ __forceinline__ void wgmma_gather_group(const ForwardParams& p, const TileInfo& ti, const void* cache,
                                                   int gpos, int group_row, int page, uint32_t dst_tile, int t) {
  using Tr = WgmmaTraits<D>;
  constexpr int kRowsPerPass = Tr::kProducerThreads / Tr::kChunks;  // 16, 8, 4 at D = 64, 128, 256
  static_assert(16 % kRowsPerPass == 0, "a thread's rows tile the 16-key groups");
  constexpr int kRowsPerGroup = 16 / kRowsPerPass;
  const int c = t % Tr::kChunks, r0 = t / Tr::kChunks;
  const int64_t token_stride = static_cast<int64_t>(p.shape.num_heads_kv) * D;
  const T* src = static_cast<const T*>(cache) + static_cast<int64_t>(ti.kv_head) * D + c * 8;
  const bool page_ok = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages);
  const unsigned slot0 = static_cast<unsigned>(page) * static_cast<unsigned>(p.shape.page_size) +
                         static_cast<unsigned>(page_offset(p, gpos) + r0);
#pragma unroll
  for (int j = 0; j < kRowsPerGroup; ++j) {
    const int row = group_row + r0 + j * kRowsPerPass;
    const bool ok = page_ok && gpos + r0 + j * kRowsPerPass < ti.k_len;
    const int64_t off = ok ? static_cast<int64_t>(slot0 + j * kRowsPerPass) * token_stride : 0;
    cp_async_16(dst_tile + swizzled<Tr::kBlockN>(row, c), src + off, ok);
  }
}

// KV block k of the tile from one cache into a swizzled stage tile by the cp.async gather, but
// for the 16-key groups set in `skip` (TMA loads them): one page-table load per group.
template <int D, typename T>
__device__ __forceinline__ void wgmma_load_rows(const ForwardParams& p, const TileInfo& ti, int k, const void* cache,
                                                uint32_t dst_tile, int t, unsigned skip) {
  using Tr = WgmmaTraits<D>;
  const int block_pos = (ti.block_begin + k) * Tr::kBlockN;
  const int* row_pages = p.page_table + ti.req * p.page_table_stride;
#pragma unroll 1
  for (int q = 0; q < Tr::kGroupsPerBlock; ++q) {
    if ((skip >> q) & 1u) continue;
    const int gpos = block_pos + q * 16;
    const int page = gpos < ti.k_len ? __ldg(row_pages + page_column(p, gpos)) : 0;
    wgmma_gather_group<D, T>(p, ti, cache, gpos, q * 16, page, dst_tile, t);
  }
}

// KV block k of the tile from one cache into a stage tile whose full barrier is full_bar, by TMA
// where it can (`map`: make_tma_maps made one for this page size), else by the cp.async gather.
// The block is cut into units of min(page size, kBlockN) keys, one page's share of it (the map's
// box rows): the whole block when a page holds whole blocks, else each of its kBlockN / page-size
// pages. A unit on a valid page whose keys are all < k_len is one box per 64-column swizzle atom,
// landing at its rows of the tile (unit x 128 bytes apart: a multiple of 1 KiB, so the 128-byte
// swizzle of the box is the full tile's); warp 0 issues them, the lane of the unit's first
// 16-key group its boxes, after lane 0's one expect-tx of their bytes (the whole block's,
// kKVBytes, when every unit qualifies). Any other unit (the tail at k_len, an invalid page-table
// entry) is gathered with cp.async, which zero-fills it and never dereferences the entry: TMA
// copies whatever a page holds, so it takes only whole valid pages. Lane q of each producer warp
// reads group q's entry (its unit's page) and a ballot makes the split uniform: one load and a
// few registers a thread (the producer runs on 72).
template <int D, typename T>
__device__ __forceinline__ void wgmma_load_block(const ForwardParams& p, const TileInfo& ti, int k, const void* cache,
                                                 const CUtensorMap* map, uint32_t dst_tile, uint32_t full_bar, int t) {
  using Tr = WgmmaTraits<D>;
  unsigned by_tma = 0;  // bit q: 16-key group q is loaded by TMA
  if (map != nullptr) {
    const int unit = min(p.shape.page_size, Tr::kBlockN);  // a power of two (see make_tma_maps)
    const int lane = t & 31;
    const int block_pos = (ti.block_begin + k) * Tr::kBlockN;
    const int gpos = block_pos + lane * 16;                     // lane q's group (q < kGroupsPerBlock)
    const int upos = block_pos + ((lane * 16) & ~(unit - 1));  // and the first key of its unit
    const bool in_block = lane < Tr::kGroupsPerBlock;
    const int page =
        in_block && upos + unit <= ti.k_len ? __ldg(p.page_table + ti.req * p.page_table_stride + page_column(p, gpos)) : -1;
    const bool tma = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages);
    by_tma = __ballot_sync(0xffffffffu, tma);
    if (t < 32 && by_tma != 0) {
      if (lane == 0) mbar_expect_tx(full_bar, static_cast<uint32_t>(__popc(by_tma)) * 16u * D * sizeof(T));
      __syncwarp();
      if (tma && gpos == upos) {
        const int slot = page_offset(p, upos);
#pragma unroll
        for (int a = 0; a < Tr::kAtoms; ++a)
          tma_load_4d(dst_tile + (a * Tr::kBlockN + lane * 16) * 128, map, full_bar, a * 64, slot, ti.kv_head, page);
      }
    }
  }
  if (by_tma != (1u << Tr::kGroupsPerBlock) - 1u) wgmma_load_rows<D, T>(p, ti, k, cache, dst_tile, t, by_tma);
}

// The lean variants' load of KV block k into a ring stage (its tile, full / empty barriers, the
// empty phase to wait for, its word): every producer warp reads the block's page-table entries
// (lane q: group q's, as wgmma_load_block) and ballots the same split, so all four take the same
// path without talking.
//   Every group by TMA: warp 0 alone waits for the stage (sleeping on the barrier), lane 0
//     writes the word (0) and makes the full barrier's one expected arrival with the block's bytes,
//     and the units' lanes issue their boxes. Warps 1-3 return at once: they never wait on a
//     barrier for such a block (they may run ahead through the tile's TMA blocks; the producer
//     barrier stops them at the next gathered block or tile).
//   Some group gathered (the tail at k_len, an invalid entry, a page size without TMA): warp 0
//     waits for the stage and the others wait for warp 0 at the producer barrier (no spinning;
//     and none of them can pass a stage's empty barrier on an older phase of the same parity,
//     however far ahead it ran), warp 0 issues the TMA units, every thread gathers the others and
//     waits for its own copies (cp.async.wait_all), and after a second producer
//     barrier (every thread's copies have landed) thread 0 writes the word (the bad-page mask and
//     kWordGathered) and makes the expected arrival: the phase completes when the copies and the
//     TMA bytes have landed.
// The full barriers of the lean variants so expect one arrival a phase (thread 0's, a release: the
// word is visible to the consumers that see the phase complete).
template <int D, typename T, typename Tr>
__device__ __forceinline__ void wgmma_load_block_lean(const ForwardParams& p, const TileInfo& ti, int k,
                                                      const void* cache, const CUtensorMap* map, uint32_t dst_tile,
                                                      uint32_t full_bar, uint32_t empty_bar, uint32_t empty_parity,
                                                      uint32_t* word, int t) {
  const int lane = t & 31;
  const int unit = min(p.shape.page_size, Tr::kBlockN);
  const int block_pos = (ti.block_begin + k) * Tr::kBlockN;
  const int gpos = block_pos + lane * 16;
  const int upos = block_pos + ((lane * 16) & ~(unit - 1));
  const bool in_block = lane < Tr::kGroupsPerBlock && gpos < ti.k_len;
  const int page = in_block ? __ldg(p.page_table + ti.req * p.page_table_stride + page_column(p, gpos)) : -1;
  const bool valid = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages);
  const bool tma = map != nullptr && valid && upos + unit <= ti.k_len;
  const unsigned by_tma = __ballot_sync(0xffffffffu, tma);
  const unsigned bad = __ballot_sync(0xffffffffu, in_block && !valid);
  auto issue_boxes = [&] {
    if (tma && gpos == upos) {
      const int slot = page_offset(p, upos);
#pragma unroll
      for (int a = 0; a < Tr::kAtoms; ++a)
        tma_load_4d(dst_tile + (a * Tr::kBlockN + lane * 16) * 128, map, full_bar, a * 64, slot, ti.kv_head, page);
    }
  };
  if (by_tma == (1u << Tr::kGroupsPerBlock) - 1u) {
    if (t >= 32) return;
    mbar_wait_sleep(empty_bar, empty_parity);
    if (lane == 0) {
      *word = 0u;
      mbar_arrive_expect_tx(full_bar, static_cast<uint32_t>(Tr::kKVBytes));
    }
    __syncwarp();
    issue_boxes();
    return;
  }
  if (t < 32) mbar_wait_sleep(empty_bar, empty_parity);
  named_barrier_sync(Tr::kBarProducer, Tr::kProducerThreads);
  if (t < 32 && by_tma != 0) {
    if (lane == 0) mbar_expect_tx(full_bar, static_cast<uint32_t>(__popc(by_tma)) * 16u * D * sizeof(T));
    __syncwarp();
    issue_boxes();
  }
  wgmma_load_rows<D, T>(p, ti, k, cache, dst_tile, t, by_tma);
  // Each thread waits for its own copies, then the producer barrier orders them before thread 0's
  // release arrival. (Registering them on the full barrier instead, cp.async.mbarrier.arrive
  // without .noinc on a barrier expecting one arrival, was reported by synccheck as a barrier
  // overflow on an H100, run V.) Only gathered blocks (tails, invalid pages, page sizes TMA cannot
  // take) pay the wait.
  cp_async_wait_all();
  named_barrier_sync(Tr::kBarProducer, Tr::kProducerThreads);
  if (t == 0) {
    *word = bad | Tr::kWordGathered;
    mbar_arrive(full_bar);
  }
}

template <int D, typename T, int kVariant>
__device__ __forceinline__ void wgmma_producer(const ForwardParams& p, const WgmmaTmaMaps& maps, char* smem,
                                               TileInfo* s_tile, uint32_t bars, int total_tiles) {
  using Tr = WgmmaTraits<D, wgmma_stages(D, kVariant)>;
  constexpr bool kLean = kVariant >= kWgmmaLean;
  setmaxnreg_dec<Tr::kProducerRegs>();
  const int t = threadIdx.x;
  auto bar = [&](int i) { return bars + 8u * i; };
  if (t < 32) decode_tile<Tr, true>(p, total_tiles, static_cast<int>(blockIdx.x), &s_tile[0]);
  uint32_t nk = 0, nv = 0;  // K / V blocks this CTA has loaded (ring_slot)
  bool prev_merges = false;  // tile iter - 1 may run the fused merge, in Q and the K / V stages
#pragma unroll 1
  for (int iter = 0;; ++iter) {
    // Lean: warp 0 alone waits (sleeping), the other warps wait for it at the producer barrier.
    if (iter > 0 && (!kLean || t < 32)) {
      // The consumers' last Q K^T of tile iter - 1 has landed: Q may be refilled while they run
      // its epilogue, and the K / V stages come back through the rings. A tile that may merge
      // needs its shared memory until its done arrival. (Their next arrivals need TileFull of
      // this tile, posted below: neither barrier can be a phase ahead of these waits.)
      if constexpr (kLean)
        mbar_wait_sleep(bar(Tr::kBarQFree), (iter - 1) & 1);
      else
        mbar_wait(bar(Tr::kBarQFree), (iter - 1) & 1);
      if (prev_merges) {
        mbar_wait(bar(Tr::kBarTileDone), (iter - 1) & 1);
        fence_proxy_async_shared();  // the merge's generic accesses before the next TMA writes
      }
    }
    // The decoding warp's slot of this tile is visible (and, lean, warp 0's waits above are passed
    // on).
    named_barrier_sync(Tr::kBarProducer, Tr::kProducerThreads);
    // Read from shared memory where used (a register copy would not fit the producer's 72): the
    // decoding warp next writes this slot during tile iter + 2, past two more of these barriers.
    const TileInfo& ti = s_tile[iter % Tr::kTileSlots];
    if (t == 0) mbar_arrive(bar(Tr::kBarTileFull));
    if (ti.tile == -1) break;
    // The next tile, fetched and decoded by one warp (its lane 0 fetches), its Q rows prefetched
    // into L2. Its slot last held tile iter - 2, whose consumers were done with it before their
    // QFree arrivals of tile iter - 1, which the wait above saw complete.
    auto decode_next = [&] {
      int next = 0;
      if ((t & 31) == 0) next = fetch_next_tile(p);
      TileInfo* slot = &s_tile[(iter + 1) % Tr::kTileSlots];
      decode_tile<Tr, false>(p, total_tiles, next, slot);
      __syncwarp();
      prefetch_q_l2<D, T>(p, *slot, t & 31);
    };
    const int nblocks = ti.block_end - ti.block_begin;
    if (ti.tile >= 0 && nblocks > 0) {
      if (maps.q_enabled) {
        // One box per 64-column atom, issued by thread 0 with the bytes it expects; every other
        // producer thread arrives as the cp.async path's do (the barrier counts 128).
        if (t == 0) {
          const int g = qheads_per_kvhead(p.shape);
          mbar_arrive_expect_tx(bar(Tr::kBarQ), Tr::kQBytes);
#pragma unroll
          for (int a = 0; a < D / 64; ++a)
            tma_load_3d(smem_u32(smem) + a * Tr::kBlockM * 128, &maps.q, bar(Tr::kBarQ), a * 64, ti.kv_head * g,
                        ti.q_start + ti.m_block * Tr::kBlockM / g);
        } else {
          mbar_arrive(bar(Tr::kBarQ));
        }
      } else {
        wgmma_load_q<D, T>(p, ti, smem_u32(smem), t);
        mbar_arrive_cp_async(bar(Tr::kBarQ));
      }
    }
    // Lean: warp 1 (which TMA-only blocks leave idle) decodes now, a whole tile ahead, off warp 0's
    // chain of stage waits and TMA issues; short tiles were bound by that chain (profile of run Y:
    // consumers waited ~7% of their time for Q at causal B = 8, L = 4k).
    if (kLean && t >= 32 && t < 64) decode_next();
    if (ti.tile >= 0 && nblocks > 0) {
      const CUtensorMap* k_map = maps.enabled ? &maps.k : nullptr;
      const CUtensorMap* v_map = maps.enabled ? &maps.v : nullptr;
      uint32_t* words = reinterpret_cast<uint32_t*>(smem + Tr::kPageOffset);
      // Lean: block j of one cache (K or V) into its ring slot r, barriers and word from the ring's bases.
      auto load_lean = [&](int j, RingSlot<Tr::kStages> r, const void* cache, const CUtensorMap* map, int offset,
                           int full, int empty, int word) {
        wgmma_load_block_lean<D, T, Tr>(p, ti, j, cache, map, smem_u32(smem + offset + r.stage * Tr::kKVBytes),
                                        bar(full + r.stage), bar(empty + r.stage), r.phase ^ 1,
                                        words + word + r.stage, t);
      };
      auto load_k = [&](int j) {
        const RingSlot<Tr::kStages> r = ring_slot<Tr::kStages>(nk++);
        if constexpr (kLean) {
          load_lean(j, r, p.k_cache, k_map, Tr::kKOffset, Tr::kBarFullK, Tr::kBarEmptyK, Tr::kWordK);
          return;
        }
        mbar_wait(bar(Tr::kBarEmptyK + r.stage), r.phase ^ 1);
        wgmma_load_pages<D>(p, ti, j, reinterpret_cast<int*>(smem + Tr::kPageOffset) + r.stage * Tr::kGroupsPerBlock, t);
        wgmma_load_block<D, T>(p, ti, j, p.k_cache, k_map, smem_u32(smem + Tr::kKOffset + r.stage * Tr::kKVBytes),
                               bar(Tr::kBarFullK + r.stage), t);
        mbar_arrive_cp_async(bar(Tr::kBarFullK + r.stage));
      };
      auto load_v = [&](int j) {
        const RingSlot<Tr::kStages> r = ring_slot<Tr::kStages>(nv++);
        if constexpr (kLean) {
          load_lean(j, r, p.v_cache, v_map, Tr::kVOffset, Tr::kBarFullV, Tr::kBarEmptyV, Tr::kWordV);
          return;
        }
        mbar_wait(bar(Tr::kBarEmptyV + r.stage), r.phase ^ 1);
        wgmma_load_block<D, T>(p, ti, j, p.v_cache, v_map, smem_u32(smem + Tr::kVOffset + r.stage * Tr::kKVBytes),
                               bar(Tr::kBarFullV + r.stage), t);
        mbar_arrive_cp_async(bar(Tr::kBarFullV + r.stage));
      };
      // K a block ahead of V: the order the overlapped consumers need them in (the plain ones
      // need K_j and V_j together, which this order also gives).
      load_k(0);
#pragma unroll 1
      for (int j = 0; j < nblocks; ++j) {
        if (j + 1 < nblocks) load_k(j + 1);
        load_v(j);
      }
    }
    prev_merges = ti.tile >= 0 && ti.splits > 1;
    // The other variants: warp 0, once this tile's loads are issued.
    if (!kLean && t < 32) decode_next();
  }
  cp_async_wait<0>();
  // Thread 0 arrives done after the last fetch of its CTA has returned (it ended the loop, through
  // the decoded slot and the producer barrier), as reset_if_last_out needs.
  finish_forward(p);
}

// ---------------------------------------------------------------------------------------------
// Consumers.

// S[64 x kBlockN] = Q K^T for this warpgroup's 64 rows (sq: its first row), issued and committed
// (one wgmma group); the caller waits.
template <int D, typename T>
__device__ __forceinline__ void issue_qk(float (&s)[WgmmaTraits<D>::kBlockN / 8][4], uint32_t sq, uint32_t sk) {
  using Tr = WgmmaTraits<D>;
  const uint64_t dq = opaque_desc(smem_desc(sq, 16, 1024)), dk = opaque_desc(smem_desc(sk, 16, 1024));
  wgmma_fence();
#pragma unroll
  for (int a = 0; a < Tr::kAtoms; ++a)
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
      WgmmaSS<T, Tr::kBlockN>::run(s, desc_advance(dq, a * Tr::kBlockM * 128 + kk * 32),
                                   desc_advance(dk, a * Tr::kBlockN * 128 + kk * 32), (a | kk) != 0);
  wgmma_commit();
}

// O[64 x D] += P V: P (this thread's probabilities, the A fragments of kBlockN / 16 k16 steps)
// from registers, V [keys][d] read transposed (MN-major descriptor: LBO = the 64-column atom
// stride, SBO = 1 KiB per 8 keys). D = 256 as two n128 halves (atoms 0-1 and 2-3).
template <int D, typename T>
__device__ __forceinline__ void issue_pv(float (&o)[D / 8][4], const uint32_t (&pa)[WgmmaTraits<D>::kBlockN / 16][4],
                                         uint32_t sv) {
  using Tr = WgmmaTraits<D>;
  constexpr int kHalves = D > 128 ? D / 128 : 1;
  constexpr int kN = D / kHalves;
  const uint64_t dv = opaque_desc(smem_desc(sv, Tr::kBlockN * 128, 1024));
  wgmma_fence();
  fence_accumulators(o);
#pragma unroll
  for (int kk = 0; kk < Tr::kBlockN / 16; ++kk)
#pragma unroll
    for (int h = 0; h < kHalves; ++h)
      WgmmaRS<T, kN>::run(*reinterpret_cast<float(*)[kN / 8][4]>(&o[h * (kN / 8)]), pa[kk],
                          desc_advance(dv, h * (kN / 64) * Tr::kBlockN * 128 + kk * 16 * 128), 1);
  wgmma_commit();
}

// The mask as key bounds: a key at position pos of a row is visible iff lo <= pos <= hi and its
// page is valid; hi folds in k_len - 1 and the causal / right window, lo the left window. Key
// positions are < 2^30 (validated capacities), so bounds clamped into [-1, 2^30] decide every
// position exactly, in 32 bits: fewer registers and instructions than the diagonals in 64.
struct WgmmaMask {
  int hi[2], lo[2];      // this thread's rows a (lane / 4) and b (+ 8)
  int hi_tile, lo_tile;  // the tile's first row's hi, last row's lo: a block within them needs no mask
};

// diag: the row's bottom-right diagonal (k_len - q_len + its query index).
__device__ __forceinline__ int mask_hi(int64_t diag, int right, int k_len) {
  const int64_t hi = right >= 0 ? min64(diag + right, k_len - 1) : k_len - 1;
  return static_cast<int>(max64(hi, -1));
}
__device__ __forceinline__ int mask_lo(int64_t diag, int left) {
  return left >= 0 ? static_cast<int>(min64(max64(diag - left, 0), 1 << 30)) : 0;
}

// Which 16-key groups of the block sit on an invalid page (uniform over the CTA), from the
// page ids its K stage carries.
template <int D>
__device__ __forceinline__ unsigned bad_pages_of(const ForwardParams& p, const TileInfo& ti, const int* pages,
                                                 int kb0) {
  unsigned bad = 0;
#pragma unroll
  for (int q = 0; q < WgmmaTraits<D>::kGroupsPerBlock; ++q)
    if (kb0 + q * 16 < ti.k_len && static_cast<unsigned>(pages[q]) >= static_cast<unsigned>(p.num_pages))
      bad |= 1u << q;
  return bad;
}

// Scores of the block at key kb0 into the log2 domain (scale or softcap), then masked (keys past
// k_len, invalid pages, causal / window) where any of it can apply to the tile. kFoldScale (the
// lean variants): without a softcap the scores stay unscaled here, and softmax_rows folds the
// scale into its exp2 argument (FA3's way: one FFMA per score instead of a multiply here and a
// subtraction there).
template <int D, bool kFoldScale = false>
__device__ __forceinline__ void scale_and_mask(const ForwardParams& p, const WgmmaMask& mk,
                                               float (&s)[WgmmaTraits<D>::kBlockN / 8][4], int kb0,
                                               unsigned bad_pages, int lane) {
  constexpr int kNT = WgmmaTraits<D>::kBlockN / 8;
  const int kb1 = kb0 + WgmmaTraits<D>::kBlockN - 1;
  const bool need_mask = kb1 > mk.hi_tile || kb0 < mk.lo_tile || bad_pages != 0;
  if (!kFoldScale || p.has_softcap) scale_scores<kNT>(p, s, kNT);
  if (need_mask && bad_pages == 0 && kb0 >= mk.lo_tile) {
    // Only the upper bound can mask here (causal / right window / k_len: the diagonal block of
    // every causal tile): one compare of a constant column against a per-row limit per score.
    const int col0 = (lane & 3) * 2;
    const int lim[2] = {mk.hi[0] - kb0 - col0, mk.hi[1] - kb0 - col0};
#pragma unroll
    for (int tt = 0; tt < kNT; ++tt)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        if (tt * 8 + (e & 1) > lim[e >> 1]) s[tt][e] = -INFINITY;
  } else if (need_mask) {
#pragma unroll
    for (int tt = 0; tt < kNT; ++tt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int colk = tt * 8 + (lane & 3) * 2 + (e & 1);
        const int pos = kb0 + colk;
        const bool masked = pos > mk.hi[e >> 1] || pos < mk.lo[e >> 1] || ((bad_pages >> (colk >> 4)) & 1u);
        if (masked) s[tt][e] = -INFINITY;
      }
  }
}

// Online softmax of one block's scores (log2 domain), rows a (e = 0, 1) and b (e = 2, 3) of each
// thread: running max and sum updated, scores turned into probabilities in place; alpha gets the
// factor the output accumulated so far must be scaled by (rescale_o), which the overlapped loop
// applies only after the previous block's P V has landed. The same arithmetic as online_softmax.
// kFoldScale: the scores are unscaled by `scale` (> 0, validated: the row max commutes with it, and
// rounding is monotonic, so max(s) x scale is exactly the max of the scaled scores); m stays in
// the scaled log2 domain, and each probability is exp2(fma(s, scale, -m)).
template <int kNT, bool kFoldScale = false>
__device__ __forceinline__ void softmax_rows(float (&s)[kNT][4], float (&m)[2], float (&l)[2], float (&alpha)[2],
                                             float scale = 1.f) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float mx = -INFINITY;
#pragma unroll
    for (int t = 0; t < kNT; ++t) mx = fmaxf(mx, fmaxf(s[t][2 * h], s[t][2 * h + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(m[h], kFoldScale ? mx * scale : mx);
    const float m_use = m_new == -INFINITY ? 0.f : m_new;
    alpha[h] = fast_exp2(m[h] - m_use);
    float sum = 0.f;
#pragma unroll
    for (int t = 0; t < kNT; ++t) {
      if constexpr (kFoldScale) {
        s[t][2 * h] = fast_exp2(fmaf(s[t][2 * h], scale, -m_use));
        s[t][2 * h + 1] = fast_exp2(fmaf(s[t][2 * h + 1], scale, -m_use));
      } else {
        s[t][2 * h] = fast_exp2(s[t][2 * h] - m_use);
        s[t][2 * h + 1] = fast_exp2(s[t][2 * h + 1] - m_use);
      }
      sum += s[t][2 * h] + s[t][2 * h + 1];
    }
    l[h] = l[h] * alpha[h] + sum;
    m[h] = m_new;
  }
}

// O *= alpha per row, skipped when no row of the warp moved its max (a multiply by exactly 1
// changes no bit).
template <int D>
__device__ __forceinline__ void rescale_o(float (&o)[D / 8][4], const float (&alpha)[2]) {
  if (__any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f)) {
#pragma unroll
    for (int d = 0; d < D / 8; ++d) {
      o[d][0] *= alpha[0];
      o[d][1] *= alpha[0];
      o[d][2] *= alpha[1];
      o[d][3] *= alpha[1];
    }
  }
}

// Probabilities to the A fragments of P V: two adjacent n8 score tiles form one k16 fragment.
template <typename T, int kNT>
__device__ __forceinline__ void pack_p(const float (&s)[kNT][4], uint32_t (&pa)[kNT / 2][4]) {
#pragma unroll
  for (int kk = 0; kk < kNT / 2; ++kk) {
    pa[kk][0] = MmaOp<T>::pack(s[2 * kk][0], s[2 * kk][1]);
    pa[kk][1] = MmaOp<T>::pack(s[2 * kk][2], s[2 * kk][3]);
    pa[kk][2] = MmaOp<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
    pa[kk][3] = MmaOp<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
  }
}

// What one consumer thread's main loop works with: shared memory, the barriers, its warpgroup's
// Q rows, and the K / V ring positions it has consumed (carried across tiles).
struct WgmmaConsumerCtx {
  char* smem;
  uint32_t bars;
  uint32_t sq;
  int wg, lane;
  uint32_t nk, nv;
};

// This thread's last Q K^T of the tile has landed: the producer may load the next tile's Q
// while the last P V and the epilogue run.
template <typename Tr>
__device__ __forceinline__ void release_q(const WgmmaConsumerCtx& c) {
  mbar_arrive(c.bars + 8u * Tr::kBarQFree);
}

// Waits for the K (V) stage of the next block and returns its tile; lean, `word` gets the stage's
// word (read before the stage goes back), and the proxy fence runs only where cp.async wrote it.
template <typename Tr, bool kLean>
__device__ __forceinline__ uint32_t wait_k(WgmmaConsumerCtx& c, int& stage, uint32_t& word) {
  const RingSlot<Tr::kStages> r = ring_slot<Tr::kStages>(c.nk);
  mbar_wait(c.bars + 8u * (Tr::kBarFullK + r.stage), r.phase);
  if constexpr (kLean) {
    word = reinterpret_cast<const uint32_t*>(c.smem + Tr::kPageOffset)[Tr::kWordK + r.stage];
    if (word & Tr::kWordGathered) fence_proxy_async_shared();
  } else {
    fence_proxy_async_shared();  // cp.async (generic proxy) writes -> wgmma (async proxy) reads
  }
  stage = r.stage;
  return smem_u32(c.smem + Tr::kKOffset + r.stage * Tr::kKVBytes);
}
template <typename Tr, bool kLean>
__device__ __forceinline__ uint32_t wait_v(WgmmaConsumerCtx& c, int& stage) {
  const RingSlot<Tr::kStages> r = ring_slot<Tr::kStages>(c.nv);
  mbar_wait(c.bars + 8u * (Tr::kBarFullV + r.stage), r.phase);
  if constexpr (kLean) {
    if (reinterpret_cast<const uint32_t*>(c.smem + Tr::kPageOffset)[Tr::kWordV + r.stage] & Tr::kWordGathered)
      fence_proxy_async_shared();
  } else {
    fence_proxy_async_shared();
  }
  stage = r.stage;
  return smem_u32(c.smem + Tr::kVOffset + r.stage * Tr::kKVBytes);
}
// The block's invalid-page mask (lean: from its word; else from the page ids in its K stage),
// then the stage goes back to the producer (this thread's wgmma reads of it are complete: the
// caller waited).
template <typename Tr, bool kLean>
__device__ __forceinline__ unsigned release_k(const ForwardParams& p, const TileInfo& ti, WgmmaConsumerCtx& c,
                                              int stage, int kb0, uint32_t word) {
  unsigned bad;
  if constexpr (kLean)
    bad = word & ~Tr::kWordGathered;
  else
    bad = bad_pages_of<Tr::kHeadDim>(
        p, ti, reinterpret_cast<const int*>(c.smem + Tr::kPageOffset) + stage * Tr::kGroupsPerBlock, kb0);
  mbar_arrive(c.bars + 8u * (Tr::kBarEmptyK + stage));
  ++c.nk;
  return bad;
}
template <typename Tr>
__device__ __forceinline__ void release_v(WgmmaConsumerCtx& c, int stage) {
  mbar_arrive(c.bars + 8u * (Tr::kBarEmptyV + stage));
  ++c.nv;
}

// Plain main loop: per block S = Q K^T, wait, softmax (O rescaled at once), O += P V, wait.
template <int D, typename T, typename Tr>
__device__ __forceinline__ void mainloop_plain(const ForwardParams& p, const TileInfo& ti, const WgmmaMask& mk,
                                               WgmmaConsumerCtx& c, WarpState<D>& st) {
  constexpr int kNT = Tr::kBlockN / 8;
  const int nblocks = ti.block_end - ti.block_begin;
  uint32_t pa[kNT / 2][4];
#pragma unroll 1
  for (int j = 0; j < nblocks; ++j) {
    const int kb0 = (ti.block_begin + j) * Tr::kBlockN;
    int ks, vs;
    uint32_t word = 0;
    const uint32_t sk = wait_k<Tr, false>(c, ks, word);
    float s[kNT][4];
    issue_qk<D, T>(s, c.sq, sk);
    wgmma_wait<0>();
    fence_accumulators(s);
    if (j == nblocks - 1) release_q<Tr>(c);
    const unsigned bad = release_k<Tr, false>(p, ti, c, ks, kb0, word);
    scale_and_mask<D>(p, mk, s, kb0, bad, c.lane);
    float alpha[2];
    softmax_rows<kNT>(s, st.m, st.l, alpha);
    rescale_o<D>(st.o, alpha);
    pack_p<T, kNT>(s, pa);
    const uint32_t sv = wait_v<Tr, false>(c, vs);
    issue_pv<D, T>(st.o, pa, sv);
    wgmma_wait<0>();
    fence_accumulators(st.o);
    fence_fragments(pa);
    release_v<Tr>(c, vs);
  }
}

// Overlapped main loop (FA3's order): block j's Q K^T is issued ahead of block j - 1's P V, and
// the softmax of block j runs while that P V is on the tensor cores; O's rescale for block j - 1's
// max is applied just before its P V is issued. The issue of each pair of GEMMs is a turn of the
// ping-pong: warpgroup w waits on named barrier kBarTurn0 + w and then passes the turn to the
// other (FA3's scheduler barriers), so the tensor cores alternate between the warpgroups' GEMMs
// while the other one runs its softmax. Both warpgroups run the same tiles and the same number of
// blocks, so the turns stay paired across tiles.
template <int D, typename T, typename Tr, bool kLean>
__device__ __forceinline__ void mainloop_overlap(const ForwardParams& p, const TileInfo& ti, const WgmmaMask& mk,
                                                 WgmmaConsumerCtx& c, WarpState<D>& st) {
  constexpr int kNT = Tr::kBlockN / 8;
  const int nblocks = ti.block_end - ti.block_begin;
  const int my_turn = Tr::kBarTurn0 + c.wg, their_turn = Tr::kBarTurn0 + (c.wg ^ 1);
  float s[kNT][4];
  uint32_t pa[kNT / 2][4];
  float alpha[2];
  int ks, vs;
  uint32_t word = 0;
  // Lean: the softmax scale folded into the exp2 (none left to apply after a softcap).
  const float scale = p.has_softcap ? 1.f : p.scale_log2;
  // Block 0: Q K^T alone.
  {
    const int kb0 = ti.block_begin * Tr::kBlockN;
    const uint32_t sk = wait_k<Tr, kLean>(c, ks, word);
    named_barrier_sync(my_turn, 2 * 128);
    issue_qk<D, T>(s, c.sq, sk);
    named_barrier_arrive(their_turn, 2 * 128);
    wgmma_wait<0>();
    fence_accumulators(s);
    if (nblocks == 1) release_q<Tr>(c);
    const unsigned bad = release_k<Tr, kLean>(p, ti, c, ks, kb0, word);
    scale_and_mask<D, kLean>(p, mk, s, kb0, bad, c.lane);
    softmax_rows<kNT, kLean>(s, st.m, st.l, alpha, scale);  // O is still zero: its alpha needs no applying
    pack_p<T, kNT>(s, pa);
  }
#pragma unroll 1
  for (int j = 1; j < nblocks; ++j) {
    const int kb0 = (ti.block_begin + j) * Tr::kBlockN;
    const uint32_t sk = wait_k<Tr, kLean>(c, ks, word);
    named_barrier_sync(my_turn, 2 * 128);
    issue_qk<D, T>(s, c.sq, sk);  // S_j
    rescale_o<D>(st.o, alpha);    // to block j - 1's max; no wgmma touches O now
    const uint32_t sv = wait_v<Tr, kLean>(c, vs);
    issue_pv<D, T>(st.o, pa, sv);  // O += P_{j-1} V_{j-1}
    named_barrier_arrive(their_turn, 2 * 128);
    wgmma_wait<1>();  // S_j has landed; P V runs on
    fence_accumulators(s);
    if (j == nblocks - 1) release_q<Tr>(c);
    const unsigned bad = release_k<Tr, kLean>(p, ti, c, ks, kb0, word);
    scale_and_mask<D, kLean>(p, mk, s, kb0, bad, c.lane);
    softmax_rows<kNT, kLean>(s, st.m, st.l, alpha, scale);
    wgmma_wait<0>();  // P_{j-1} V_{j-1} has landed: V's stage and P's registers are free
    fence_accumulators(st.o);
    fence_fragments(pa);
    release_v<Tr>(c, vs);
    pack_p<T, kNT>(s, pa);
  }
  // The last block's P V.
  rescale_o<D>(st.o, alpha);
  const uint32_t sv = wait_v<Tr, kLean>(c, vs);
  issue_pv<D, T>(st.o, pa, sv);
  wgmma_wait<0>();
  fence_accumulators(st.o);
  fence_fragments(pa);
  release_v<Tr>(c, vs);
}

// The tile's output straight from the accumulators, without shared memory (the producer refills
// Q and the K / V stages for the next tile meanwhile): with one split the normalised bf16 / fp16
// output and the LSE, else this split's fp32 partials O [T, Hq, S, D] and LSE [T, Hq, S]
// (layout.h) for the fused merge. The values store_tile_rows gives for warps of 16 rows that do
// not split the keys: O / l and LSE = (m + log2 l) ln 2, -inf for a row that saw no key (with a
// sink, a one-split row's as store_tile_rows applies it; split rows get theirs in the merge).
template <int D, typename T>
__device__ __forceinline__ void wgmma_store_tile(const ForwardParams& p, const TileInfo& ti, const WarpState<D>& st,
                                                 int warp, int lane, int64_t lse_stride) {
  const int g = qheads_per_kvhead(p.shape);
  const int hq = p.shape.num_heads_q;
  const bool direct = ti.splits == 1;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = st.l[h];  // this thread's columns: the row's sum is the quad's
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int row = warp * 16 + (lane >> 2) + 8 * h;
    if (row >= ti.rows) continue;
    const bool any = l > 0.f && st.m[h] != -INFINITY;
    const float factor = any ? 1.f / l : 0.f;
    const float lse = any ? (st.m[h] + __log2f(l)) * kLn2 : -INFINITY;
    const int packed = ti.m_block * WgmmaTraits<D>::kBlockM + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    if (direct) {
      // A one-split row's sink joins its denominator here (forward_epilogue.h fold_sink).
      float row_lse = lse, f = factor;
      if (p.sinks != nullptr) f *= fold_sink(__ldg(p.sinks + head), row_lse);
      T* dst = static_cast<T*>(p.out) + (tok * hq + head) * D + (lane & 3) * 2;
#pragma unroll
      for (int d = 0; d < D / 8; ++d)
        *reinterpret_cast<uint32_t*>(dst + d * 8) = MmaOp<T>::pack(st.o[d][2 * h] * f, st.o[d][2 * h + 1] * f);
      if ((lane & 3) == 0 && p.lse != nullptr && tok < lse_stride) p.lse[head * lse_stride + tok] = row_lse;
    } else {
      const int64_t slot = (tok * hq + head) * p.shape.max_num_splits + ti.split;
      float* dst = p.o_partial + slot * D + (lane & 3) * 2;
#pragma unroll
      for (int d = 0; d < D / 8; ++d)
        __stcg(reinterpret_cast<float2*>(dst + d * 8), make_float2(st.o[d][2 * h] * factor, st.o[d][2 * h + 1] * factor));
      if ((lane & 3) == 0) __stcg(p.lse_partial + slot, lse);
    }
  }
}

template <int D, typename T, int kVariant>
__device__ __forceinline__ void wgmma_consumer(const ForwardParams& p, char* smem, const TileInfo* s_tile,
                                               EpilogueSharedT<WgmmaTraits<D>::kWarps>& es, uint32_t bars,
                                               int64_t lse_stride) {
  using Tr = WgmmaTraits<D, wgmma_stages(D, kVariant)>;
  constexpr bool kOverlap = kVariant != kWgmmaPlain;
  setmaxnreg_inc<Tr::kConsumerRegs>();
  const int ct = Tr::tid();
  const int warp = ct >> 5;  // rows 16 warp .. of the tile
  WgmmaConsumerCtx c;
  c.smem = smem;
  c.bars = bars;
  c.wg = ct >> 7;  // consumer warpgroup: rows 64 wg ..
  c.lane = ct & 31;
  c.sq = smem_u32(smem) + c.wg * 64 * 128;
  c.nk = c.nv = 0;
  const int g = qheads_per_kvhead(p.shape);
  auto bar = [&](int i) { return bars + 8u * i; };
  // The first turn of the ping-pong is warpgroup 0's.
  if (kOverlap && c.wg == 0) named_barrier_arrive(Tr::kBarTurn0, 2 * 128);
  uint32_t q_loads = 0;
#pragma unroll 1
  for (int iter = 0;; ++iter) {
    mbar_wait(bar(Tr::kBarTileFull), iter & 1);
    // Read from shared memory where used (the slot is stable until this tile's done arrival):
    // a register copy would hold a dozen registers through the main loop.
    const TileInfo& ti = s_tile[iter % Tr::kTileSlots];
    if (ti.tile == -1) break;
    if (ti.tile >= 0) {
      WarpState<D> st;
#pragma unroll
      for (int d = 0; d < D / 8; ++d) st.o[d][0] = st.o[d][1] = st.o[d][2] = st.o[d][3] = 0.f;
      st.m[0] = st.m[1] = -INFINITY;
      st.l[0] = st.l[1] = 0.f;
      if (ti.block_end > ti.block_begin) {
        const int64_t base = static_cast<int64_t>(ti.k_len) - ti.q_len;
        const int row_a = ti.m_block * Tr::kBlockM + warp * 16 + (c.lane >> 2);
        const int right = p.causal ? 0 : p.window_right;
        WgmmaMask mk;
        for (int h = 0; h < 2; ++h) {
          const int64_t diag = base + (row_a + 8 * h) / g;
          mk.hi[h] = mask_hi(diag, right, ti.k_len);
          mk.lo[h] = mask_lo(diag, p.window_left);
        }
        mk.hi_tile = mask_hi(base + (ti.m_block * Tr::kBlockM) / g, right, ti.k_len);
        mk.lo_tile = mask_lo(base + (ti.m_block * Tr::kBlockM + ti.rows - 1) / g, p.window_left);
        mbar_wait(bar(Tr::kBarQ), q_loads & 1);
        ++q_loads;
        fence_proxy_async_shared();  // a cp.async-gathered Q (generic proxy) before wgmma reads it
        // Both main loops arrive on QFree once this thread's last Q K^T has landed.
        if constexpr (kOverlap)
          mainloop_overlap<D, T, Tr, (kVariant >= kWgmmaLean)>(p, ti, mk, c, st);
        else
          mainloop_plain<D, T, Tr>(p, ti, mk, c, st);
      } else {
        release_q<Tr>(c);  // no KV block, no Q K^T
      }
      wgmma_store_tile<D, T>(p, ti, st, warp, c.lane, lse_stride);
      // The last split of the group to arrive merges it (row table in Q, staging in the K / V
      // stages: the producer waits for this tile's done arrival before refilling them).
      if (ti.splits > 1 && arrive_at_group<Tr>(p, ti, &es.last))
        merge_group<Tr, T, Tr::kRegionFloats>(p, ti, reinterpret_cast<int*>(smem),
                                              reinterpret_cast<float*>(smem + Tr::kKOffset), lse_stride);
    } else {
      mbar_arrive(bar(Tr::kBarQFree));
    }
    // No thread may arrive on tile iter's phase before tile iter - 1's has completed: a warpgroup
    // that runs a short tile (<= the ring's blocks) can finish it while the other still stores
    // tile iter - 1, and its arrival would count there (synccheck: "missing wait", run Q). The
    // phase is almost always complete already, so the wait costs one try_wait.
    if (iter > 0) mbar_wait(bar(Tr::kBarTileDone), (iter - 1) & 1);
    mbar_arrive(bar(Tr::kBarTileDone));  // this thread is done with the tile (merge, TileInfo)
  }
}

template <int D, typename T, int kVariant>
__global__ void __launch_bounds__(WgmmaTraits<D>::kCtaThreads, 1)
    wgmma_kernel(const __grid_constant__ ForwardParams p, const __grid_constant__ WgmmaTmaMaps maps) {
  using Tr = WgmmaTraits<D, wgmma_stages(D, kVariant)>;
  // Lean: one expected arrival a phase on the full barriers (wgmma_load_block_lean).
  constexpr int kFullArrivals = kVariant >= kWgmmaLean ? 1 : Tr::kProducerThreads;
  extern __shared__ __align__(1024) char smem_raw[];
  __shared__ TileInfo s_tile[Tr::kTileSlots];
  __shared__ EpilogueSharedT<Tr::kWarps> s_epi;
  char* smem = smem_raw + ((1024u - (smem_u32(smem_raw) & 1023u)) & 1023u);
  const uint32_t bars = smem_u32(smem + Tr::kBarOffset);
  if (threadIdx.x == 0) {
    for (int s = 0; s < Tr::kStages; ++s) {
      mbar_init(bars + 8u * (Tr::kBarFullK + s), kFullArrivals);
      mbar_init(bars + 8u * (Tr::kBarFullV + s), kFullArrivals);
      mbar_init(bars + 8u * (Tr::kBarEmptyK + s), Tr::kThreads);
      mbar_init(bars + 8u * (Tr::kBarEmptyV + s), Tr::kThreads);
    }
    mbar_init(bars + 8u * Tr::kBarQ, Tr::kProducerThreads);
    mbar_init(bars + 8u * Tr::kBarQFree, Tr::kThreads);
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
    wgmma_producer<D, T, kVariant>(p, maps, smem, s_tile, bars, total_tiles);
  } else {
    const int64_t lse_stride =
        p.num_reqs > 0 ? clamp_int(__ldg(p.cu_seqlens_q + p.num_reqs), 0, p.shape.max_num_tokens) : 0;
    wgmma_consumer<D, T, kVariant>(p, smem, s_tile, s_epi, bars, lse_stride);
  }
}

template <int D, typename T, int kVariant>
cudaError_t launch_wgmma_variant(const ForwardParams& p, int sm_count, cudaStream_t stream, const WgmmaTmaMaps& maps) {
  using Tr = WgmmaTraits<D, wgmma_stages(D, kVariant)>;
  return launch_persistent<wgmma_kernel<D, T, kVariant>, Tr::kCtaThreads, Tr::kSmemBytes>(p, sm_count, stream, maps);
}

// The variant from the switches (launchers.h): the plain loop if the overlap is off; lean only on
// the overlapped loop; lean-deep only where it has its own ring (D = 128; else it is lean).
template <int D, typename T>
cudaError_t launch_wgmma(const ForwardParams& p, int sm_count, cudaStream_t stream) {
  const WgmmaTmaMaps maps = make_tma_maps<D, T, WgmmaTraits<D>::kBlockM, WgmmaTraits<D>::kBlockN>(p);
  if (!wgmma_overlap_enabled()) return launch_wgmma_variant<D, T, kWgmmaPlain>(p, sm_count, stream, maps);
  if (!wgmma_lean_enabled()) return launch_wgmma_variant<D, T, kWgmmaOverlap>(p, sm_count, stream, maps);
  if constexpr (wgmma_stages(D, kWgmmaLeanDeep) != wgmma_stages(D, kWgmmaLean)) {
    if (wgmma_deep_ring_enabled()) return launch_wgmma_variant<D, T, kWgmmaLeanDeep>(p, sm_count, stream, maps);
  }
  return launch_wgmma_variant<D, T, kWgmmaLean>(p, sm_count, stream, maps);
}

}  // namespace fa3
