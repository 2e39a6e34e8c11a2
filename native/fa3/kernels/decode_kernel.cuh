// The decode forward kernel: the same persistent tile loop, metadata, partials and fused combine
// as forward_kernel, with a main loop built for a few packed query rows per tile (<= 16: one m16
// MMA slice), launched when the host states maxSeqlenQ x G <= 16 (a decode step).
//
// Why a second kernel: a small-batch decode step is bound by instruction fetch, not memory (ncu:
// ~60% of stall samples "no instruction"; each CTA runs its tile's code once, cold, ~25 ns per
// 128-byte line). The general kernel carries prefill's code (tile layouts for 16-64 rows, whole
// KV blocks per CTA barrier); this one runs a short loop per warp:
//   - each warp owns every 4th 16-key chunk of the tile's KV range (a chunk lies in one page) and
//     streams it through its own cp.async ring, synchronising only itself (__syncwarp);
//   - page ids come 32 chunks at a time, one per lane, into a register (shuffled out per chunk);
//   - for numReqs <= 32 the tile decode is one round trip (decode_tile_small);
//   - a CTA that knows it is leaving arrives at the done counter before its merge.
// The warp merge, outputs / partials and the fused combine are the general kernel's.
// An fp8 e4m3 cache (KV = KvFp8) streams half the bytes: each chunk's codes land in the warp's fp8
// ring (cp.async, 16 codes per copy), the warp dequantizes the chunk into one bf16 / fp16 chunk
// buffer (kv_fp8.h) and the rest of the loop is the same code; descales are applied in fp32.
// A tile with more than 16 rows (the host understated maxSeqlenQ) is still computed exactly, 16
// rows at a time over the whole KV range: slower, never wrong.
//
// One kernel with both paths chosen per tile was measured and rejected (H200, same run): inlined,
// the shared register allocation cost prefill 25% and the decode path 25%; with each path a
// non-inlined function, prefill lost 8% and B=1 4k 2 us. Included only by
// decode_instantiate_*.cu (explicit instantiations).
#pragma once

#include <cuda_runtime.h>

#include <type_traits>

#include "forward_epilogue.h"
#include "forward_mainloop.h"
#include "forward_params.h"
#include "forward_tile_scheduler.h"
#include "decode_fp8_fast.h"
#include "kv_fp8.h"
#include "persistent_launch.h"

