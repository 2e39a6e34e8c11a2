// The persistent forward kernel of one (head dim, dtype) instantiation and its launcher: every
// CTA loops fetch tile -> main loop -> epilogue until the tile counter runs past totalTiles, then
// the last CTA out resets the counters. The grid is smCount x (CTAs that fit on an SM): it never
// depends on the batch, so a captured graph is valid for any batch up to capacity.
// Included only by forward_instantiate_*.cu (explicit instantiations).
#pragma once

#include <cuda_runtime.h>

#include "forward_epilogue.h"
#include "forward_mainloop.h"
#include "forward_params.h"
#include "forward_tile_scheduler.h"

namespace fa3 {

template <int D, typename T>
__global__ void __launch_bounds__(ForwardTraits<D>::kThreads)
    forward_kernel(const __grid_constant__ ForwardParams p) {
  extern __shared__ __align__(128) char smem[];
  __shared__ TileInfo s_tile;
  __shared__ EpilogueShared s_epi;
  const int total_tiles = p.num_reqs > 0 ? min(__ldg(p.tile_offsets + p.num_reqs), p.max_total_tiles) : 0;
  // LSE is [Hq, totalQ] (FA3's layout) with totalQ read on the device, clamped to capacity.
  const int64_t lse_stride =
      p.num_reqs > 0 ? clamp_int(__ldg(p.cu_seqlens_q + p.num_reqs), 0, p.shape.max_num_tokens) : 0;
  int tile = static_cast<int>(blockIdx.x);  // meaningful in thread 0
#pragma unroll 1
  for (;;) {
    int next = 0;
    if (threadIdx.x == 0) next = fetch_next_tile(p);  // consumed after this tile: latency hidden
    if (threadIdx.x < 32) decode_tile<D>(p, total_tiles, tile, &s_tile);
    __syncthreads();
    const TileInfo ti = s_tile;
    if (ti.tile == -1) break;
    if (ti.tile >= 0) {
      const TileGeometry geo = tile_geometry<D>(p, ti);
      WarpState<D> st;
      using Tr = ForwardTraits<D>;
      if (geo.warps_n == Tr::kWarps)  // decode tile: compile-time warp layout
        run_mainloop<D, T, Tr::kBlockN / 8 / Tr::kWarps>(p, ti, geo, smem, st);
      else
        run_mainloop<D, T, 0>(p, ti, geo, smem, st);
      run_epilogue<D, T>(p, ti, geo, smem, s_epi, st, lse_stride);
    }
    tile = next;
    __syncthreads();  // shared tile info, stats and the K/V region are reused by the next tile
  }
  finish_forward(p);
}

// Launch with the persistent grid. `ctas_per_sm` comes from the occupancy query done once per
// instantiation by the caller (forward_dispatch.cu).
template <int D, typename T>
cudaError_t launch_forward(const ForwardParams& p, int sm_count, cudaStream_t stream) {
  using Tr = ForwardTraits<D>;
  static int ctas_per_sm[64] = {0};  // per device ordinal; 0 = not configured yet
  int dev = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err != cudaSuccess) return err;
  if (dev < 0 || dev >= 64) return cudaErrorInvalidDevice;
  if (ctas_per_sm[dev] == 0) {
    err = cudaFuncSetAttribute(forward_kernel<D, T>, cudaFuncAttributeMaxDynamicSharedMemorySize, Tr::kSmemBytes);
    if (err != cudaSuccess) return err;
    int n = 0;
    err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, forward_kernel<D, T>, Tr::kThreads, Tr::kSmemBytes);
    if (err != cudaSuccess) return err;
    if (n < 1) return cudaErrorInvalidConfiguration;
    ctas_per_sm[dev] = n;
  }
  forward_kernel<D, T><<<sm_count * ctas_per_sm[dev], Tr::kThreads, Tr::kSmemBytes, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace fa3
