// The plain C++ API: validates capacities and launch arguments (what memory safety needs: null
// and misaligned pointers, counts against capacities), derives the kernel argument blocks, and
// launches on the caller's stream. Returns errors as values; never aborts.
#include "api.h"

#include "flashgraph/cuda_status.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "launchers.h"

namespace fa3 {

#ifdef FA3_TRACE
unsigned long long* g_trace_forward = nullptr;
unsigned long long* g_trace_prepare = nullptr;
#endif
namespace {

constexpr int64_t kInt32Max = 2147483647;

Result fail(const char* name, const std::string& what, int code = cudaErrorInvalidValue) {
  Result r;
  r.code = code;
  r.message = std::string(name) + ": " + what;
  return r;
}
Result invalid(const std::string& what) { return fail("cudaErrorInvalidValue", what); }
Result from_cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Result{};
  return fail(cudaGetErrorName(err), std::string(what) + " failed: " + cudaGetErrorString(err), err);
}
std::string range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  return std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
         std::to_string(v);
}
bool aligned(uintptr_t p, uintptr_t a) { return p % a == 0; }
// "64, 96, 128, 192, 256": the head dims forward_kernel_list.h gives the general kernel (rows are
// whole 16-byte chunks, so multiples of 8).
std::string head_dims_text() {
  std::string t;
  for (int d = 8; d <= 1024; d += 8)
    if (head_dim_supported(d)) t += (t.empty() ? "" : ", ") + std::to_string(d);
  return t;
}
Result check_ptr(const char* name, uintptr_t p, uintptr_t align) {
  if (p == 0) return invalid(std::string(name) + " must be a non-null device pointer");
  if (!aligned(p, align)) return invalid(std::string(name) + " must be " + std::to_string(align) + "-byte aligned");
  return Result{};
}

// Descale pointers: fp32, so 4-byte aligned; only an fp8 cache has them (0 = all 1).
Result check_descales(const Caps& c, uintptr_t k_descale, uintptr_t v_descale) {
  const bool fp8 = c.kv_dtype == kKvFp8E4m3;
  const char* names[2] = {"kDescale", "vDescale"};
  const uintptr_t ptrs[2] = {k_descale, v_descale};
  for (int i = 0; i < 2; ++i) {
    if (ptrs[i] == 0) continue;
    if (!fp8) return invalid(std::string(names[i]) + " must be 0 (none) unless caps.kvDtype is 'fp8_e4m3'");
    if (!aligned(ptrs[i], 4)) return invalid(std::string(names[i]) + " must be 4-byte aligned (or 0 for none)");
  }
  return Result{};
}

}  // namespace

DeviceInfo device_status() {
  DeviceInfo info;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    // One wording for every addon: "no NVIDIA driver" apart from "driver too old" (native/common).
    info.reason = flashgraph::cudaUnavailableReason(err);
    return info;
  }
  if (count == 0) {
    info.reason = "no CUDA device";
    return info;
  }
  int dev = 0;
  if ((err = cudaGetDevice(&dev)) != cudaSuccess) {
    info.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    return info;
  }
  cudaDeviceProp prop;
  if ((err = cudaGetDeviceProperties(&prop, dev)) != cudaSuccess) {
    info.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    return info;
  }
  info.device = dev;
  info.name = prop.name;
  info.sm_count = prop.multiProcessorCount;
  if (prop.major != 9 || prop.minor != 0) {
    info.reason = "device " + info.name + " has compute capability " + std::to_string(prop.major) + "." +
                  std::to_string(prop.minor) + "; flashgraph_fa3 is built for sm_90a (Hopper) only";
    return info;
  }
  info.available = true;
  return info;
}

SchedShape sched_shape(const Caps& c) {
  SchedShape s;
  s.num_heads_q = c.num_heads_q;
  s.num_heads_kv = c.num_heads_kv;
  s.head_dim = c.head_dim;
  s.page_size = c.page_size;
  s.max_num_reqs = c.max_num_reqs;
  s.max_num_tokens = c.max_num_tokens;
  s.max_num_pages_per_req = c.max_num_pages_per_req;
  s.max_num_splits = c.max_num_splits;
  return s;
}