namespace fa3 {

template <int D>
struct DecodeTraits {
  static constexpr int kThreads = 128;
  static constexpr int kWarps = kThreads / 32;
  static constexpr int kRows = 16;       // packed query rows per slice (one m16 MMA)
  static constexpr int kChunkKeys = 16;  // keys per chunk; pages are multiples of 16 tokens
  static constexpr int kStages = D == 64 ? 4 : 3;  // per warp; D = 64 takes 4 so the merge's LSE table fits
  static constexpr int kChunks = D / 8;  // 16-byte chunks per row
  static constexpr int kQInRegs = D <= 128;
  static constexpr int kStageElems = kChunkKeys * D;  // one K (or V) chunk
  static constexpr int kQBytes = kRows * D * 2;
  static constexpr int kKVOffset = kQBytes;
  static constexpr int kWarpKVBytes = kStages * 2 * kStageElems * 2;
  static constexpr int kSmemBytes = kKVOffset + kWarps * kWarpKVBytes;
  static constexpr int kRegionFloats = kWarps * kWarpKVBytes / 4;  // the K/V region, reused after the loop
  static_assert(kThreads == ForwardTraits<D>::kThreads, "the shared epilogue and merge assume the same CTA");
  static_assert(2 * ForwardTraits<D>::kBlockM * 4 <= kQBytes, "merge row table fits the Q region");
  static_assert(kWarps * kRows * ForwardTraits<D>::kOStride * 4 <= kWarps * kWarpKVBytes,
                "epilogue buffer fits the K/V region");
  static_assert(ForwardTraits<D>::kBlockM * kMaxSplitsLimit <= kRegionFloats, "merge LSE table fits");
  static_assert(ForwardTraits<D>::kBlockN % kChunkKeys == 0, "KV blocks are whole chunks");
  // fp8 caches, per warp (bytes): one dequantized K chunk and one V chunk (the T elements the
  // mma path reads), then the fp8 ring of kStages chunks (K then V codes, rows of D bytes).
  static constexpr int kFp8DequantBytes = 2 * kStageElems * 2;
  static constexpr int kFp8RingBytes = kStages * 2 * kStageElems;
  static_assert(kFp8DequantBytes + kFp8RingBytes <= kWarpKVBytes, "the fp8 layout fits a warp's K/V region");
};

// A chunk's scores after Q K^T, 16 rows x 16 keys from pos0: times k_descale (kDescale: an fp8
// cache's codes), scaled (or softcapped) into the log2 domain, masked, then the online softmax.
template <int D, bool kDescale>
__device__ __forceinline__ void finish_chunk_scores(const ForwardParams& p, float (&s)[2][4], WarpState<D>& st,
                                                    float k_descale, int pos0, int key_end, bool page_ok,
                                                    int64_t diag_a, int64_t diag_b, int64_t diag_lo,
                                                    int64_t diag_hi, int right, int left) {
  const int lane = threadIdx.x & 31;
  if constexpr (kDescale) {
#pragma unroll
    for (int t = 0; t < 2; ++t)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[t][e] *= k_descale;
  }
  // Scale (or softcap) into the log2 domain, then mask (a uniform branch around a whole loop).
  scale_scores<2>(p, s, 2);
  const int pos1 = pos0 + DecodeTraits<D>::kChunkKeys - 1;
  if (pos1 >= key_end || !page_ok || (right >= 0 && pos1 > diag_lo + right) || (left >= 0 && pos0 < diag_hi - left)) {
#pragma unroll
    for (int t = 0; t < 2; ++t) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int pos = pos0 + t * 8 + (lane & 3) * 2 + (e & 1);
        const int64_t diag = e < 2 ? diag_a : diag_b;
        if (pos >= key_end || !page_ok || (right >= 0 && pos > diag + right) || (left >= 0 && pos < diag - left))
          s[t][e] = -INFINITY;
      }
    }
  }
  online_softmax<D, 2>(s, 2, st);
}

