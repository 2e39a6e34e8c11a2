// Workspace layout: a pure function of the capacities fixed at creation (never of the run-time
// batch), so every address the graph captures stays valid for any batch up to capacity.
//
//   splits       int32 [maxNumReqs]          per-request split count (0 = no work)
//   tileOffsets  int32 [maxNumReqs + 1]      exclusive prefix sum of work tiles, in request order
//   order        int32 [maxNumReqs]          position -> request (longest tiles first, scheduling.h)
//   counters     int32 [kCounterHeader + Hkv * groupsPerHead]
//                  [0] tile counter (persistent CTAs fetch work from it)
//                  [1] done counter (the last CTA of a forward resets [0] and [1])
//                  [kCounterHeader..] per-group arrival counters of the fused split merge
//   oPartial     fp32  [T, Hq, S, D]         split partial outputs (normalised)
//   lsePartial   fp32  [T, Hq, S]            split partial LSE (natural log)
// with S = maxNumSplits and T = maxNumTokens. Every region starts on a 256-byte boundary. The
// split index is innermost so the partials one merge reads (every split of the G heads of one
// token) are one contiguous run: with the split outermost they were S regions Hq x T x D x 4
// bytes apart (128 MiB at T = 8192), a TLB miss per split that made the merge 3-5 us at B = 1.
#pragma once

#include <stdint.h>

#include "scheduling.h"

namespace fa3 {

constexpr int kCounterTile = 0;
constexpr int kCounterDone = 1;
constexpr int kCounterHeader = 8;  // header slots, padded to 32 bytes
constexpr int64_t kRegionAlign = 256;

struct WorkspaceLayout {
  int64_t splits_offset;
  int64_t tile_offsets_offset;
  int64_t order_offset;
  int64_t counters_offset;
  int64_t counters_bytes;
  int64_t o_partial_offset;
  int64_t lse_partial_offset;
  int64_t total_bytes;
  int64_t num_group_counters;  // Hkv * groupsPerHead
};

FA3_HD int64_t align_up(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

FA3_HD WorkspaceLayout workspace_layout(const SchedShape& s) {
  const TileShape t = layout_tile_shape(s.head_dim, qheads_per_kvhead(s));
  const int64_t S = s.max_num_splits < 1 ? 1 : s.max_num_splits;
  WorkspaceLayout l;
  int64_t at = 0;
  l.splits_offset = at;
  at = align_up(at + 4 * static_cast<int64_t>(s.max_num_reqs), kRegionAlign);
  l.tile_offsets_offset = at;
  at = align_up(at + 4 * (static_cast<int64_t>(s.max_num_reqs) + 1), kRegionAlign);
  l.order_offset = at;
  at = align_up(at + 4 * static_cast<int64_t>(s.max_num_reqs), kRegionAlign);
  l.counters_offset = at;
  l.num_group_counters = static_cast<int64_t>(s.num_heads_kv) * groups_per_head(s, t);
  l.counters_bytes = 4 * (kCounterHeader + l.num_group_counters);
  at = align_up(at + l.counters_bytes, kRegionAlign);
  l.o_partial_offset = at;
  at = align_up(at + 4 * S * s.num_heads_q * static_cast<int64_t>(s.max_num_tokens) * s.head_dim, kRegionAlign);
  l.lse_partial_offset = at;
  at = align_up(at + 4 * S * s.num_heads_q * static_cast<int64_t>(s.max_num_tokens), kRegionAlign);
  l.total_bytes = at;
  return l;
}

}  // namespace fa3
