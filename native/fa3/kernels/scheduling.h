// Scheduling maths: the one definition of tile sizes, the host split heuristic, the per-request
// dynamic split, the work-tile numbering and each split's KV range. Integer arithmetic only and
// __host__ __device__, so the host heuristic (`resolve_num_splits`), the host mirror
// (`plan_splits_host` in api.cu, which `planSplits` in packages/fa3 mirrors bit for bit), the
// prepare kernel and the forward kernel all run this same code.
//
// Tile order (FA3 style, longest first):
//   - requests in `order` (prepare writes it): the longest tiles first, so the persistent CTAs
//     start the long tiles early and the short ones fill the tail (`order_key` below);
//     tileOffsets[i] is the first tile of the request order[i];
//   - inside a request: split fastest, then KV head within a section of hs heads, then m block,
//     then section, with a causal request's m blocks from the last (they see the most keys) to
//     the first:
//       tile - tileOffsets[i] = (h0 * m_blocks + m_rank * hs' + head - h0) * splits + split,
//       m_block = causal ? m_blocks - 1 - m_rank : m_rank,
//     h0 = the section's first head, hs' its heads (hs but in a last, smaller section).
//     hs = heads_per_section: as many KV heads as keep their K / V within 32 MiB of L2 at the
//     request's k_len (all of them up to 4k at D 128), so the CTAs running at once share those
//     heads' K / V in L2. With every head in one section, a 16k prompt's CTAs streamed 64 MB of
//     K / V at once, past the 50 MB L2 (run AF's profile: 80% L2 hits, cuDNN 97%); one head at
//     a time instead started the last head's longest tiles near the end (run AG: causal 4k 9%
//     slower).
#pragma once

#include <stdint.h>

#include "forward_kernel_list.h"

#if defined(__CUDACC__)
#define FA3_HD __host__ __device__ __forceinline__
#else
#define FA3_HD inline
#endif