// One 16-row slice (tile rows [row0, row0 + rows)) against the tile's whole KV range; each warp
// ends with the online-softmax state of its chunks in `st` (merged by store_tile_rows).
// kFast (fp8 caches only): the fast fp8 path of decode_fp8_fast.h (hardware conversion, fp16
// MMAs, K straight from the ring into registers).
template <int D, typename T, typename KV, bool kFast>
__device__ __forceinline__ void decode_slice(const ForwardParams& p, const TileInfo& ti, int row0, int rows,
                                             char* smem, WarpState<D>& st) {
  using Tr = DecodeTraits<D>;
  using Ft = ForwardTraits<D>;
  constexpr bool kFp8 = KvTraits<KV>::kFp8;
  static_assert(kFp8 || !kFast, "the fast path reads an fp8 cache");
  using FL = Fp8FastLayout<D>;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = qheads_per_kvhead(p.shape);
  T* sQ = reinterpret_cast<T*>(smem);
  T* sKV = reinterpret_cast<T*>(smem + Tr::kKVOffset) + warp * (Tr::kStages * 2 * Tr::kStageElems);
  // fp8: sKV holds the dequantized chunk (K, then V); the codes' ring follows it.
  char* ring8 = reinterpret_cast<char*>(sKV) + Tr::kFp8DequantBytes;

#pragma unroll
  for (int d = 0; d < D / 8; ++d) st.o[d][0] = st.o[d][1] = st.o[d][2] = st.o[d][3] = 0.f;
  st.m[0] = st.m[1] = -INFINITY;
  st.l[0] = st.l[1] = 0.f;

  // The slice's Q rows (zero past `rows`), one cp.async group before any chunk's.
  const T* q = static_cast<const T*>(p.q);
#pragma unroll 1
  for (int idx = threadIdx.x; idx < Tr::kRows * Tr::kChunks; idx += Tr::kThreads) {
    const int row = idx / Tr::kChunks, c = idx % Tr::kChunks;
    const int packed = ti.m_block * Ft::kBlockM + row0 + row;
    const int64_t tok = ti.q_start + packed / g;
    const int head = ti.kv_head * g + packed % g;
    const bool valid = row < rows;
    cp_async_16(smem_u32(sQ + swz<D>(row, c)), valid ? q + (tok * p.shape.num_heads_q + head) * D + c * 8 : q, valid);
  }
  cp_async_commit();

  // This warp's chunks: warp, warp + 4, ... of the tile's keys [key_begin, key_end).
  const int key_begin = ti.block_begin * Ft::kBlockN;
  const int key_end = min(ti.block_end * Ft::kBlockN, ti.k_len);
  const int nchunks = key_end > key_begin ? (key_end - key_begin + Tr::kChunkKeys - 1) / Tr::kChunkKeys : 0;
  const int ncw = nchunks > warp ? (nchunks - warp + Tr::kWarps - 1) / Tr::kWarps : 0;
  auto chunk_pos = [&](int j) { return key_begin + (warp + Tr::kWarps * j) * Tr::kChunkKeys; };
  // Page ids of chunks [32 r, 32 r + 32): lane l holds chunk 32 r + l's (0 past the end).
  const int* page_row = p.page_table + ti.req * p.page_table_stride;
  auto load_pages = [&](int r) {
    const int j = 32 * r + lane;
    return j < ncw ? __ldg(page_row + page_column(p, chunk_pos(j))) : 0;
  };
  // The issue side runs kStages - 1 chunks ahead of the compute side, so each keeps its own
  // round: `pages` for issuing, and for the mask which chunks of the compute round sit on a page
  // outside the cache (`bad`, one bit per chunk, taken when the issue side loads the round).
  auto bad_of = [&](int ids) {
    return __ballot_sync(0xffffffffu, static_cast<unsigned>(ids) >= static_cast<unsigned>(p.num_pages));
  };
  int pages = load_pages(0);
  int pages_next = ncw > 32 ? load_pages(1) : 0;
  unsigned bad = bad_of(pages), bad_next = 0;

  const int64_t token_stride = static_cast<int64_t>(p.shape.num_heads_kv) * D;
  // Rows per pass: 4, 2, 1 for D = 64, 128, 256; 2 and 1 for D = 96 and 192, whose lanes past
  // kRowsPerPass x kChunks (24 of 32) issue nothing.
  constexpr int kRowsPerPass = pow2_floor(32 / Tr::kChunks);
  constexpr bool kAllLanesLoad = kRowsPerPass * Tr::kChunks == 32;
  const bool loader = kAllLanesLoad || lane < kRowsPerPass * Tr::kChunks;
  const int c = lane % Tr::kChunks, r0 = lane / Tr::kChunks;
  const T* kc = static_cast<const T*>(p.k_cache) + static_cast<int64_t>(ti.kv_head) * D + c * 8;
  const T* vc = static_cast<const T*>(p.v_cache) + static_cast<int64_t>(ti.kv_head) * D + c * 8;
  // Chunk j (issued in order) into stage j % kStages: 16 rows of K and V, a lane per 16-byte
  // column chunk. A key past the range or on a page outside the cache is zero-filled, never read.
  auto issue = [&](int j) {
    if (j < ncw) {
      if ((j & 31) == 0 && j > 0) {
        pages = pages_next;
        bad_next = bad_of(pages);
        pages_next = 32 * (j / 32 + 1) < ncw ? load_pages(j / 32 + 1) : 0;
      }
      const int page = __shfl_sync(0xffffffffu, pages, j & 31);
      const int pos0 = chunk_pos(j);
      const bool page_ok = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages);
      const unsigned slot0 = static_cast<unsigned>(page) * static_cast<unsigned>(p.shape.page_size) +
                             static_cast<unsigned>(page_offset(p, pos0) + r0);
      T* sk = sKV + (j % Tr::kStages) * 2 * Tr::kStageElems;
      T* sv = sk + Tr::kStageElems;
      if (loader) {
#pragma unroll
        for (int i = 0; i < Tr::kChunkKeys / kRowsPerPass; ++i) {
          const int row = r0 + i * kRowsPerPass;
          const bool ok = page_ok && pos0 + row < key_end;
          const int64_t off = ok ? static_cast<int64_t>(slot0 + i * kRowsPerPass) * token_stride : 0;
          cp_async_16(smem_u32(sk + swz<D>(row, c)), kc + off, ok);
          cp_async_16(smem_u32(sv + swz<D>(row, c)), vc + off, ok);
        }
      }
    }
    cp_async_commit();  // an empty group past the end keeps the group count uniform
  };
  // fp8: chunk j's codes into ring stage j % kStages, rows of D bytes, a lane per 16 codes (the
  // fast path swizzles K's pieces within each row: fast_k_piece).
  constexpr int kPieces8 = D / 16;              // 16-byte pieces of an fp8 row
  constexpr int kRowsPerPass8 = 32 / kPieces8;  // 8, 4, 2 for D = 64, 128, 256
  const int c8 = lane % kPieces8, r08 = lane / kPieces8;
  const char* kc8 = static_cast<const char*>(p.k_cache) + static_cast<int64_t>(ti.kv_head) * D + c8 * 16;
  const char* vc8 = static_cast<const char*>(p.v_cache) + static_cast<int64_t>(ti.kv_head) * D + c8 * 16;
  auto issue8 = [&](int j) {
    if (j < ncw) {
      if ((j & 31) == 0 && j > 0) {
        pages = pages_next;
        bad_next = bad_of(pages);
        pages_next = 32 * (j / 32 + 1) < ncw ? load_pages(j / 32 + 1) : 0;
      }
      const int page = __shfl_sync(0xffffffffu, pages, j & 31);
      const int pos0 = chunk_pos(j);
      const bool page_ok = static_cast<unsigned>(page) < static_cast<unsigned>(p.num_pages);
      const unsigned slot0 = static_cast<unsigned>(page) * static_cast<unsigned>(p.shape.page_size) +
                             static_cast<unsigned>(page_offset(p, pos0) + r08);
      char* sk = ring8 + (j % Tr::kStages) * 2 * Tr::kStageElems;
      char* sv = sk + Tr::kStageElems;
#pragma unroll
      for (int i = 0; i < Tr::kChunkKeys / kRowsPerPass8; ++i) {
        const int row = r08 + i * kRowsPerPass8;
        const bool ok = page_ok && pos0 + row < key_end;
        const int64_t off = ok ? static_cast<int64_t>(slot0 + i * kRowsPerPass8) * token_stride : 0;
        const int kpiece = kFast ? fast_k_piece<D>(row, c8) : c8;
        cp_async_16(smem_u32(sk + row * D + kpiece * 16), kc8 + off, ok);
        cp_async_16(smem_u32(sv + row * D + c8 * 16), vc8 + off, ok);
      }
    }
    cp_async_commit();
  };
  // fp8: chunk j's codes (ring stage j % kStages) -> the warp's dequantized K and V chunk.
  auto dequant_chunk = [&](int j) {
    const char* sk = ring8 + (j % Tr::kStages) * 2 * Tr::kStageElems;
#pragma unroll
    for (int kv = 0; kv < 2; ++kv) {
      const char* src = sk + kv * Tr::kStageElems;
      T* dst = sKV + kv * Tr::kStageElems;
#pragma unroll
      for (int idx = lane; idx < Tr::kChunkKeys * kPieces8; idx += 32) {
        const int row = idx / kPieces8, c = idx % kPieces8;
        uint4 lo, hi;
        dequant_e4m3x16<T>(*reinterpret_cast<const uint4*>(src + row * D + c * 16), lo, hi);
        *reinterpret_cast<uint4*>(dst + swz<D>(row, 2 * c)) = lo;
        *reinterpret_cast<uint4*>(dst + swz<D>(row, 2 * c + 1)) = hi;
      }
    }
  };
  const float k_descale = kFp8 ? kv_descale(p.k_descale, ti.kv_head) : 1.f;
