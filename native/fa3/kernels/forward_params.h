// What the forward kernel reads: the argument block (pointers, capacities, softmax options) and
// the compile-time traits of one instantiation (head dim): threads, pipeline depth, shared-memory
// plan. Shared by the tile scheduler, main loop, epilogue and the launcher.
#pragma once

#include <stdint.h>

#include "layout.h"
#include "trace.h"
#include "scheduling.h"

namespace fa3 {

struct ForwardParams {
  // Tensors (layouts in api.h).
  const void* q;
  const void* k_cache;
  const void* v_cache;
  void* out;
  float* lse;  // nullptr: no LSE output; [Hq, totalQ], totalQ = cu_seqlens_q[num_reqs] (clamped)
  const int* page_table;
  int64_t page_table_stride;
  const int* cu_seqlens_q;
  const int* seq_lens;
  int num_reqs;
  // Rows q holds: min(maxNumTokens, numReqs x maxSeqlenQ), the shape forward validates (host:
  // the extent of the wgmma kernel's Q tensor map, which reads whole tiles and zero-fills past it).
  int q_rows;
  int num_pages;
  int page_shift;  // log2(pageSize) when a power of two, else -1 (then 32-bit division)
  SchedShape shape;
  int split_bound;  // min(numSplitsBound, maxNumSplits) >= 1
  // Softmax: scores go to the log2 domain. Without softcap s2 = s * scale_log2; with softcap
  // s2 = softcap_post * tanh(s * softcap_pre), softcap_pre = scale / softcap, softcap_post =
  // softcap * log2(e).
  float scale_log2;
  float softcap_pre;
  float softcap_post;
  int has_softcap;
  int causal;
  int window_left;   // -1: unbounded
  int window_right;  // -1: unbounded (causal forces 0)
  // Attention sinks (gpt-oss, FA3's s_aux): fp32 [Hq], one logit per query head (natural log, not
  // scaled or soft-capped) that joins each row's softmax denominator only; nullptr: none. Read on
  // the device at every launch (graph-safe: new values need no recapture). Applied once per row:
  // in the epilogue of a one-split row, in the fused merge otherwise (split partials exclude it).
  const float* sinks;
  // Workspace.
  const int* splits;
  const int* tile_offsets;  // by position in `order`
  const int* order;         // position -> request (longest tiles first)
  int* counters;
  float* o_partial;
  float* lse_partial;
  int max_total_tiles;
  // fp8 KV caches (kv_fp8.h): fp32 [Hkv] descale factors, nullptr = 1.
  const float* k_descale;
  const float* v_descale;
  // Read by the launcher only: an fp8 cache's decode steps run the fast path (decode_fp8_fast.h).
  int kv_fp8_fast;
#ifdef FA3_TRACE
  unsigned long long* trace;  // [grid][kTraceSlotsPerCta]
#endif
};

template <int D>
struct ForwardTraits {
  static constexpr int kHeadDim = D;
  static constexpr int kBlockM = tile_shape(kKernelGeneral, D, 1).block_m;
  static constexpr int kBlockN = tile_shape(kKernelGeneral, D, 1).block_n;
  static constexpr int kThreads = 128;
  static constexpr int kWarps = kThreads / 32;
  // The epilogue's threads and barrier (the whole CTA here; the wgmma kernel's consumers there).
  static __device__ __forceinline__ int tid() { return threadIdx.x; }
  static __device__ __forceinline__ void sync() { __syncthreads(); }
  static constexpr int kStages = 3;
  static constexpr int kPageRing = 2 * kStages;  // page ids live from issue to the mask of their block
  static constexpr int kGroupsPerBlock = kBlockN / 16;  // pages are multiples of 16 tokens
  static constexpr int kChunks = D / 8;                 // 16-byte chunks per row
  static constexpr int kQInRegs = D <= 128;             // D=256 reloads Q from shared memory
  static constexpr int kOStride = D + 8;                // fp32 epilogue row stride (bank-conflict free)
  // Dynamic shared memory: Q, then K and V stages; the epilogue reuses the K/V region.
  static constexpr int kQBytes = kBlockM * D * 2;
  static constexpr int kKVStageBytes = kBlockN * D * 2;
  static constexpr int kKOffset = kQBytes;
  static constexpr int kVOffset = kKOffset + kStages * kKVStageBytes;
  static constexpr int kPageOffset = kVOffset + kStages * kKVStageBytes;
  static constexpr int kSmemBytes = kPageOffset + kPageRing * kGroupsPerBlock * 4;
  static constexpr int kOBytes = kBlockM * kOStride * 4;
  static_assert(kOBytes <= 2 * kStages * kKVStageBytes, "epilogue buffer must fit in the K/V stages");
  static_assert(kBlockM * kMaxSplitsLimit * 4 <= 2 * kStages * kKVStageBytes,
                "fused-merge weights [rows][splits] must fit in the K/V stages");
  static_assert(kBlockM == 16 * kWarps, "one 16-row slice per warp when all warps split M");
  static_assert(kBlockN % 64 == 0, "four warps split a KV block in whole k16 steps");
};

}  // namespace fa3