Result validate_caps(const Caps& c) {
  if (c.num_heads_kv < 1 || c.num_heads_kv > 1024) return invalid(range("caps.numHeadsKv", c.num_heads_kv, 1, 1024));
  if (c.num_heads_q < c.num_heads_kv || c.num_heads_q > 4096 || c.num_heads_q % c.num_heads_kv != 0)
    return invalid("caps.numHeadsQ must be a multiple of caps.numHeadsKv (" + std::to_string(c.num_heads_kv) +
                   ") in [" + std::to_string(c.num_heads_kv) + ", 4096], got " + std::to_string(c.num_heads_q));
  if (!head_dim_supported(c.head_dim))
    return invalid("caps.headDim must be one of " + head_dims_text() + ", got " + std::to_string(c.head_dim));
  if (c.dtype != 0 && c.dtype != 1) return invalid("caps.dtype must be 'bf16' or 'fp16'");
  if (c.kv_dtype != kKvSameAsDtype && c.kv_dtype != c.dtype && c.kv_dtype != kKvFp8E4m3)
    return invalid(std::string("caps.kvDtype must be caps.dtype ('") + (c.dtype == 0 ? "bf16" : "fp16") +
                   "') or 'fp8_e4m3', got " + std::to_string(c.kv_dtype));
  if (c.page_size < 16 || c.page_size % 16 != 0 || c.page_size > 65536)
    return invalid("caps.pageSize must be a multiple of 16 in [16, 65536], got " + std::to_string(c.page_size));
  if (c.num_pages < 1) return invalid(range("caps.numPages", c.num_pages, 1, kInt32Max));
  if (c.max_num_reqs < 1) return invalid(range("caps.maxNumReqs", c.max_num_reqs, 1, kInt32Max));
  if (c.max_num_tokens < 1) return invalid(range("caps.maxNumTokens", c.max_num_tokens, 1, kInt32Max));
  if (c.max_num_pages_per_req < 1)
    return invalid(range("caps.maxNumPagesPerReq", c.max_num_pages_per_req, 1, kInt32Max));
  if (c.max_num_splits < 1 || c.max_num_splits > kMaxSplitsLimit)
    return invalid(range("caps.maxNumSplits", c.max_num_splits, 1, kMaxSplitsLimit));
  if (c.window_left < -1) return invalid(range("caps.windowLeft", c.window_left, -1, kInt32Max));
  if (c.window_right < -1) return invalid(range("caps.windowRight", c.window_right, -1, kInt32Max));
  if (!(c.softcap >= 0.f) || !std::isfinite(c.softcap))
    return invalid("caps.softcap must be a finite number >= 0 (0 = off)");
  // The kernels index tokens, rows, key positions, slots and tiles in int32.
  const int64_t g = c.num_heads_q / c.num_heads_kv;
  if (static_cast<int64_t>(c.max_num_tokens) * g > kInt32Max / 2)
    return invalid("caps.maxNumTokens * (numHeadsQ / numHeadsKv) must be < 2^30");
  if (static_cast<int64_t>(c.max_num_pages_per_req) * c.page_size > kInt32Max / 2)
    return invalid("caps.maxNumPagesPerReq * caps.pageSize must be < 2^30");
  if (static_cast<int64_t>(c.num_pages) * c.page_size > kInt32Max)
    return invalid("caps.numPages * caps.pageSize must be < 2^31 (slots are int32)");
  const SchedShape s = sched_shape(c);
  if (max_total_tiles(s, layout_tile_shape(c.head_dim, static_cast<int>(g))) > kInt32Max)
    return invalid("capacities describe more than 2^31 work tiles; lower maxNumTokens, maxNumReqs or maxNumSplits");
  return Result{};
}

static Result check_kernel(int kernel) {
  if (kernel != kKernelGeneral && kernel != kKernelDecode && kernel != kKernelWgmma)
    return invalid("kernel must be general (0), decode (1) or wgmma (2), got " + std::to_string(kernel));
  return Result{};
}

Result tile_shape_checked(int kernel, int head_dim, int qheads_per_kvhead, TileShape* out) {
  Result r = check_kernel(kernel);
  if (!r.ok()) return r;
  if (!head_dim_supported(head_dim))
    return invalid("headDim must be one of " + head_dims_text() + ", got " + std::to_string(head_dim));
  if (qheads_per_kvhead < 1) return invalid(range("qheadsPerKvhead", qheads_per_kvhead, 1, 4096));
  *out = tile_shape(kernel, head_dim, qheads_per_kvhead);
  return Result{};
}