#pragma unroll 1
  for (int j = 0; j < Tr::kStages - 1; ++j) {
    if constexpr (kFp8)
      issue8(j);
    else
      issue(j);
  }
  cp_async_wait<Tr::kStages - 1>();  // this thread's Q copies
  __syncthreads();                   // everyone's Q copies
  FA3_TRACE_TILE(p, ti, 2);

  const int q_row = (lane & 7) + ((lane >> 3) & 1) * 8;
  uint32_t qf[Tr::kQInRegs ? D / 16 : 1][4];
  // Fast path: this lane's MMA rows fr, fr + 8 and quarter fc of the permuted head dim
  // (decode_fp8_fast.h); q_down[h]: 2^-s of row fr + 8 h, undone on the scores.
  const int fr = lane >> 2, fc = lane & 3;
  float q_down[2] = {1.f, 1.f};
  if constexpr (kFast) {
    constexpr bool kScaleQ = !std::is_same<T, __half>::value;
    float up[2] = {1.f, 1.f};
    if constexpr (kScaleQ) {
      int e[2] = {0, 0};
#pragma unroll
      for (int m = 0; m < FL::kLaneQChunks; ++m) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const uint4 u = *reinterpret_cast<const uint4*>(sQ + swz<D>(fr + 8 * h, fast_q_chunk<D>(fc, m)));
          e[h] = max(e[h], max(max(bf16x2_max_exponent(u.x), bf16x2_max_exponent(u.y)),
                               max(bf16x2_max_exponent(u.z), bf16x2_max_exponent(u.w))));
        }
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        e[h] = max(e[h], __shfl_xor_sync(0xffffffffu, e[h], 1));  // the row's four lanes
        e[h] = max(e[h], __shfl_xor_sync(0xffffffffu, e[h], 2));
        const int shift = fast_q_shift(e[h]);
        up[h] = pow2f(shift);
        q_down[h] = pow2f(-shift);
      }
    }
    if constexpr (Tr::kQInRegs) {
#pragma unroll
      for (int m = 0; m < FL::kLaneQChunks; ++m) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const uint4 u = *reinterpret_cast<const uint4*>(sQ + swz<D>(fr + 8 * h, fast_q_chunk<D>(fc, m)));
          qf[2 * m][h] = fast_q_word<T>(u.x, up[h]);
          qf[2 * m][2 + h] = fast_q_word<T>(u.y, up[h]);
          qf[2 * m + 1][h] = fast_q_word<T>(u.z, up[h]);
          qf[2 * m + 1][2 + h] = fast_q_word<T>(u.w, up[h]);
        }
      }
    } else if constexpr (kScaleQ) {
      // Q stays in shared memory (D 256): the tile is converted in place, each warp a quarter of
      // the chunks, once every warp has read the bf16 rows for its exponents (all warps derive
      // the same scales from the same rows).
      __syncthreads();
#pragma unroll
      for (int m = 0; m < FL::kLaneQChunks; ++m) {
        if (m % Tr::kWarps != warp) continue;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          uint4* at = reinterpret_cast<uint4*>(sQ + swz<D>(fr + 8 * h, fast_q_chunk<D>(fc, m)));
          const uint4 u = *at;
          *at = make_uint4(fast_q_word<T>(u.x, up[h]), fast_q_word<T>(u.y, up[h]), fast_q_word<T>(u.z, up[h]),
                           fast_q_word<T>(u.w, up[h]));
        }
      }
      __syncthreads();
    }
  } else if constexpr (Tr::kQInRegs) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
      ldmatrix_x4(smem_u32(sQ + swz<D>(q_row, 2 * kk + (lane >> 4))), qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3]);
  }
  // Bottom-right diagonals of this thread's two rows and of the slice's first / last valid row.
  const int64_t base = static_cast<int64_t>(ti.k_len) - ti.q_len;
  const int prow = ti.m_block * Ft::kBlockM + row0;
  const int64_t diag_a = base + (prow + (lane >> 2)) / g;
  const int64_t diag_b = base + (prow + (lane >> 2) + 8) / g;
  const int64_t diag_lo = base + prow / g;
  const int64_t diag_hi = base + (prow + rows - 1) / g;
  const int right = p.causal ? 0 : p.window_right;
  const int left = p.window_left;

