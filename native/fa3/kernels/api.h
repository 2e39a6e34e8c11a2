// Plain C++ API of the fa3 kernels (no Node headers): capacity validation, workspace layout, the
// host scheduling maths, and launchers for prepare / forward / KV-cache write on a caller's
// stream. Every function returns a Result; none aborts or throws. Messages start with the CUDA
// error name (cudaErrorInvalidValue: ...) or an fa3 error name (fa3ErrorNoDevice: ...).
//
// Layouts (row-major, last dim contiguous):
//   q, out            [maxNumTokens rows, Hq, D]  dtype       (token indices are clamped to capacity)
//   lse               fp32 [Hq, totalQ]            natural log; totalQ = cuSeqlensQ[numReqs] read on
//                                                  the device (clamped to maxNumTokens), as FA3
//   sinks             fp32 [Hq]                    per-head sink logits (optional)
//   kCache, vCache    [numPages, pageSize, Hkv, D] kvDtype (dtype, or fp8 e4m3: one byte each)
//   kDescale, vDescale fp32 [Hkv] (fp8 caches only; optional, 1 when absent): the cache holds
//                     e4m3(x / descale[h]) and attention reads code x descale[h]
//   pageTable         int32 [maxNumReqs, pageTableStride]
//   cuSeqlensQ        int32 [numReqs + 1];  seqLens int32 [numReqs]
//   key, value        [numTokens, Hkv, D] dtype;  slotMapping int32 [numTokens] (-1 = padding)
#pragma once

#include <stdint.h>

#include <string>

#include "layout.h"
#include "scheduling.h"

