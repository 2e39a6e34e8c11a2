// The AoT scheduler kernel (FA3's "prepare"): from device cu_seqlens_q and seq_lens it writes
// splits[b] and tileOffsets for every entry up to capacity (zero splits and the repeated total
// past numReqs, so a stale tail from an earlier, larger batch never creates work), zeroes the
// tile, done and fused-merge counters, and does it for any numReqs up to capacity: one CTA of
// 1024 threads: a block reduction of the work, then (up to 4096 requests, not for decode steps) a
// block radix sort into the request order, longest tiles first, and one block-wide prefix sum, or
// (request order) a carried prefix sum over chunks of 1024 (no 992-request limit).
#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "launchers.h"
#include "layout.h"
#include "scheduling.h"
#include "trace.h"

namespace fa3 {

constexpr int kPrepareThreads = 1024;
constexpr int kSortItems = kOrderMaxReqs / kPrepareThreads;  // requests per thread in the sort
static_assert(kSortItems * kPrepareThreads == kOrderMaxReqs, "the sort covers exactly kOrderMaxReqs requests");

// numReqs <= kFillMaxReqs (the latency-bound decode case): one warp does the whole schedule with
// shuffles (one global round trip, no block-wide reduce / scan), the fill rule's search of blocks
// per slot (scheduling.h) and, except for decode steps, the request order (a lane's position is
// the number of larger keys), while the other threads zero the counters and write the tail.
__device__ __forceinline__ void prepare_small(const PrepareParams& p, int num_reqs, const TileShape& ts) {
  __shared__ int s_total_tiles;
  const SchedShape& s = p.shape;
  const int lane = threadIdx.x & 31;
  if (threadIdx.x < 32) {
    RequestLens r{0, 0, 0};
    int cu_b = 0, cu_b1 = 0;
    if (lane < num_reqs) {
      cu_b = p.cu_seqlens_q[lane];
      cu_b1 = p.cu_seqlens_q[lane + 1];
    }
    // Descending cuSeqlensQ anywhere: every request planned with no query tokens (cu_descends).
    if (__any_sync(0xffffffffu, cu_descends(cu_b, cu_b1))) cu_b = cu_b1 = 0;
    if (lane < num_reqs) r = request_lens(cu_b, cu_b1, p.seq_lens[lane], s);
    long long work = request_work(r, s, ts);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) work += __shfl_xor_sync(0xffffffffu, work, o);
    // The fill rule of scheduling.h: every probe is a warp sum of the batch's tiles.
    const int64_t bps = !use_fill_rule(num_reqs, work) ? blocks_per_sm(work, p.sm_count)
                                                       : fill_blocks_per_slot(work, p.sm_count, [&](int64_t cand) {
      long long t = lane < num_reqs ? request_tiles(r, request_splits(r, cand, p.split_bound, ts), s, ts) : 0;
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
      return static_cast<int64_t>(t);
    });
    int splits = 0, tiles = 0;
    if (lane < num_reqs) {
      splits = request_splits(r, bps, p.split_bound, ts);
      tiles = static_cast<int>(request_tiles(r, splits, s, ts));
    }
    // Position of this lane's request: the number of larger keys (keys are unique). Every lane
    // runs the same shuffles (warp-uniform loops); lanes past numReqs keep their own position.
    int req = lane, req_tiles = tiles;  // position = request (decode steps)
    if (use_request_order(num_reqs, p.kernel)) {
      const unsigned key = order_key(tile_blocks(r, splits, ts), lane);
      int larger = 0;
      for (int j = 0; j < num_reqs; ++j) larger += __shfl_sync(0xffffffffu, key, j) > key ? 1 : 0;
      const int pos = lane < num_reqs ? larger : lane;
      // Lane i takes the request at position i (positions past numReqs map to themselves).
      req_tiles = 0;
      for (int j = 0; j < num_reqs; ++j) {
        const int pj = __shfl_sync(0xffffffffu, pos, j);
        const int tj = __shfl_sync(0xffffffffu, tiles, j);
        if (pj == lane) {
          req = j;
          req_tiles = tj;
        }
      }
    }
    int incl = req_tiles;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const int x = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += x;
    }
    if (lane < s.max_num_reqs) {
      p.splits[lane] = splits;
      p.tile_offsets[lane] = incl - req_tiles;
      p.order[lane] = req;
    }
    if (lane == 31) s_total_tiles = incl;
  }
  for (int64_t i = threadIdx.x; i < p.num_counters; i += kPrepareThreads) p.counters[i] = 0;
  __syncthreads();
  const int total = s_total_tiles;
  for (int b = 32 + threadIdx.x; b < s.max_num_reqs; b += kPrepareThreads) {
    p.splits[b] = 0;
    p.tile_offsets[b] = total;
    p.order[b] = b;
  }
  if (threadIdx.x == 0) p.tile_offsets[s.max_num_reqs] = total;
  FA3_TRACE_AT(p.trace, 2);
}