Result step_kernel_checked(int max_seqlen_q, int qheads_per_kvhead, int head_dim, int* out) {
  if (kernel_request() < 0)
    return invalid(std::string("FLASHGRAPH_FA3_KERNEL must be general, wgmma or decode (or unset), got '") +
                   kernel_request_value() + "'");
  if (max_seqlen_q < 0) return invalid(range("maxSeqlenQ", max_seqlen_q, 0, kInt32Max));
  if (qheads_per_kvhead < 1 || qheads_per_kvhead > 4096)
    return invalid(range("qheadsPerKvhead", qheads_per_kvhead, 1, 4096));
  if (!head_dim_supported(head_dim))
    return invalid("headDim must be one of " + head_dims_text() + ", got " + std::to_string(head_dim));
  *out = step_kernel(max_seqlen_q, qheads_per_kvhead, head_dim);
  return Result{};
}

Result workspace_layout_checked(const Caps& caps, WorkspaceLayout* out) {
  Result r = validate_caps(caps);
  if (!r.ok()) return r;
  *out = workspace_layout(sched_shape(caps));
  return Result{};
}

Result resolve_num_splits_checked(const Caps& caps, int num_splits, int max_seqlen_q, int max_seqlen_k,
                                  int sm_count, int* out) {
  Result r = validate_caps(caps);
  if (!r.ok()) return r;
  if (num_splits < 0 || num_splits > caps.max_num_splits)
    return invalid(range("numSplits", num_splits, 0, caps.max_num_splits));
  if (max_seqlen_q < 0) return invalid(range("maxSeqlenQ", max_seqlen_q, 0, kInt32Max));
  if (max_seqlen_k < 0) return invalid(range("maxSeqlenK", max_seqlen_k, 0, kInt32Max));
  if (sm_count < 1 || sm_count > 4096) return invalid(range("smCount", sm_count, 1, 4096));
  int kernel = 0;
  if (!(r = step_kernel_checked(max_seqlen_q, caps.num_heads_q / caps.num_heads_kv, caps.head_dim, &kernel)).ok())
    return r;
  kernel = kernel_for_kv(kernel, kv_is_fp8(caps));
  const SchedShape s = sched_shape(caps);
  *out = resolve_num_splits(s, tile_shape(kernel, s.head_dim, qheads_per_kvhead(s)), num_splits, max_seqlen_q,
                            max_seqlen_k, sm_count);
  return Result{};
}

// The batch's tiles at a candidate blocks-per-slot (the fill rule's probe, scheduling.h).
struct BatchTiles {
  const SchedShape* s;
  TileShape ts;
  const int32_t* cu;
  const int32_t* seq_lens;
  int num_reqs;
  int bound;
  FA3_HD int64_t operator()(int64_t bps) const {
    int64_t t = 0;
    for (int b = 0; b < num_reqs; ++b) {
      const RequestLens rl = request_lens(cu[b], cu[b + 1], seq_lens[b], *s);
      t += request_tiles(rl, request_splits(rl, bps, bound, ts), *s, ts);
    }
    return t;
  }
};

