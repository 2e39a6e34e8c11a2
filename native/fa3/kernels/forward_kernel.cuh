// The persistent forward kernel of one (head dim, dtype) instantiation and its launcher: every
// CTA loops fetch tile -> main loop -> epilogue until the tile counter runs past totalTiles, then
// the last CTA out resets the counters. The grid (persistent_launch.h) never depends on the batch.
// Decode steps (maxSeqlenQ x G <= 16) run decode_kernel.cuh instead.
// Included only by forward_instantiate_*.cu (explicit instantiations).
#pragma once

#include <cuda_runtime.h>

#include "forward_epilogue.h"
#include "forward_mainloop.h"
#include "forward_params.h"
#include "forward_tile_scheduler.h"
#include "kv_fp8.h"
#include "launchers.h"
#include "persistent_launch.h"

namespace fa3 {

template <int D, typename T, typename KV>
__global__ void __launch_bounds__(ForwardTraits<D>::kThreads)
    forward_kernel(const __grid_constant__ ForwardParams p) {
  extern __shared__ __align__(128) char smem[];
  __shared__ TileInfo s_tile;
  __shared__ EpilogueShared s_epi;
  // Programmatic dependent launch (see launch_general): this grid may start while the previous
  // kernel of the stream still runs. Nothing global is read before this wait, which returns
  // once that kernel has completed and its writes are visible (a no-op without PDL). Then let
  // the next PDL launch (the next layer's forward) begin its own launch early.
  pdl_wait();
  pdl_launch_dependents();
  const int total_tiles = p.num_reqs > 0 ? min(__ldg(p.tile_offsets + p.num_reqs), p.max_total_tiles) : 0;
  // LSE is [Hq, totalQ] (FA3's layout) with totalQ read on the device, clamped to capacity.
  const int64_t lse_stride =
      p.num_reqs > 0 ? clamp_int(__ldg(p.cu_seqlens_q + p.num_reqs), 0, p.shape.max_num_tokens) : 0;
  int tile = static_cast<int>(blockIdx.x);  // meaningful in thread 0
  bool first = true;
  FA3_TRACE_AT(p.trace, 0);
#ifdef FA3_TRACE
  int trace_iter = 0;
#endif
#pragma unroll 1
  for (;;) {
    int next = 0;
    if (threadIdx.x == 0) next = fetch_next_tile(p);  // consumed after this tile: latency hidden
    if (threadIdx.x < 32) {
      if (first)
        decode_tile<ForwardTraits<D>, true>(p, total_tiles, tile, &s_tile);
      else
        decode_tile<ForwardTraits<D>, false>(p, total_tiles, tile, &s_tile);
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
      const TileGeometry geo = tile_geometry<D>(p, ti);
      WarpState<D> st;
      using Tr = ForwardTraits<D>;
      if (geo.warps_n == Tr::kWarps)  // decode tile: compile-time warp layout
        run_mainloop<D, T, KV, Tr::kBlockN / 8 / Tr::kWarps>(p, ti, geo, smem, st);
      else
        run_mainloop<D, T, KV, 0>(p, ti, geo, smem, st);
      run_epilogue<D, T>(p, ti, geo, smem, s_epi, st, lse_stride);
    }
    tile = next;
    __syncthreads();  // shared tile info, stats and the K/V region are reused by the next tile
    FA3_TRACE_TILE(p, ti, 9);
  }
  finish_forward(p);
  FA3_TRACE_AT(p.trace, kTraceSlotsPerCta - 1);
}

// KV: the cache element type (T, or KvFp8 for an fp8 e4m3 cache).
template <int D, typename T, typename KV = T>
cudaError_t launch_general(const ForwardParams& p, int sm_count, cudaStream_t stream) {
  using Tr = ForwardTraits<D>;
  return launch_persistent<forward_kernel<D, T, KV>, Tr::kThreads, Tr::kSmemBytes>(p, sm_count, stream);
}

}  // namespace fa3
