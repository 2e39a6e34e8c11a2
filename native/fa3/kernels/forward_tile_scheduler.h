// Tile scheduler of the persistent forward kernel: CTA i starts with tile i and then takes
// gridDim + (atomic tile counter) (each fetch is issued one tile ahead, so its round trip hides
// behind the current tile); finds a tile's request by a 32-way search of tileOffsets, decodes
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

// Called by one whole warp with the tile id in lane 0; lane 0 ends with the result in *out.
// kSpeculative (a CTA's first tile): the metadata loads do not wait for totalTiles (its load is
// still in flight), so both round trips overlap; the tile is dropped at the end if it is past
// totalTiles. Every index stays inside the metadata arrays either way (the search is bounded by
// numReqs), so a speculative decode of a tile past the end reads nothing it should not.
template <int D, bool kSpeculative>
__device__ __forceinline__ void decode_tile(const ForwardParams& p, int total_tiles, int tile, TileInfo* out) {
  using Tr = ForwardTraits<D>;
  const int lane = threadIdx.x & 31;
  tile = __shfl_sync(0xffffffffu, tile, 0);
  TileInfo info;
  info.tile = -1;
  if (tile >= 0 && (kSpeculative ? p.num_reqs > 0 : tile < total_tiles)) {
    // Largest b in [0, num_reqs) with tileOffsets[b] <= tile; 32 probes per round.
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
    const int b = lo;
    const SchedShape& s = p.shape;
    const TileShape ts = tile_shape(D, qheads_per_kvhead(s));
    const int g = qheads_per_kvhead(s);
    const RequestLens r = request_lens(__ldg(p.cu_seqlens_q + b), __ldg(p.cu_seqlens_q + b + 1),
                                       __ldg(p.seq_lens + b), s);
    const int splits = clamp_int(__ldg(p.splits + b), 1, p.split_bound);
    const int mb = m_blocks(r.q_len, g, ts);
    const int within = tile - __ldg(p.tile_offsets + b);
    if (mb > 0 && within >= 0) {
      const TileCoord c = tile_coord(within, splits, mb);
      if (c.kv_head < s.num_heads_kv) {
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
  if (kSpeculative && tile >= total_tiles) info.tile = -1;
  if (lane == 0) *out = info;
}

// Last CTA out resets the tile and done counters. Every CTA's final tile fetch has returned
// (its value ended the loop) before its arrival is issued, so the last arrival sees every fetch
// done: no fence is needed (a fence here waited for the CTA's output stores, ~1 us on the
// critical path of the last CTA). The kernel boundary publishes the resets.
__device__ __forceinline__ void finish_forward(const ForwardParams& p) {
  if (threadIdx.x == 0) {
    const int old = atomicAdd(p.counters + kCounterDone, 1);
    if (old == static_cast<int>(gridDim.x) - 1) {
      atomicExch(p.counters + kCounterTile, 0);
      atomicExch(p.counters + kCounterDone, 0);
    }
  }
}

}  // namespace fa3