Result plan_splits_host(const Caps& caps, const int32_t* cu, const int32_t* seq_lens, int num_reqs,
                        int num_splits_bound, int sm_count, int kernel, int32_t* splits, int32_t* tile_offsets,
                        int32_t* order, int32_t* total_tiles) {
  Result r = validate_caps(caps);
  if (!r.ok()) return r;
  if (!(r = check_kernel(kernel)).ok()) return r;
  if (num_reqs < 0 || num_reqs > caps.max_num_reqs) return invalid(range("numReqs", num_reqs, 0, caps.max_num_reqs));
  if (num_splits_bound < 1 || num_splits_bound > caps.max_num_splits)
    return invalid(range("numSplitsBound", num_splits_bound, 1, caps.max_num_splits));
  if (sm_count < 1 || sm_count > 4096) return invalid(range("smCount", sm_count, 1, 4096));
  const SchedShape s = sched_shape(caps);
  const TileShape ts = tile_shape(kernel, s.head_dim, qheads_per_kvhead(s));
  const int bound = split_bound(num_splits_bound, s);
  // Descending cuSeqlensQ: planned as all zeros (cu_descends in scheduling.h).
  std::vector<int32_t> zero_cu;
  for (int b = 0; b < num_reqs; ++b) {
    if (cu_descends(cu[b], cu[b + 1])) {
      zero_cu.assign(static_cast<size_t>(num_reqs) + 1, 0);
      cu = zero_cu.data();
      break;
    }
  }
  int64_t work = 0;
  for (int b = 0; b < num_reqs; ++b) work += request_work(request_lens(cu[b], cu[b + 1], seq_lens[b], s), s, ts);
  const int64_t bps = use_fill_rule(num_reqs, work)
                           ? fill_blocks_per_slot(work, sm_count, BatchTiles{&s, ts, cu, seq_lens, num_reqs, bound})
                           : blocks_per_sm(work, sm_count);
  std::vector<int32_t> tiles(num_reqs);
  std::vector<unsigned> keys(num_reqs);
  for (int b = 0; b < num_reqs; ++b) {
    const RequestLens rl = request_lens(cu[b], cu[b + 1], seq_lens[b], s);
    splits[b] = request_splits(rl, bps, bound, ts);
    tiles[b] = static_cast<int32_t>(request_tiles(rl, splits[b], s, ts));
    keys[b] = order_key(tile_blocks(rl, splits[b], ts), b);
    order[b] = b;
  }
  // Longest tiles first (unique keys, descending) when the prepare kernel sorts this batch.
  if (use_request_order(num_reqs, kernel))
    std::sort(order, order + num_reqs, [&](int32_t x, int32_t y) { return keys[x] > keys[y]; });
  int32_t acc = 0;
  for (int i = 0; i < num_reqs; ++i) {
    tile_offsets[i] = acc;
    acc += tiles[order[i]];
  }
  tile_offsets[num_reqs] = acc;
  *total_tiles = acc;
  return Result{};
}

Result prepare(const PrepareArgs& a) {
  Result r = validate_caps(a.caps);
  if (!r.ok()) return r;
  if (!(r = check_ptr("workspace", a.workspace, kRegionAlign)).ok()) return r;
  if (a.num_reqs < 0 || a.num_reqs > a.caps.max_num_reqs)
    return invalid(range("numReqs", a.num_reqs, 0, a.caps.max_num_reqs));
  if (a.num_reqs > 0) {
    if (!(r = check_ptr("cuSeqlensQ", a.cu_seqlens_q, 4)).ok()) return r;
    if (!(r = check_ptr("seqLens", a.seq_lens, 4)).ok()) return r;
  }
  if (a.num_splits_bound < 1 || a.num_splits_bound > a.caps.max_num_splits)
    return invalid(range("numSplitsBound", a.num_splits_bound, 1, a.caps.max_num_splits));
  if (a.sm_count < 1 || a.sm_count > 4096) return invalid(range("smCount", a.sm_count, 1, 4096));
  int kernel = 0;
  if (!(r = step_kernel_checked(a.max_seqlen_q, a.caps.num_heads_q / a.caps.num_heads_kv, a.caps.head_dim, &kernel))
           .ok())
    return r;
  kernel = kernel_for_kv(kernel, kv_is_fp8(a.caps));  // the same kernel forward launches
  const SchedShape s = sched_shape(a.caps);
  const WorkspaceLayout l = workspace_layout(s);
  char* ws = reinterpret_cast<char*>(a.workspace);
  PrepareParams p;
  p.tile = tile_shape(kernel, s.head_dim, qheads_per_kvhead(s));
  p.kernel = kernel;
  p.cu_seqlens_q = reinterpret_cast<const int*>(a.cu_seqlens_q);
  p.seq_lens = reinterpret_cast<const int*>(a.seq_lens);
  p.num_reqs = a.num_reqs;
  p.split_bound = split_bound(a.num_splits_bound, s);
  p.sm_count = a.sm_count;
  p.shape = s;
  p.splits = reinterpret_cast<int*>(ws + l.splits_offset);
  p.tile_offsets = reinterpret_cast<int*>(ws + l.tile_offsets_offset);
  p.order = reinterpret_cast<int*>(ws + l.order_offset);
  p.counters = reinterpret_cast<int*>(ws + l.counters_offset);
  p.num_counters = l.counters_bytes / 4;
#ifdef FA3_TRACE
  p.trace = g_trace_prepare;
#endif
  return from_cuda(launch_prepare(p, reinterpret_cast<cudaStream_t>(a.stream)), "prepare launch");
}