namespace fa3 {

// FA3 packs the split count into 8 bits; the same cap bounds maxNumSplits here.
constexpr int kMaxSplitsLimit = 256;
// Host heuristic never proposes more splits than this (FA3's cap).
constexpr int kHeuristicMaxSplits = 128;
// Work-tile slots per SM the scheduling maths fills. FA3 runs one CTA per SM and sizes splits by
// the SM count; our forward kernel runs two CTAs per SM (D <= 128; D = 192 and 256 run one and
// are then over-split 2x, which only makes their tiles smaller), so sizing by SMs left half of the CTAs idle
// at small batch. Every place that used smCount in the maths uses ctaSlots = 2 x smCount.
constexpr int kCtaSlotsPerSm = 2;

struct TileShape {
  int block_m;  // packed query rows (query token x query head of one KV head) per work tile
  int block_n;  // KV tokens per KV block
};

// The forward kernels (forward_kernel_list.h lists their instantiations). One contract, three
// kernels: `general` (mma.sync, 64-row tiles, any step), `decode` (<= 16 packed rows at a time,
// same tiles), `wgmma` (FA3-style warp-specialized prefill on 128-row tiles).
enum ForwardKernel : int { kKernelGeneral = 0, kKernelDecode = 1, kKernelWgmma = 2 };
// What the caller (FLASHGRAPH_FA3_KERNEL) asks for; auto picks by the step's shape.
enum KernelRequest : int { kRequestAuto = 0, kRequestGeneral = 1, kRequestDecode = 2, kRequestWgmma = 3 };
// Auto picks the wgmma kernel for prefill-shaped steps at the head dims it has (the one switch,
// flipped after its device checks: native/fa3/README.md; false puts the general kernel back).
// FLASHGRAPH_FA3_KERNEL=general forces the general kernel for comparisons. WGMMA_BY_DEFAULT in
// packages/fa3/src/forward-kernel.ts is its TypeScript copy (a test pins the two together).
constexpr bool kWgmmaByDefault = true;

#define FA3_KERNEL_ID_general kKernelGeneral
#define FA3_KERNEL_ID_decode kKernelDecode
#define FA3_KERNEL_ID_wgmma kKernelWgmma
#define FA3_HAS_HEAD_DIM(kernel, d, dtype) || (k == FA3_KERNEL_ID_##kernel && head_dim == d)
// Whether forward_kernel_list.h instantiates `kernel` at this head dim (for both dtypes).
FA3_HD constexpr bool kernel_has_head_dim(int k, int head_dim) { return false FA3_FORWARD_KERNELS(FA3_HAS_HEAD_DIM); }
#undef FA3_HAS_HEAD_DIM
// The head dims fa3 accepts: the general kernel's (it runs every step the others do not). The
// decode kernel is picked by shape alone, so it must have each of them too.
FA3_HD constexpr bool head_dim_supported(int head_dim) { return kernel_has_head_dim(kKernelGeneral, head_dim); }
#define FA3_DECODE_COVERS(kernel, d, dtype) \
  static_assert(FA3_KERNEL_ID_##kernel != kKernelGeneral || kernel_has_head_dim(kKernelDecode, d), \
                "forward_kernel_list.h: the decode kernel needs every head dim of the general kernel");
FA3_FORWARD_KERNELS(FA3_DECODE_COVERS)
#undef FA3_DECODE_COVERS

// Which forward kernel runs a step: the decode kernel when every request's packed query rows
// (query tokens x G, bounded by the host's maxSeqlenQ) fit one 16-row MMA slice, else the
// general kernel (or the wgmma kernel once kWgmmaByDefault); a request forces one, and the wgmma
// kernel falls back to the general one at a head dim it lacks. Every kernel is exact for any
// device data (an understated maxSeqlenQ costs time only); this only picks the faster one.
// THE kernel choice: prepare, forward, tile_shape's callers and the TS mirror all go through it.
constexpr int kDecodeMaxRows = 16;
FA3_HD constexpr bool decode_kernel_fits(int max_seqlen_q, int qheads_per_kvhead) {
  return static_cast<int64_t>(max_seqlen_q) * qheads_per_kvhead <= kDecodeMaxRows;
}
FA3_HD constexpr int choose_forward_kernel(int max_seqlen_q, int qheads_per_kvhead, int head_dim, int request) {
  return request == kRequestGeneral  ? kKernelGeneral
         : request == kRequestDecode ? kKernelDecode
         : request == kRequestWgmma  ? (kernel_has_head_dim(kKernelWgmma, head_dim) ? kKernelWgmma : kKernelGeneral)
         : decode_kernel_fits(max_seqlen_q, qheads_per_kvhead) ? kKernelDecode
         : kWgmmaByDefault && kernel_has_head_dim(kKernelWgmma, head_dim) ? kKernelWgmma
                                                                          : kKernelGeneral;
}

// The kernel a step runs over an fp8 KV cache: the wgmma kernel has no fp8 instantiation
// (FA3_FP8_KV_KERNELS in forward_kernel_list.h), so its steps run the general kernel there.
FA3_HD constexpr int kernel_for_kv(int kernel, bool kv_fp8) {
  return kv_fp8 && kernel == kKernelWgmma ? kKernelGeneral : kernel;
}

// THE tile-size function of each kernel. general / decode: 64 packed rows per tile (four warps of
// 16 rows); KV blocks of 128 keys at D = 64 and of 64 keys above (32 KiB per K+V stage at
// D = 64 / 128, so two CTAs fit on an SM with a 3-stage pipeline; 24 KiB at D = 96, 48 KiB at
// D = 192, 64 KiB at D = 256). wgmma: 128 rows (two consumer warpgroups of 64) and 128 keys per
// block, 64 at D = 256 (K and V rings of 2 stages each and the Q tile fit one SM's shared memory,
// one CTA per SM). qheads_per_kvhead is part of the signature so a future G-dependent shape
// changes one place.
FA3_HD constexpr TileShape tile_shape(int kernel, int head_dim, int qheads_per_kvhead) {
  return (void)qheads_per_kvhead, kernel == kKernelWgmma ? TileShape{128, head_dim <= 128 ? 128 : 64}
                                                         : TileShape{64, head_dim <= 64 ? 128 : 64};
}
// The smallest tiles any kernel uses: the capacity-only layout sizes the merge counters and the
// tile bound for these (a kernel with larger tiles needs fewer).
FA3_HD constexpr TileShape layout_tile_shape(int head_dim, int qheads_per_kvhead) {
  return tile_shape(kKernelGeneral, head_dim, qheads_per_kvhead);
}

FA3_HD int64_t ceil_div64(int64_t a, int64_t b) { return (a + b - 1) / b; }
FA3_HD int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
FA3_HD int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
FA3_HD int clamp_int(int64_t x, int64_t lo, int64_t hi) {
  return static_cast<int>(x < lo ? lo : (x > hi ? hi : x));
}

// The capacities and head geometry the scheduling maths needs (a subset of the addon's Caps).
struct SchedShape {
  int num_heads_q;
  int num_heads_kv;
  int head_dim;
  int page_size;
  int max_num_reqs;
  int max_num_tokens;
  int max_num_pages_per_req;
  int max_num_splits;
};

FA3_HD int qheads_per_kvhead(const SchedShape& s) { return s.num_heads_q / s.num_heads_kv; }

// ctaSlots = kCtaSlotsPerSm x smCount (smCount < 1 counts as 1).
FA3_HD int64_t cta_slots(int sm_count) { return static_cast<int64_t>(sm_count < 1 ? 1 : sm_count) * kCtaSlotsPerSm; }

// Request b's lengths as every stage sees them. For valid input (0 <= cu monotone <= maxNumTokens,
// 0 <= seqLens <= maxNumPagesPerReq * pageSize) this is exactly cu[b+1]-cu[b] and seqLens[b]; bad
// device data is clamped into capacity so it can cost correctness, never memory safety.
struct RequestLens {
  int q_start;
  int q_len;
  int k_len;
};

// A batch whose cuSeqlensQ descends anywhere (cu[b + 1] < cu[b]; valid offsets never do) is
// planned as if every cuSeqlensQ entry were 0: no query tokens, no tiles. Its clamped ranges could
// overlap, and their tiles sum past what the capacities bound (past int32, into negative tile
// offsets). plan_splits_host and the prepare kernel apply the same rule.
FA3_HD bool cu_descends(int cu_b, int cu_b1) { return cu_b1 < cu_b; }

FA3_HD RequestLens request_lens(int cu_b, int cu_b1, int seq_len, const SchedShape& s) {
  RequestLens r;
  r.q_start = clamp_int(cu_b, 0, s.max_num_tokens);
  int q_end = clamp_int(cu_b1, r.q_start, s.max_num_tokens);
  r.q_len = q_end - r.q_start;
  r.k_len = clamp_int(seq_len, 0, static_cast<int64_t>(s.max_num_pages_per_req) * s.page_size);
  return r;
}

// m_b: packed query blocks of a request; n_b: KV blocks.
FA3_HD int m_blocks(int q_len, int g, const TileShape& t) {
  return static_cast<int>(ceil_div64(static_cast<int64_t>(q_len) * g, t.block_m));
}
FA3_HD int n_blocks(int k_len, const TileShape& t) {
  return static_cast<int>(ceil_div64(k_len, t.block_n));
}

// Step bound (host): numSplits >= 1 is used as given (clamped to capacity; the TS layer rejects
// larger values). numSplits == 0: FA3's wave-efficiency heuristic with batch taken as 1 (splitting
// is dynamic per request), efficiencies compared exactly by integer cross-multiplication, over
// ctaSlots (not SMs: see kCtaSlotsPerSm).
FA3_HD int resolve_num_splits(const SchedShape& s, const TileShape& t, int num_splits, int max_seqlen_q,
                              int max_seqlen_k, int sm_count) {
  const int cap = s.max_num_splits < 1 ? 1 : s.max_num_splits;
  if (num_splits >= 1) return clamp_int(num_splits, 1, cap);
  if (sm_count < 1) return 1;
  const int64_t slots = cta_slots(sm_count);
  const int g = qheads_per_kvhead(s);
  const int64_t total_m = static_cast<int64_t>(s.num_heads_kv) *
                          ceil_div64(static_cast<int64_t>(max64(max_seqlen_q, 0)) * g, t.block_m);
  const int64_t num_n = ceil_div64(max64(max_seqlen_k, 0), t.block_n);
  if (10 * total_m >= 8 * slots || num_n <= 4) return 1;
  const int64_t max_s = min64(min64(kHeuristicMaxSplits, slots), min64(num_n, cap));
  // eff(s) = w / (slots * ceil(w / slots)) kept as the fraction num/den.
  int64_t best_num = 0, best_den = 1;
  for (int64_t sp = 1; sp <= max_s; ++sp) {
    if (sp > 1 && ceil_div64(num_n, sp) == ceil_div64(num_n, sp - 1)) continue;
    const int64_t w = total_m * sp;
    const int64_t den = slots * ceil_div64(w, slots);
    if (w * best_den > best_num * den) { best_num = w; best_den = den; }
  }
  for (int64_t sp = 1; sp <= max_s; ++sp) {
    if (sp > 1 && ceil_div64(num_n, sp) == ceil_div64(num_n, sp - 1)) continue;
    const int64_t w = total_m * sp;
    const int64_t den = slots * ceil_div64(w, slots);
    // w / den >= 0.85 * best_num / best_den
    if (100 * w * best_den >= 85 * best_num * den) return clamp_int(sp, 1, cap);
  }
  return 1;
}

// The per-step bound every device stage uses: min(stepBound, maxNumSplits), at least 1.
FA3_HD int split_bound(int num_splits_bound, const SchedShape& s) {
  const int cap = s.max_num_splits < 1 ? 1 : s.max_num_splits;
  return clamp_int(num_splits_bound, 1, cap);
}

// One request's share of the work: m_b * n_b * numHeadsKv.
FA3_HD int64_t request_work(const RequestLens& r, const SchedShape& s, const TileShape& t) {
  return static_cast<int64_t>(m_blocks(r.q_len, qheads_per_kvhead(s), t)) * n_blocks(r.k_len, t) *
         s.num_heads_kv;
}

// blocksPerSlot = max(1, ceil(totalWork * 11 / (10 * ctaSlots))) (FA3's blocks_per_sm, per CTA slot).
FA3_HD int64_t blocks_per_sm(int64_t total_work, int sm_count) {
  return max64(1, ceil_div64(total_work * 11, 10 * cta_slots(sm_count)));
}

// Small batches (numReqs <= kFillMaxReqs, the latency-bound decode case): FA3's blocks per slot can
// leave CTA slots idle and unbalanced (B=1 4k: 176 tiles of 3 KV blocks for 264 slots, so 44 SMs
// run two tiles and straggle). There the scheduler takes the smallest blocks-per-slot in
// [ceil(totalWork / ctaSlots), FA3's value] whose tiles (with the splits clamped to the bound)
// still fit the slots: one balanced wave of smaller tiles. The tile count never grows with
// blocks-per-slot, so a binary search finds it; `tiles_at(bps)` sums the batch's tiles. Larger
// batches keep FA3's value (they fill the machine anyway, and the search would cost a pass over
// every request per probe).
constexpr int kFillMaxReqs = 32;
constexpr int64_t kFillMaxWork = int64_t(1) << 48;  // and total work <= 2^48 (exact in a JS number)
FA3_HD bool use_fill_rule(int num_reqs, int64_t total_work) {
  return num_reqs <= kFillMaxReqs && total_work <= kFillMaxWork;
}

template <typename TilesAt>
FA3_HD int64_t fill_blocks_per_slot(int64_t total_work, int sm_count, TilesAt tiles_at) {
  const int64_t slots = cta_slots(sm_count);
  int64_t lo = max64(1, ceil_div64(total_work, slots));
  int64_t hi = blocks_per_sm(total_work, sm_count);
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (tiles_at(mid) <= slots)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

// splits[b]: 0 for a request with no queries (it produces no tiles), else
// clamp(ceil(n_b / blocksPerSm), 1, bound).
FA3_HD int request_splits(const RequestLens& r, int64_t bps, int bound, const TileShape& t) {
  if (r.q_len == 0) return 0;
  return clamp_int(ceil_div64(n_blocks(r.k_len, t), bps), 1, bound);
}

// tiles_b = numHeadsKv * m_b * splits[b].
FA3_HD int64_t request_tiles(const RequestLens& r, int splits, const SchedShape& s, const TileShape& t) {
  return static_cast<int64_t>(s.num_heads_kv) * m_blocks(r.q_len, qheads_per_kvhead(s), t) * splits;
}

// Decoding a tile's position inside its request (see the order at the top of this file).
struct TileCoord {
  int kv_head;
  int m_block;  // >= m_b: a tile no valid metadata produces
  int split;
};

// KV heads per L2 section of a request (the tile order at the top of this file): as many as keep
// their K and V (2-byte elements; an fp8 cache only fits more) within kL2SectionBytes at this
// k_len, at least 1 and at most Hkv. FA3's LPT scheduler sizes its head sections the same way.
constexpr int64_t kL2SectionBytes = int64_t{32} << 20;
FA3_HD int heads_per_section(int k_len, int head_dim, int num_heads_kv) {
  const int64_t per_head = int64_t{4} * (k_len > 1 ? k_len : 1) * (head_dim > 1 ? head_dim : 1);
  const int64_t h = kL2SectionBytes / per_head;
  return h < 1 ? 1 : (h >= num_heads_kv ? num_heads_kv : static_cast<int>(h));
}

// m_b >= 1, 1 <= hs <= num_heads_kv (heads_per_section). A position past the request's tiles
// (corrupt metadata) gets m_block >= m_b and a KV head in range, so its caller drops it.
FA3_HD TileCoord tile_coord(int within, int splits, int m_b, int num_heads_kv, int hs, bool causal) {
  TileCoord c;
  c.split = within % splits;
  const int rest = within / splits;
  // Sections of hs heads (the last may hold fewer); past the end stays in the last section.
  const int section = static_cast<int>(min64(rest / (hs * m_b), (num_heads_kv - 1) / hs));
  const int h0 = section * hs, heads = static_cast<int>(min64(hs, num_heads_kv - h0));
  const int r = rest - h0 * m_b;
  const int m_rank = r / heads;
  c.kv_head = h0 + r % heads;
  c.m_block = m_rank >= m_b ? m_b : (causal ? m_b - 1 - m_rank : m_rank);
  return c;
}

// Request order: the steps of the general and wgmma kernels (prefill, mixed batches) with up to
// kOrderMaxReqs requests are sorted by their tiles' length in KV blocks (ceil(n_b / splits),
// clamped to kOrderMaxLen), longest first, ties by request index; one 31-bit key per request makes
// the order unique (descending keys). Decode steps (the decode kernel: one m block per request,
// lengths balanced by the splits, the prepare kernel on the step's latency path) and larger
// batches keep the request order (order[i] = i). Every position past numReqs maps to itself.
constexpr int kOrderMaxReqs = 4096;
constexpr int kOrderIndexBits = 12;
constexpr int kOrderMaxLen = (1 << 19) - 1;
static_assert(kOrderMaxReqs == 1 << kOrderIndexBits, "the request index fits the key's low bits");
FA3_HD bool use_request_order(int num_reqs, int kernel) {
  return kernel != kKernelDecode && num_reqs <= kOrderMaxReqs;
}
FA3_HD int tile_blocks(const RequestLens& r, int splits, const TileShape& t) {
  if (splits <= 0) return 0;
  const int nb = n_blocks(r.k_len, t);
  return nb / splits + (nb % splits != 0 ? 1 : 0);
}
FA3_HD unsigned order_key(int blocks, int b) {
  const unsigned len = static_cast<unsigned>(blocks < kOrderMaxLen ? blocks : kOrderMaxLen);
  return (len << kOrderIndexBits) | static_cast<unsigned>(kOrderMaxReqs - 1 - b);
}
FA3_HD int order_key_request(unsigned key) {
  return kOrderMaxReqs - 1 - static_cast<int>(key & (kOrderMaxReqs - 1));
}

// Split s covers KV blocks [s * nPer, min(n_b, (s + 1) * nPer)), nPer = ceil(n_b / splits).
struct BlockRange {
  int begin;
  int end;  // begin >= end: an empty share (it writes LSE = -inf)
};

FA3_HD BlockRange split_block_range(int n_b, int splits, int split) {
  // 32-bit division (n_b >= 0, splits >= 1): the forward kernels run this once per tile, and a
  // 64-bit division is a long cold subroutine there.
  const int per = n_b / splits + (n_b % splits != 0 ? 1 : 0);
  BlockRange r;
  r.begin = static_cast<int>(min64(static_cast<int64_t>(split) * per, n_b));
  r.end = static_cast<int>(min64(static_cast<int64_t>(r.begin) + per, n_b));
  return r;
}

// The fused merge keeps one arrival counter per (KV head, request, m block) group. Slot of a
// group: kv_head * groups_per_head + floor(q_start * G / blockM) + b + m_block, unique because
// floor(x) + ceil(y) <= floor(x + y) + 1, and < groups_per_head for q_start + q_len <= T.
FA3_HD int64_t groups_per_head(const SchedShape& s, const TileShape& t) {
  return static_cast<int64_t>(s.max_num_tokens) * qheads_per_kvhead(s) / t.block_m + s.max_num_reqs + 1;
}
FA3_HD int64_t group_slot(const SchedShape& s, const TileShape& t, int b, const RequestLens& r,
                          const TileCoord& c) {
  return c.kv_head * groups_per_head(s, t) +
         static_cast<int64_t>(r.q_start) * qheads_per_kvhead(s) / t.block_m + b + c.m_block;
}

// Upper bound on the number of work tiles any metadata can describe for these capacities; the
// forward kernel clamps totalTiles to it.
FA3_HD int64_t max_total_tiles(const SchedShape& s, const TileShape& t) {
  const int cap = s.max_num_splits < 1 ? 1 : s.max_num_splits;
  return static_cast<int64_t>(s.num_heads_kv) * cap * (groups_per_head(s, t) - 1);
}

}  // namespace fa3