namespace fa3 {

struct Result {
  int code = 0;         // 0 = success; otherwise a cudaError_t value or kFa3Error*
  std::string message;  // "<errorName>: <what>"
  bool ok() const { return code == 0; }
};

constexpr int kFa3ErrorNoDevice = 100000;

constexpr int kKvSameAsDtype = -1;
constexpr int kKvFp8E4m3 = 2;

struct Caps {
  int num_heads_q = 0;
  int num_heads_kv = 0;
  int head_dim = 0;
  int dtype = 0;  // 0 = bf16, 1 = fp16
  // The KV cache's element type: kKvSameAsDtype (-1), the dtype itself (0 / 1), or kKvFp8E4m3 (2).
  int kv_dtype = -1;
  int page_size = 0;
  int num_pages = 0;
  int max_num_reqs = 0;
  int max_num_tokens = 0;
  int max_num_pages_per_req = 0;
  int max_num_splits = 0;
  bool causal = false;
  int window_left = -1;   // -1: unbounded
  int window_right = -1;  // -1: unbounded
  float softcap = 0.f;    // 0: off
};

struct DeviceInfo {
  bool available = false;
  std::string reason;
  int device = 0;
  int sm_count = 0;
  std::string name;
};

// Never fails; available = false with a reason when there is no usable sm_90 device.
DeviceInfo device_status();

Result validate_caps(const Caps& caps);
SchedShape sched_shape(const Caps& caps);
// Whether the caps describe an fp8 e4m3 KV cache.
inline bool kv_is_fp8(const Caps& caps) { return caps.kv_dtype == kKvFp8E4m3; }

// The tile shape of a kernel (scheduling.h ForwardKernel: 0 general, 1 decode, 2 wgmma).
Result tile_shape_checked(int kernel, int head_dim, int qheads_per_kvhead, TileShape* out);
// The kernel a step with this maxSeqlenQ runs (choose_forward_kernel with the FLASHGRAPH_FA3_KERNEL
// request); prepare and forward take the same decision, so their tiles agree.
Result step_kernel_checked(int max_seqlen_q, int qheads_per_kvhead, int head_dim, int* out);
// "general", "decode" or "wgmma".
const char* kernel_name(int kernel);
// The wgmma kernel's switches (launchers.h): on unless the variable is "0",
// FLASHGRAPH_FA3_WGMMA_OVERLAP its overlapped main loop, FLASHGRAPH_FA3_WGMMA_TMA its TMA loads;
// FLASHGRAPH_FA3_WGMMA_LEAN its lean variant; FLASHGRAPH_FA3_WGMMA_STAGES (3 unless "2") that
// with three K / V stages at D = 128.
bool wgmma_overlap_enabled();
bool wgmma_tma_enabled();
bool wgmma_lean_enabled();
bool wgmma_deep_ring_enabled();
Result workspace_layout_checked(const Caps& caps, WorkspaceLayout* out);
Result resolve_num_splits_checked(const Caps& caps, int num_splits, int max_seqlen_q, int max_seqlen_k,
                                  int sm_count, int* out);

// Host mirror of the prepare kernel for the first num_reqs entries, with `kernel`'s tiles: splits
// [numReqs] (by request), order [numReqs] (position -> request, longest tiles first),
// tile_offsets [numReqs + 1] (by position).
Result plan_splits_host(const Caps& caps, const int32_t* cu_seqlens_q, const int32_t* seq_lens, int num_reqs,
                        int num_splits_bound, int sm_count, int kernel, int32_t* splits, int32_t* tile_offsets,
                        int32_t* order, int32_t* total_tiles);

struct PrepareArgs {
  uintptr_t stream = 0;
  uintptr_t workspace = 0;
  Caps caps;
  uintptr_t cu_seqlens_q = 0;
  uintptr_t seq_lens = 0;
  int num_reqs = 0;
  // Picks the kernel whose tiles the schedule numbers (step_kernel_checked): forward must get the
  // same value (or one choosing a kernel of the same tile shape).
  int max_seqlen_q = 0;
  int num_splits_bound = 1;
  int sm_count = 0;
};
Result prepare(const PrepareArgs& a);

struct ForwardArgs {
  uintptr_t stream = 0;
  uintptr_t workspace = 0;
  Caps caps;
  uintptr_t q = 0, k_cache = 0, v_cache = 0, out = 0;
  uintptr_t lse = 0;  // 0: none
  // fp32 [Hq] attention sinks (forward_params.h), read by the kernel at launch; 0: none. With
  // sinks, lse is log(exp(sink) + sum exp(scores)) and a row that sees no key gets zeros and LSE =
  // sink.
  uintptr_t sinks = 0;
  uintptr_t page_table = 0;
  int64_t page_table_stride = 0;
  uintptr_t cu_seqlens_q = 0, seq_lens = 0;
  int num_reqs = 0;
  // Lengths are read on the device; max_seqlen_q picks the kernel (step_kernel_checked: x G <= 16
  // the decode kernel, exact for any data), max_seqlen_k is accepted for FA3 parity.
  int max_seqlen_q = 0, max_seqlen_k = 0;
  double softmax_scale = 0;  // <= 0 is rejected; callers resolve the 1/sqrt(D) default
  int num_splits_bound = 1;
  int sm_count = 0;
  // fp8 caches: fp32 [Hkv] descale factors, 0 = all 1 (read on the device each launch); must be 0
  // for a bf16 / fp16 cache.
  uintptr_t k_descale = 0, v_descale = 0;
  // fp8 caches: decode steps run the decode kernel's fast fp8 path (decode_fp8_fast.h; the TS
  // layer sets it unless FLASHGRAPH_FA3_FP8_FAST=0); must be false for a bf16 / fp16 cache.
  bool fp8_fast = false;
};
Result forward(const ForwardArgs& a);

struct KvWriteArgs {
  uintptr_t stream = 0;
  Caps caps;
  uintptr_t key = 0, value = 0, k_cache = 0, v_cache = 0, slot_mapping = 0;
  int num_tokens = 0;
  uintptr_t k_descale = 0, v_descale = 0;  // as ForwardArgs: the quantizer divides by them
};
Result write_kv_cache(const KvWriteArgs& a);

}  // namespace fa3