Result forward(const ForwardArgs& a) {
  Result r = validate_caps(a.caps);
  if (!r.ok()) return r;
  if (!(r = check_ptr("workspace", a.workspace, kRegionAlign)).ok()) return r;
  if (!(r = check_ptr("q", a.q, 16)).ok()) return r;
  if (!(r = check_ptr("kCache", a.k_cache, 16)).ok()) return r;
  if (!(r = check_ptr("vCache", a.v_cache, 16)).ok()) return r;
  if (!(r = check_ptr("out", a.out, 16)).ok()) return r;
  if (a.lse != 0 && !aligned(a.lse, 4)) return invalid("lse must be 4-byte aligned (or 0n for none)");
  if (a.sinks != 0 && !aligned(a.sinks, 4)) return invalid("sinks must be 4-byte aligned (or 0n for none)");
  if (!(r = check_ptr("pageTable", a.page_table, 4)).ok()) return r;
  if (a.num_reqs < 0 || a.num_reqs > a.caps.max_num_reqs)
    return invalid(range("numReqs", a.num_reqs, 0, a.caps.max_num_reqs));
  if (a.num_reqs > 0) {
    if (!(r = check_ptr("cuSeqlensQ", a.cu_seqlens_q, 4)).ok()) return r;
    if (!(r = check_ptr("seqLens", a.seq_lens, 4)).ok()) return r;
  }
  if (a.page_table_stride < a.caps.max_num_pages_per_req || a.page_table_stride > kInt32Max)
    return invalid(range("pageTableStride", a.page_table_stride, a.caps.max_num_pages_per_req, kInt32Max));
  int kernel = 0;
  if (!(r = step_kernel_checked(a.max_seqlen_q, a.caps.num_heads_q / a.caps.num_heads_kv, a.caps.head_dim, &kernel))
           .ok())
    return r;
  const bool kv_fp8 = kv_is_fp8(a.caps);
  kernel = kernel_for_kv(kernel, kv_fp8);
  if (!forward_instantiated(kernel, a.caps.head_dim, static_cast<DType>(a.caps.dtype), kv_fp8))
    return invalid(std::string("no forward kernel instantiated for (kernel ") + kernel_name(kernel) + ", headDim " +
                   std::to_string(a.caps.head_dim) + ", dtype " + (a.caps.dtype == 0 ? "bf16" : "fp16") +
                   (kv_fp8 ? ", kvDtype fp8_e4m3" : "") + ")");
  if (!(r = check_descales(a.caps, a.k_descale, a.v_descale)).ok()) return r;
  if (a.fp8_fast && !kv_fp8) return invalid("fp8Fast must be false unless caps.kvDtype is 'fp8_e4m3'");
  if (a.max_seqlen_k < 0) return invalid(range("maxSeqlenK", a.max_seqlen_k, 0, kInt32Max));
  if (!(a.softmax_scale > 0) || !std::isfinite(a.softmax_scale))
    return invalid("softmaxScale must be a finite number > 0");
  if (a.num_splits_bound < 1 || a.num_splits_bound > a.caps.max_num_splits)
    return invalid(range("numSplitsBound", a.num_splits_bound, 1, a.caps.max_num_splits));
  if (a.sm_count < 1 || a.sm_count > 4096) return invalid(range("smCount", a.sm_count, 1, 4096));

  const SchedShape s = sched_shape(a.caps);
  const WorkspaceLayout l = workspace_layout(s);
  char* ws = reinterpret_cast<char*>(a.workspace);
  ForwardParams p;
  p.q = reinterpret_cast<const void*>(a.q);
  p.k_cache = reinterpret_cast<const void*>(a.k_cache);
  p.v_cache = reinterpret_cast<const void*>(a.v_cache);
  p.out = reinterpret_cast<void*>(a.out);
  p.lse = reinterpret_cast<float*>(a.lse);
  p.page_table = reinterpret_cast<const int*>(a.page_table);
  p.page_table_stride = a.page_table_stride;
  p.cu_seqlens_q = reinterpret_cast<const int*>(a.cu_seqlens_q);
  p.seq_lens = reinterpret_cast<const int*>(a.seq_lens);
  p.num_reqs = a.num_reqs;
  p.q_rows = static_cast<int>(std::min<int64_t>(s.max_num_tokens, static_cast<int64_t>(a.num_reqs) * a.max_seqlen_q));
  p.num_pages = a.caps.num_pages;
  p.page_shift = -1;
  for (int sh = 4; sh < 31; ++sh)
    if ((1 << sh) == a.caps.page_size) p.page_shift = sh;
  p.shape = s;
  p.split_bound = split_bound(a.num_splits_bound, s);
  const double log2e = 1.4426950408889634;
  p.scale_log2 = static_cast<float>(a.softmax_scale * log2e);
  p.has_softcap = a.caps.softcap > 0.f;
  p.softcap_pre = p.has_softcap ? static_cast<float>(a.softmax_scale / a.caps.softcap) : 0.f;
  p.softcap_post = p.has_softcap ? static_cast<float>(a.caps.softcap * log2e) : 0.f;
  p.causal = a.caps.causal;
  p.window_left = a.caps.window_left;
  p.window_right = a.caps.causal ? 0 : a.caps.window_right;
  p.sinks = reinterpret_cast<const float*>(a.sinks);
  p.splits = reinterpret_cast<const int*>(ws + l.splits_offset);
  p.tile_offsets = reinterpret_cast<const int*>(ws + l.tile_offsets_offset);
  p.order = reinterpret_cast<const int*>(ws + l.order_offset);
  p.counters = reinterpret_cast<int*>(ws + l.counters_offset);
  p.o_partial = reinterpret_cast<float*>(ws + l.o_partial_offset);
  p.lse_partial = reinterpret_cast<float*>(ws + l.lse_partial_offset);
  p.max_total_tiles = static_cast<int>(max_total_tiles(s, layout_tile_shape(s.head_dim, qheads_per_kvhead(s))));
  p.k_descale = reinterpret_cast<const float*>(a.k_descale);
  p.v_descale = reinterpret_cast<const float*>(a.v_descale);
  p.kv_fp8_fast = a.fp8_fast ? 1 : 0;
#ifdef FA3_TRACE
  p.trace = g_trace_forward;
#endif
  return from_cuda(dispatch_forward(p, kernel, a.caps.head_dim, static_cast<DType>(a.caps.dtype), kv_fp8,
                                    a.sm_count, reinterpret_cast<cudaStream_t>(a.stream)),
                   "forward launch");
}

