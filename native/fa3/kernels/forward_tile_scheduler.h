// Tile scheduler of the persistent forward kernels: CTA i starts with tile i and then takes
// gridDim + (atomic tile counter) (each fetch is issued one tile ahead, so its round trip hides
// behind the current tile); finds a tile's position in the request order by a 32-way search of
// tileOffsets and its request through `order` (scheduling.h: longest tiles first), decodes
// (KV head, m block, split), narrows the split's KV blocks to those the tile's rows can see
// (causal / window), and resets the counters when the last CTA of the launch leaves, so the next
// forward (next layer, next graph replay) starts from zero without another prepare.
#pragma once

#include <stdint.h>

#include "forward_params.h"

namespace fa3 {

struct TileInfo {
  int tile;        // -1: no more work
  int req;         // request b
  int q_start;     // first query token of the request
  int q_len;
  int k_len;
  int kv_head;
  int m_block;
  int split;
  int splits;      // clamped to [1, split_bound]
  int block_begin; // KV blocks [block_begin, block_end) this tile processes
  int block_end;
  int rows;        // valid packed rows in this tile, 1..blockM
  int64_t group;   // fused-merge counter slot (only when splits > 1)
#ifdef FA3_TRACE
  int trace_base;  // first trace slot of this tile (16 per tile), -1 past kTraceTiles
#endif
};

// The next tile id: issued by thread 0 at the start of the current tile, consumed after it.
__device__ __forceinline__ int fetch_next_tile(const ForwardParams& p) {
  return static_cast<int>(gridDim.x) + atomicAdd(p.counters + kCounterTile, 1);
}

// The TileInfo of `tile` inside request b, from b's metadata words (cuSeqlensQ[b], [b + 1],
// seqLens[b], splits[b], and tileOffsets at b's position in the order): (KV head, m block, split),
// the split's KV blocks narrowed to those the tile's rows can see (causal / window), rows and the
// merge group; tile = -2 for a tile no valid metadata can produce. Shared by both request
// searches below and by every forward kernel (Tr: its traits; the tile shape is Tr's).
template <class Tr>
__device__ __forceinline__ void tile_from_request(const ForwardParams& p, int tile, int b, int cu_b, int cu_b1,
                                                  int seq_len, int splits_raw, int tile_offset, TileInfo& info) {
  const SchedShape& s = p.shape;
  const TileShape ts{Tr::kBlockM, Tr::kBlockN};
  const int g = qheads_per_kvhead(s);
  const RequestLens r = request_lens(cu_b, cu_b1, seq_len, s);
  const int splits = clamp_int(splits_raw, 1, p.split_bound);
  const int mb = m_blocks(r.q_len, g, ts);
  const int within = tile - tile_offset;
  if (mb > 0 && within >= 0) {
    const TileCoord c =
        tile_coord(within, splits, mb, s.num_heads_kv, heads_per_section(r.k_len, s.head_dim, s.num_heads_kv),
                   p.causal != 0);
    if (c.m_block < mb) {
      const int nb = n_blocks(r.k_len, ts);
      const BlockRange range = split_block_range(nb, splits, c.split);
      const int rows = min(Tr::kBlockM, r.q_len * g - c.m_block * Tr::kBlockM);
      // Keys the tile's rows may see: row token i sees [diag_i - left, diag_i + right] with
      // diag_i = k_len - q_len + i (bottom-right aligned); causal means right = 0.
      const int i_lo = c.m_block * Tr::kBlockM / g;
      const int i_hi = (c.m_block * Tr::kBlockM + rows - 1) / g;
      const int64_t diag_lo = static_cast<int64_t>(r.k_len) - r.q_len + i_lo;
      const int64_t diag_hi = static_cast<int64_t>(r.k_len) - r.q_len + i_hi;
      const int right = p.causal ? 0 : p.window_right;
      int64_t key_hi = r.k_len - 1;
      if (right >= 0) key_hi = min64(key_hi, diag_hi + right);
      int64_t key_lo = 0;
      if (p.window_left >= 0) key_lo = max64(0, diag_lo - p.window_left);
      int begin = range.begin, end = range.end;
      if (key_hi < key_lo) {
        end = begin;
      } else {
        begin = max(begin, static_cast<int>(key_lo / Tr::kBlockN));
        end = min(end, static_cast<int>(key_hi / Tr::kBlockN) + 1);
      }
      info.tile = tile;
      info.req = b;
      info.q_start = r.q_start;
      info.q_len = r.q_len;
      info.k_len = r.k_len;
      info.kv_head = c.kv_head;
      info.m_block = c.m_block;
      info.split = c.split;
      info.splits = splits;
      info.block_begin = begin;
      info.block_end = max(begin, end);
      info.rows = rows;
      info.group = group_slot(s, ts, b, r, c);
      // A tile no valid metadata can produce is dropped (costs correctness, never safety).
      if (info.group >= static_cast<int64_t>(s.num_heads_kv) * groups_per_head(s, ts)) info.tile = -2;
    } else {
      info.tile = -2;
    }
  } else {
    info.tile = -2;
  }
}

// The request at position i of the order, clamped to [0, numReqs) (corrupt metadata costs
// correctness, never safety).
__device__ __forceinline__ int ordered_request(const ForwardParams& p, int i) {
  return clamp_int(__ldg(p.order + i), 0, p.num_reqs - 1);
}

// Called by one whole warp with the tile id in lane 0; lane 0 ends with the result in *out.
// kSpeculative (a CTA's first tile): the metadata loads do not wait for totalTiles (its load is
// still in flight), so both round trips overlap; the tile is dropped at the end if it is past
// totalTiles. Every index stays inside the metadata arrays either way (the search is bounded by
// numReqs), so a speculative decode of a tile past the end reads nothing it should not.
template <class Tr, bool kSpeculative>
__device__ __forceinline__ void decode_tile(const ForwardParams& p, int total_tiles, int tile, TileInfo* out) {
  const int lane = threadIdx.x & 31;
  tile = __shfl_sync(0xffffffffu, tile, 0);
  TileInfo info;
  info.tile = -1;
  if (tile >= 0 && (kSpeculative ? p.num_reqs > 0 : tile < total_tiles)) {
    // Largest position i in [0, num_reqs) with tileOffsets[i] <= tile; 32 probes per round.
    int lo = 0, hi = p.num_reqs;
    while (hi - lo > 1) {
      const int step = (hi - lo + 31) / 32;
      const int idx = lo + lane * step;
      const bool pred = idx < hi && (lane == 0 || __ldg(p.tile_offsets + idx) <= tile);
      const unsigned ballot = __ballot_sync(0xffffffffu, pred);
      const int last = 31 - __clz(ballot);
      lo = lo + last * step;
      hi = min(hi, lo + step);
    }
    const int b = ordered_request(p, lo);
    const int cu_b = __ldg(p.cu_seqlens_q + b), cu_b1 = __ldg(p.cu_seqlens_q + b + 1);
    const int seq_len = __ldg(p.seq_lens + b), splits = __ldg(p.splits + b);
    tile_from_request<Tr>(p, tile, b, cu_b, cu_b1, seq_len, splits, __ldg(p.tile_offsets + lo), info);
  }
  if (kSpeculative && tile >= total_tiles) info.tile = -1;
  if (lane == 0) *out = info;
}

// The small-batch decode (numReqs <= 32, one request per lane) in ONE round trip: lane l loads
// tileOffsets[l + 1] and order[l] (position l of the order), cuSeqlensQ[l + 1], seqLens[l] and
// splits[l] (request l; lane 0 also the two [0] words), all independent. The position is the
// first l with tile < tileOffsets[l + 1] (the same as the search above for monotone offsets; any
// it finds is < numReqs), its request b = order[l] (clamped), and b's words come from lane b by
// shuffles. totalTiles and totalQ (the LSE stride) fall out of the same loads, so the kernel
// needs no separate load for them. Called by one whole warp with the tile id in lane 0; lane 0
// writes *out and, on a CTA's first decode (`first`; they never change), *total and *total_q.
template <class Tr>
__device__ __forceinline__ void decode_tile_small(const ForwardParams& p, int tile, bool first, TileInfo* out,
                                                  int* total, int* total_q) {
  const int lane = threadIdx.x & 31;
  const int n = p.num_reqs;  // 0..32
  tile = __shfl_sync(0xffffffffu, tile, 0);
  const bool mine = lane < n;
  const int to_next = mine ? __ldg(p.tile_offsets + lane + 1) : 0;
  const int ord = mine ? __ldg(p.order + lane) : 0;
  const int cu_next = mine ? __ldg(p.cu_seqlens_q + lane + 1) : 0;
  const int seq = mine ? __ldg(p.seq_lens + lane) : 0;
  const int sp = mine ? __ldg(p.splits + lane) : 0;
  const int to0 = lane == 0 && n > 0 ? __ldg(p.tile_offsets) : 0;
  const int cu0 = lane == 0 && n > 0 ? __ldg(p.cu_seqlens_q) : 0;
  const int last = n > 0 ? n - 1 : 0;
  const int tiles = n > 0 ? min(__shfl_sync(0xffffffffu, to_next, last), p.max_total_tiles) : 0;
  const int tq = n > 0 ? clamp_int(__shfl_sync(0xffffffffu, cu_next, last), 0, p.shape.max_num_tokens) : 0;
  const unsigned hit = __ballot_sync(0xffffffffu, mine && tile < to_next);
  TileInfo info;
  info.tile = -1;
  if (hit != 0 && tile >= 0 && tile < tiles) {
    const int i = __ffs(hit) - 1;
    const int to_prev = __shfl_sync(0xffffffffu, to_next, i > 0 ? i - 1 : 0);
    const int to_i = i > 0 ? to_prev : __shfl_sync(0xffffffffu, to0, 0);
    const int b = clamp_int(__shfl_sync(0xffffffffu, ord, i), 0, n - 1);
    const int cu_prev = __shfl_sync(0xffffffffu, cu_next, b > 0 ? b - 1 : 0);
    const int cu_b = b > 0 ? cu_prev : __shfl_sync(0xffffffffu, cu0, 0);
    tile_from_request<Tr>(p, tile, b, cu_b, __shfl_sync(0xffffffffu, cu_next, b), __shfl_sync(0xffffffffu, seq, b),
                          __shfl_sync(0xffffffffu, sp, b), to_i, info);
  }
  if (lane == 0) {
    *out = info;
    if (first) {
      *total = tiles;
      *total_q = tq;
    }
  }
}

// Last CTA out resets the tile and done counters. Every CTA's final tile fetch has returned
// (its value ended the loop) before its arrival is issued, so the last arrival sees every fetch
// done: no fence is needed (a fence here waited for the CTA's output stores, ~1 us on the
// critical path of the last CTA). The kernel boundary publishes the resets. Split in two so a
// CTA that knows it is leaving can arrive early and check the result later (decode_kernel).
__device__ __forceinline__ int arrive_done(const ForwardParams& p) { return atomicAdd(p.counters + kCounterDone, 1); }
__device__ __forceinline__ void reset_if_last_out(const ForwardParams& p, int old) {
  if (old == static_cast<int>(gridDim.x) - 1) {
    atomicExch(p.counters + kCounterTile, 0);
    atomicExch(p.counters + kCounterDone, 0);
  }
}
__device__ __forceinline__ void finish_forward(const ForwardParams& p) {
  if (threadIdx.x == 0) reset_if_last_out(p, arrive_done(p));
}

}  // namespace fa3