#pragma unroll 1
  for (int j = 0; j < ncw; ++j) {
    cp_async_wait<Tr::kStages - 2>();
    __syncwarp();  // every lane's copies of chunk j landed; every lane is done with chunk j - 1
    if (j == 0 && warp == 0) FA3_TRACE_TILE(p, ti, 3);
    if ((j & 31) == 0 && j > 0) bad = bad_next;
    const bool page_ok = ((bad >> (j & 31)) & 1u) == 0;
    if constexpr (kFast) {
      issue8(j + Tr::kStages - 1);
      const int pos0 = chunk_pos(j);
      float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};  // S = Q K^T: 16 rows x 16 keys (two n8 tiles)
      __half* const sv_fast = reinterpret_cast<__half*>(sKV);  // the V chunk in fp16
      const char* sk8 = ring8 + (j % Tr::kStages) * 2 * Tr::kStageElems;
      const char* sv8 = sk8 + Tr::kStageElems;
      // V codes -> the fp16 chunk pv_accumulate reads (ldmatrix.trans).
#pragma unroll
      for (int idx = lane; idx < Tr::kChunkKeys * kPieces8; idx += 32) {
        const int row = idx / kPieces8, c = idx % kPieces8;
        uint4 lo, hi;
        e4m3x16_to_half(*reinterpret_cast<const uint4*>(sv8 + row * D + c * 16), lo, hi);
        *reinterpret_cast<uint4*>(sv_fast + swz<D>(row, 2 * c)) = lo;
        *reinterpret_cast<uint4*>(sv_fast + swz<D>(row, 2 * c + 1)) = hi;
      }
      // K codes straight into B fragments: keys fr (tile 0) and fr + 8 (tile 1), 16 codes (4 k
      // steps) per load, in the permuted head-dim order of decode_fp8_fast.h. D 256 (Q read from
      // shared memory per step) keeps the piece loop rolled: unrolled, ptxas spilled 140 bytes
      // (bf16 query; the default fp8 path spills 112), rolled 96.
#pragma unroll(Tr::kQInRegs ? FL::kLanePieces : 1)
      for (int m = 0; m < FL::kLanePieces; ++m) {
        const int piece = FL::kLanePieces * fc + m;
        const uint4 k0 = *reinterpret_cast<const uint4*>(sk8 + fr * D + fast_k_piece<D>(fr, piece) * 16);
        const uint4 k1 = *reinterpret_cast<const uint4*>(sk8 + (fr + 8) * D + fast_k_piece<D>(fr + 8, piece) * 16);
        const uint32_t w0[4] = {k0.x, k0.y, k0.z, k0.w};
        const uint32_t w1[4] = {k1.x, k1.y, k1.z, k1.w};
#pragma unroll
        for (int i2 = 0; i2 < 2; ++i2) {
          const int qm = 2 * m + i2;  // the Q chunk of steps 2 qm, 2 qm + 1
          uint32_t qa[4], qb[4];       // rows fr, fr + 8: words x, y (step 2 qm), z, w (step 2 qm + 1)
          if constexpr (Tr::kQInRegs) {
            qa[0] = qf[2 * qm][0], qa[1] = qf[2 * qm][2], qa[2] = qf[2 * qm + 1][0], qa[3] = qf[2 * qm + 1][2];
            qb[0] = qf[2 * qm][1], qb[1] = qf[2 * qm][3], qb[2] = qf[2 * qm + 1][1], qb[3] = qf[2 * qm + 1][3];
          } else {
            const uint4 ua = *reinterpret_cast<const uint4*>(sQ + swz<D>(fr, fast_q_chunk<D>(fc, qm)));
            const uint4 ub = *reinterpret_cast<const uint4*>(sQ + swz<D>(fr + 8, fast_q_chunk<D>(fc, qm)));
            qa[0] = ua.x, qa[1] = ua.y, qa[2] = ua.z, qa[3] = ua.w;
            qb[0] = ub.x, qb[1] = ub.y, qb[2] = ub.z, qb[3] = ub.w;
          }
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int i = 2 * i2 + h;  // word i of the piece: k step 4 m + i
            const uint32_t a[4] = {qa[2 * h], qb[2 * h], qa[2 * h + 1], qb[2 * h + 1]};
            uint32_t b0, b1, c0, c1;
            e4m3x4_to_half2x2(w0[i], b0, b1);
            e4m3x4_to_half2x2(w1[i], c0, c1);
            MmaOp<__half>::run(s[0], a, b0, b1);
            MmaOp<__half>::run(s[1], a, c0, c1);
          }
        }
      }
      __syncwarp();  // every lane's part of the fp16 V chunk is written