Result write_kv_cache(const KvWriteArgs& a) {
  Result r = validate_caps(a.caps);
  if (!r.ok()) return r;
  if (a.num_tokens < 0 || a.num_tokens > a.caps.max_num_tokens)
    return invalid(range("numTokens", a.num_tokens, 0, a.caps.max_num_tokens));
  if (a.num_tokens == 0) return Result{};
  if (!(r = check_ptr("key", a.key, 16)).ok()) return r;
  if (!(r = check_ptr("value", a.value, 16)).ok()) return r;
  if (!(r = check_ptr("kCache", a.k_cache, 16)).ok()) return r;
  if (!(r = check_ptr("vCache", a.v_cache, 16)).ok()) return r;
  if (!(r = check_ptr("slotMapping", a.slot_mapping, 4)).ok()) return r;
  if (!(r = check_descales(a.caps, a.k_descale, a.v_descale)).ok()) return r;
  KvWriteParams p;
  p.key = reinterpret_cast<const void*>(a.key);
  p.value = reinterpret_cast<const void*>(a.value);
  p.k_cache = reinterpret_cast<void*>(a.k_cache);
  p.v_cache = reinterpret_cast<void*>(a.v_cache);
  p.slot_mapping = reinterpret_cast<const int*>(a.slot_mapping);
  p.num_tokens = a.num_tokens;
  p.num_slots = static_cast<int64_t>(a.caps.num_pages) * a.caps.page_size;
  p.row_chunks = a.caps.num_heads_kv * a.caps.head_dim / 8;
  p.kv_fp8 = kv_is_fp8(a.caps);
  p.dtype = static_cast<DType>(a.caps.dtype);
  p.head_chunks = a.caps.head_dim / 8;
  p.k_descale = reinterpret_cast<const float*>(a.k_descale);
  p.v_descale = reinterpret_cast<const float*>(a.v_descale);
  return from_cuda(launch_kv_write(p, reinterpret_cast<cudaStream_t>(a.stream)), "writeKvCache launch");
}

}  // namespace fa3