__global__ void __launch_bounds__(kPrepareThreads) prepare_kernel(const PrepareParams p) {
  using Reduce = cub::BlockReduce<long long, kPrepareThreads>;
  using Scan = cub::BlockScan<int, kPrepareThreads>;
  using Sort = cub::BlockRadixSort<unsigned, kPrepareThreads, kSortItems, int>;
  __shared__ union {
    typename Reduce::TempStorage reduce;
    typename Scan::TempStorage scan;
    typename Sort::TempStorage sort;
  } tmp;
  __shared__ long long s_total_work;

  const SchedShape& s = p.shape;
  const TileShape ts = p.tile;  // the tiles of the kernel that will run (choose_forward_kernel)
  const int num_reqs = min(max(p.num_reqs, 0), s.max_num_reqs);
  FA3_TRACE_AT(p.trace, 0);
  // The forward kernel is launched programmatically after this one: let it start launching now
  // (its griddepcontrol.wait still waits for this whole kernel and its writes).
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");

  static_assert(kFillMaxReqs == 32, "the small-batch path is one warp");
  if (num_reqs <= kFillMaxReqs) {
    prepare_small(p, num_reqs, ts);
    return;
  }

  // 1. Total work of the batch. The first chunk's lengths stay in registers for step 2 (one
  //    global round trip fewer for batches up to 1024 requests: decode latency).
  RequestLens first{0, 0, 0};
  bool descends = false;
  if (threadIdx.x < num_reqs) {
    const int cu_b = p.cu_seqlens_q[threadIdx.x], cu_b1 = p.cu_seqlens_q[threadIdx.x + 1];
    descends = cu_descends(cu_b, cu_b1);
    first = request_lens(cu_b, cu_b1, p.seq_lens[threadIdx.x], s);
  }
  long long work = request_work(first, s, ts);
  for (int b = threadIdx.x + kPrepareThreads; b < num_reqs; b += kPrepareThreads) {
    const int cu_b = p.cu_seqlens_q[b], cu_b1 = p.cu_seqlens_q[b + 1];
    descends |= cu_descends(cu_b, cu_b1);
    work += request_work(request_lens(cu_b, cu_b1, p.seq_lens[b], s), s, ts);
  }
  const long long total = Reduce(tmp.reduce).Sum(work);
  // Descending cuSeqlensQ anywhere: every request planned with no query tokens (cu_descends), so
  // no work; the barrier also publishes s_total_work.
  const bool zero_q = __syncthreads_or(descends) != 0;
  if (threadIdx.x == 0) s_total_work = zero_q ? 0 : total;
  __syncthreads();
  if (zero_q && threadIdx.x < num_reqs) first = request_lens(0, 0, p.seq_lens[threadIdx.x], s);
  // Request b's lengths in steps 2a / 2b.
  auto lens = [&](int b) {
    return zero_q ? request_lens(0, 0, p.seq_lens[b], s)
                  : request_lens(p.cu_seqlens_q[b], p.cu_seqlens_q[b + 1], p.seq_lens[b], s);
  };
  const int64_t bps = blocks_per_sm(s_total_work, p.sm_count);
  FA3_TRACE_AT(p.trace, 1);

  int carry = 0;
  int done = 0;  // positions [0, done) are written
  if (use_request_order(num_reqs, p.kernel)) {
    // 2a. Up to kOrderMaxReqs requests: splits by request, then a block radix sort of the unique
    //     keys (longest tiles first) carrying each request's tiles, and one scan in that order.
    //     Keys of positions past numReqs sort after every request, in index order.
    unsigned keys[kSortItems];
    int tiles[kSortItems];
#pragma unroll
    for (int i = 0; i < kSortItems; ++i) {
      const int b = threadIdx.x * kSortItems + i;
      int splits = 0;
      RequestLens r{0, 0, 0};
      tiles[i] = 0;
      if (b < num_reqs) {
        r = lens(b);
        splits = request_splits(r, bps, p.split_bound, ts);
        tiles[i] = static_cast<int>(request_tiles(r, splits, s, ts));
      }
      keys[i] = order_key(tile_blocks(r, splits, ts), b);
      if (b < s.max_num_reqs) p.splits[b] = splits;
    }
    Sort(tmp.sort).SortDescending(keys, tiles);
    __syncthreads();  // tmp is reused by the scan
    int excl[kSortItems];
    int sum = 0;
    Scan(tmp.scan).ExclusiveSum(tiles, excl, sum);
#pragma unroll
    for (int i = 0; i < kSortItems; ++i) {
      const int pos = threadIdx.x * kSortItems + i;
      if (pos < s.max_num_reqs) {
        p.tile_offsets[pos] = excl[i];
        p.order[pos] = order_key_request(keys[i]);
      }
    }
    carry = sum;
    done = kOrderMaxReqs;
  } else {
    // 2b. Larger batches keep the request order: splits and the exclusive prefix sum of tiles,
    //     in chunks of 1024 requests.
    for (int base = 0; base < num_reqs; base += kPrepareThreads) {
      const int b = base + threadIdx.x;
      int splits = 0, tiles = 0;
      if (b < num_reqs) {
        const RequestLens r = base == 0 ? first : lens(b);
        splits = request_splits(r, bps, p.split_bound, ts);
        tiles = static_cast<int>(request_tiles(r, splits, s, ts));
      }
      int excl = 0, chunk_total = 0;
      Scan(tmp.scan).ExclusiveSum(tiles, excl, chunk_total);
      if (b < s.max_num_reqs) {
        p.splits[b] = splits;
        p.tile_offsets[b] = carry + excl;
        p.order[b] = b;
      }
      carry += chunk_total;
      done = base + kPrepareThreads;
      __syncthreads();  // tmp.scan is reused by the next chunk
    }
  }
  // 3. The tail up to capacity: no splits, the repeated total, positions mapping to themselves.
  for (int b = done + threadIdx.x; b < s.max_num_reqs; b += kPrepareThreads) {
    p.splits[b] = 0;
    p.tile_offsets[b] = carry;
    p.order[b] = b;
  }
  if (threadIdx.x == 0) p.tile_offsets[s.max_num_reqs] = carry;

  // 4. Counters back to zero (the forward kernel also resets them itself; this makes a stuck
  //    counter left by corrupt metadata heal on the next step).
  for (int64_t i = threadIdx.x; i < p.num_counters; i += kPrepareThreads) p.counters[i] = 0;
  FA3_TRACE_AT(p.trace, 2);
}

cudaError_t launch_prepare(const PrepareParams& p, cudaStream_t stream) {
  // Ask for the same L1/shared split the forward kernel needs (all shared memory), so the SM is
  // not reconfigured between prepare and forward on every step. A preference only: ignore failure.
  static bool carveout_set = false;
  if (!carveout_set) {
    cudaFuncSetAttribute(prepare_kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
    cudaGetLastError();
    carveout_set = true;
  }
  prepare_kernel<<<1, kPrepareThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace fa3