#pragma unroll
      for (int t = 0; t < 2; ++t)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[t][e] *= q_down[e >> 1];  // exact: powers of two
      finish_chunk_scores<D, kFp8>(p, s, st, k_descale, pos0, key_end, page_ok, diag_a, diag_b, diag_lo, diag_hi, right, left);
      pv_accumulate<D, __half>(s[0], s[1], sv_fast, 0, st);  // O += P V, P in fp16
    } else {
      const T* sk;
      if constexpr (kFp8) {
        issue8(j + Tr::kStages - 1);
        dequant_chunk(j);
        __syncwarp();  // every lane's part of the dequantized chunk is written
        sk = sKV;
      } else {
        issue(j + Tr::kStages - 1);
        sk = sKV + (j % Tr::kStages) * 2 * Tr::kStageElems;
      }
      const T* sv = sk + Tr::kStageElems;
      const int pos0 = chunk_pos(j);

      // S = Q K^T: 16 rows x 16 keys (two n8 tiles).
      float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
      const int krow = ((lane >> 4) << 3) + (lane & 7);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t a[4];
        q_fragment<D, Tr::kQInRegs>(qf, sQ, q_row, kk, lane, a);
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4(smem_u32(sk + swz<D>(krow, 2 * kk + ((lane >> 3) & 1))), b0, b1, b2, b3);
        MmaOp<T>::run(s[0], a, b0, b1);
        MmaOp<T>::run(s[1], a, b2, b3);
      }
      finish_chunk_scores<D, kFp8>(p, s, st, k_descale, pos0, key_end, page_ok, diag_a, diag_b, diag_lo, diag_hi, right, left);
      pv_accumulate<D, T>(s[0], s[1], sv, 0, st);  // O += P V
    }
  }
  cp_async_wait<0>();
  if constexpr (kFp8) {
    const float v_descale = kv_descale(p.v_descale, ti.kv_head);
#pragma unroll
    for (int d = 0; d < D / 8; ++d) st.o[d][0] *= v_descale, st.o[d][1] *= v_descale, st.o[d][2] *= v_descale,
                                    st.o[d][3] *= v_descale;
  }
}

// Batches of at most this many requests take the one-round-trip tile decode (decode_tile_small).
constexpr int kSmallBatchReqs = 32;

template <int D, typename T, typename KV, bool kFast>
__global__ void __launch_bounds__(DecodeTraits<D>::kThreads)
    decode_kernel(const __grid_constant__ ForwardParams p) {
  using Tr = DecodeTraits<D>;
  extern __shared__ __align__(128) char smem[];
  __shared__ TileInfo s_tile;
  __shared__ EpilogueShared s_epi;
  __shared__ int s_total_tiles, s_total_q;
  // Programmatic dependent launch, as in forward_kernel.
  pdl_wait();
  pdl_launch_dependents();
  const bool small = p.num_reqs <= kSmallBatchReqs;
  if (!small && threadIdx.x == 0) {
    s_total_tiles = min(__ldg(p.tile_offsets + p.num_reqs), p.max_total_tiles);
    s_total_q = clamp_int(__ldg(p.cu_seqlens_q + p.num_reqs), 0, p.shape.max_num_tokens);
  }
  int tile = static_cast<int>(blockIdx.x);  // meaningful in thread 0
  bool first = true;
  int done_old = -1;  // thread 0: the done counter's value at this CTA's arrival, once it arrived
  FA3_TRACE_AT(p.trace, 0);
#ifdef FA3_TRACE
  int trace_iter = 0;
#endif
  __syncthreads();
#pragma unroll 1
  for (;;) {
    // The next tile id, consumed after this tile (latency hidden); none once this CTA arrived at
    // the done counter, whose last arrival must see every fetch of the launch done.
    int next = 0;
    if (threadIdx.x == 0 && done_old < 0) next = fetch_next_tile(p);
    if (threadIdx.x < 32) {
      if (!small) {
        decode_tile<ForwardTraits<D>, false>(p, s_total_tiles, tile, &s_tile);
      } else if (first || __shfl_sync(0xffffffffu, tile, 0) < s_total_tiles) {
        decode_tile_small<ForwardTraits<D>>(p, tile, first, &s_tile, &s_total_tiles, &s_total_q);
      } else if (threadIdx.x == 0) {
        s_tile.tile = -1;  // past the end: no round trip to find out
      }
    }
    first = false;
#ifdef FA3_TRACE
    if (threadIdx.x == 0) s_tile.trace_base = trace_iter < kTraceTiles ? 16 * trace_iter : -1;
    ++trace_iter;
#endif
    __syncthreads();
    const TileInfo ti = s_tile;
    FA3_TRACE_TILE(p, ti, 1);
    if (ti.tile == -1) break;
    if (ti.tile >= 0) {
      const int64_t lse_stride = s_total_q;  // LSE is [Hq, totalQ]
      TileGeometry geo;  // what store_tile_rows reads: one 16-row slice, four warps on the keys
      geo.warps_m = 1;
      geo.warps_n = Tr::kWarps;
      geo.wm = 0;
      geo.wn = threadIdx.x >> 5;
      float* sO = reinterpret_cast<float*>(smem + Tr::kKVOffset);
#pragma unroll 1
      for (int row0 = 0; row0 < ti.rows; row0 += Tr::kRows) {
        WarpState<D> st;
        const int rows = min(Tr::kRows, ti.rows - row0);
        decode_slice<D, T, KV, kFast>(p, ti, row0, rows, smem, st);
        __syncthreads();  // every warp is out of its K/V stages: the epilogue reuses them
        FA3_TRACE_TILE(p, ti, 4);
        store_tile_rows<ForwardTraits<D>, T>(p, ti, geo, sO, s_epi, st, lse_stride, row0, rows);
        __syncthreads();  // the next slice reloads Q and the K/V stages
      }
      // A CTA whose next tile is past the end leaves after this one: it arrives at the done
      // counter now, so that round trip overlaps the group arrival and the merge instead of
      // following them.
      if (threadIdx.x == 0 && next >= s_total_tiles) done_old = arrive_done(p);
      if (ti.splits > 1 && arrive_at_group<ForwardTraits<D>>(p, ti, &s_epi.last)) {
        merge_group<ForwardTraits<D>, T, Tr::kRegionFloats>(p, ti, reinterpret_cast<int*>(smem),
                                             reinterpret_cast<float*>(smem + Tr::kKVOffset), lse_stride);
        FA3_TRACE_TILE(p, ti, 8);
      }
    }
    tile = next;
    __syncthreads();  // shared tile info and the smem regions are reused by the next tile
    FA3_TRACE_TILE(p, ti, 9);
  }
  if (threadIdx.x == 0) reset_if_last_out(p, done_old >= 0 ? done_old : arrive_done(p));
  FA3_TRACE_AT(p.trace, kTraceSlotsPerCta - 1);
}

// KV: the cache element type (T, or KvFp8 for an fp8 e4m3 cache). An fp8 cache runs the fast
// path when p.kv_fp8_fast asks for it (two kernels per fp8 instantiation, picked per launch).
template <int D, typename T, typename KV = T>
cudaError_t launch_decode(const ForwardParams& p, int sm_count, cudaStream_t stream) {
  using Tr = DecodeTraits<D>;
  if constexpr (KvTraits<KV>::kFp8) {
    if (p.kv_fp8_fast)
      return launch_persistent<decode_kernel<D, T, KV, true>, Tr::kThreads, Tr::kSmemBytes>(p, sm_count, stream);
  }
  return launch_persistent<decode_kernel<D, T, KV, false>, Tr::kThreads, Tr::kSmemBytes>(p, sm_count, stream);
}

}  // namespace fa3
