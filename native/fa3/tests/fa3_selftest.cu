// Standalone self-test and benchmark of the fa3 kernels through the plain C++ API (no Node):
//   correctness  random configs (varlen, GQA, causal / window / softcap, pages 16/32/64/256/48/80,
//                splits, bf16 / fp16, D 64/128/256, invalid page ids) against a CPU fp64
//                reference; device metadata == host plan; bit-identical reruns; KV write.
//   prepare      numReqs 1, 7, 992, 993, 4096 and the stale-tail metadata case.
//   graph        capture schedule + forward with short sequences, replay with long ones (the
//                vLLM PR #20301 crash scenario) at several capture sizes; eager == replay bit for
//                bit; stale tail (big batch then small padded batch); 32 layers on one prepare;
//                corrupt metadata is memory safe and heals on the next prepare.
//   race         tiny cases per head dim and page size 16 / 32 / 64 / 256, and one-split cases whose
//                K / V rings wrap (for compute-sanitizer).
//   bench        decode grid (GB/s vs a measured D2D copy), B=1 4k step latency in a graph,
//                prefill TFLOP/s.
//   prefill      (not in all) the prefill grid on the kernel this process picks, per head dim.
// Usage: fa3_selftest [all|correctness|prepare|graph|race|bench|prefill]... [--configs N]
//        [--seed S] [--json FILE] [--dims 64,128,256] [--pages 16,32,64,256]
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "../kernels/api.h"
#include "../kernels/launchers.h"
#include "../kernels/trace.h"

#define CK(x)                                                                                     \
  do {                                                                                            \
    cudaError_t e_ = (x);                                                                         \
    if (e_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__, __LINE__, \
                   cudaGetErrorString(e_));                                                       \
      std::exit(2);                                                                               \
    }                                                                                             \
  } while (0)
#define CKR(x)                                                                        \
  do {                                                                                \
    fa3::Result r_ = (x);                                                             \
    if (!r_.ok()) {                                                                   \
      std::fprintf(stderr, "fa3 error at %s:%d: %s\n", __FILE__, __LINE__, r_.message.c_str()); \
      std::exit(2);                                                                   \
    }                                                                                 \
  } while (0)

namespace {

int g_failures = 0, g_checks = 0;
int g_sm = 0;
std::string g_summary;

void check(bool ok, const char* what, const std::string& detail = "") {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    std::printf("FAIL %s %s\n", what, detail.c_str());
  }
}

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1)); }
  float uniform() { return static_cast<float>((next() >> 40) * (1.0 / 16777216.0)); }
  bool chance(double p) { return uniform() < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[next() % v.size()]; }
};

uint16_t to_half_bits(float f, int dtype) {
  if (dtype == 0) {
    __nv_bfloat16 b = __float2bfloat16_rn(f);
    uint16_t u;
    std::memcpy(&u, &b, 2);
    return u;
  }
  __half h = __float2half_rn(f);
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}
float from_half_bits(uint16_t u, int dtype) {
  if (dtype == 0) {
    uint32_t x = static_cast<uint32_t>(u) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
  }
  __half_raw r;
  r.x = u;
  return __half2float(__half(r));
}

// Rows of the CPU reference spread over every core (no OpenMP runtime needed on the device).
void parallel_for(long long n, const std::function<void(long long)>& body) {
  const int workers = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<long long> next{0};
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&] {
      for (long long i; (i = next.fetch_add(1)) < n;) body(i);
    });
  for (auto& t : pool) t.join();
}

template <typename T>
T* dalloc(size_t count) {
  T* p = nullptr;
  CK(cudaMalloc(&p, std::max<size_t>(count, 1) * sizeof(T)));
  return p;
}

// ------------------------------------------------------------------------------------------
// One attention problem: host data, device buffers, the C++ API calls and the CPU reference.
struct Config {
  int head_dim = 128, dtype = 0, hq = 8, hkv = 2, page = 16, max_splits = 16, num_splits = 0;
  bool causal = true;
  int wl = -1, wr = -1;
  float softcap = 0.f;
  float q_scale = 1.f;  // larger = peakier attention
  std::vector<int> q_lens, k_lens;
  int extra_reqs = 0, extra_tokens = 0, extra_pages_per_req = 0;
  bool bad_pages = false;  // some page ids inside k_len out of range (masked by the kernel)
  bool sinks = false;      // attention sinks: one random logit per query head (some -inf)
  bool nan_tail = false;   // the slots past k_len in each request's last page hold NaN (never read)
  int bad_page_at = -1;    // >= 0: request 0's page-table entry of that index is out of range
  std::string describe() const {
    char b[288];
    int maxq = 0, maxk = 0;
    for (int x : q_lens) maxq = std::max(maxq, x);
    for (int x : k_lens) maxk = std::max(maxk, x);
    std::snprintf(b, sizeof b, "D=%d %s Hq=%d Hkv=%d page=%d S=%d ns=%d causal=%d win=[%d,%d] softcap=%g B=%zu maxq=%d maxk=%d%s%s",
                  head_dim, dtype ? "fp16" : "bf16", hq, hkv, page, max_splits, num_splits, causal, wl, wr, softcap,
                  q_lens.size(), maxq, maxk, bad_pages ? " badpages" : "", sinks ? " sinks" : "");
    return b;
  }
};

struct Problem {
  Config c;
  fa3::Caps caps;
  int B = 0, total_q = 0, pt_stride = 0;
  std::vector<int> cu, seq, pt;
  std::vector<uint16_t> qh, kh, vh;
  std::vector<float> sink_vals;  // [Hq] when c.sinks
  // device
  uint16_t *dq = nullptr, *dk = nullptr, *dv = nullptr, *dout = nullptr;
  float* dlse = nullptr;
  float* dsinks = nullptr;
  int *dpt = nullptr, *dcu = nullptr, *dseq = nullptr;
  char* dws = nullptr;
  fa3::WorkspaceLayout layout{};
  size_t out_elems = 0, lse_elems = 0;
  cudaStream_t stream = nullptr;
  // maxSeqlenQ passed to forward: -1 = the true maximum (the kernel the host would pick); 0 =
  // understated, so the decode kernel takes every tile, however long its queries.
  int max_q_arg = -1;

  int max_q() const {
    int m = 0;
    for (int b = 0; b < B; ++b) m = std::max(m, cu[b + 1] - cu[b]);
    return m;
  }
  int max_q_used() const { return max_q_arg >= 0 ? max_q_arg : max_q(); }
  // The kernel prepare and forward pick for this problem (FLASHGRAPH_FA3_KERNEL applies).
  int kernel() const { return fa3::step_kernel(max_q_used(), c.hq / c.hkv, c.head_dim); }

  void build(const Config& cfg, Rng& rng) {
    c = cfg;
    B = static_cast<int>(c.q_lens.size());
    cu.assign(B + 1, 0);
    for (int b = 0; b < B; ++b) cu[b + 1] = cu[b] + c.q_lens[b];
    total_q = cu[B];
    seq = c.k_lens;
    int max_pages = 1;
    int total_pages = 0;
    for (int k : seq) {
      max_pages = std::max(max_pages, (k + c.page - 1) / c.page);
      total_pages += (k + c.page - 1) / c.page;
    }
    caps.num_heads_q = c.hq;
    caps.num_heads_kv = c.hkv;
    caps.head_dim = c.head_dim;
    caps.dtype = c.dtype;
    caps.page_size = c.page;
    caps.num_pages = total_pages + 3;
    caps.max_num_reqs = B + c.extra_reqs;
    caps.max_num_tokens = std::max(1, total_q + c.extra_tokens);
    caps.max_num_pages_per_req = max_pages + c.extra_pages_per_req;
    caps.max_num_splits = c.max_splits;
    caps.causal = c.causal;
    caps.window_left = c.wl;
    caps.window_right = c.causal ? (c.wr < 0 ? -1 : 0) : c.wr;
    caps.softcap = c.softcap;
    pt_stride = caps.max_num_pages_per_req + 1;
    // Page table: a random permutation of pages; unused entries hold junk ids the kernel must
    // never dereference (out of range or valid-but-foreign).
    std::vector<int> perm(caps.num_pages);
    for (int i = 0; i < caps.num_pages; ++i) perm[i] = i;
    for (int i = caps.num_pages - 1; i > 0; --i) std::swap(perm[i], perm[rng.next() % (i + 1)]);
    pt.assign(static_cast<size_t>(caps.max_num_reqs) * pt_stride, 0);
    for (auto& x : pt) x = rng.chance(0.5) ? -7 - rng.range(0, 1000) : caps.num_pages + rng.range(0, 1000);
    int next = 0;
    for (int b = 0; b < B; ++b) {
      const int np = (seq[b] + c.page - 1) / c.page;
      for (int j = 0; j < np; ++j) {
        int id = perm[next++];
        if (c.bad_pages && rng.chance(0.05)) id = rng.chance(0.5) ? -1 - rng.range(0, 5) : caps.num_pages + rng.range(0, 5);
        if (b == 0 && j == c.bad_page_at) id = caps.num_pages + 1;
        pt[static_cast<size_t>(b) * pt_stride + j] = id;
      }
    }
    const size_t kv_elems = static_cast<size_t>(caps.num_pages) * c.page * c.hkv * c.head_dim;
    out_elems = static_cast<size_t>(caps.max_num_tokens) * c.hq * c.head_dim;
    lse_elems = static_cast<size_t>(c.hq) * caps.max_num_tokens;
    qh.resize(out_elems);
    kh.resize(kv_elems);
    vh.resize(kv_elems);
    for (auto& x : qh) x = to_half_bits((rng.uniform() * 2 - 1) * c.q_scale, c.dtype);
    for (auto& x : kh) x = to_half_bits(rng.uniform() * 2 - 1, c.dtype);
    for (auto& x : vh) x = to_half_bits(rng.uniform() * 2 - 1, c.dtype);
    // Sinks around the rows' LSE (log of the context, give or take): from almost no weight to
    // almost all of it; one head in 8 without (-inf).
    sink_vals.clear();
    if (c.sinks)
      for (int h = 0; h < c.hq; ++h) sink_vals.push_back(rng.chance(0.125) ? -INFINITY : rng.uniform() * 16.f - 4.f);
    if (c.nan_tail) {
      const uint16_t nan_bits = c.dtype ? 0x7E00 : 0x7FC0;
      for (int b = 0; b < B; ++b) {
        const int np = (seq[b] + c.page - 1) / c.page;
        const int id = np > 0 ? pt[static_cast<size_t>(b) * pt_stride + np - 1] : -1;
        if (id < 0 || id >= caps.num_pages) continue;
        for (int slot = seq[b] - (np - 1) * c.page; slot < c.page; ++slot)
          for (size_t e = 0; e < static_cast<size_t>(c.hkv) * c.head_dim; ++e) {
            const size_t i = (static_cast<size_t>(id) * c.page + slot) * c.hkv * c.head_dim + e;
            kh[i] = nan_bits;
            vh[i] = nan_bits;
          }
      }
    }

    CKR(fa3::workspace_layout_checked(caps, &layout));
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    dq = dalloc<uint16_t>(out_elems);
    dout = dalloc<uint16_t>(out_elems);
    dk = dalloc<uint16_t>(kv_elems);
    dv = dalloc<uint16_t>(kv_elems);
    dlse = dalloc<float>(lse_elems);
    dpt = dalloc<int>(pt.size());
    dcu = dalloc<int>(caps.max_num_reqs + 1);
    dseq = dalloc<int>(caps.max_num_reqs);
    dws = dalloc<char>(layout.total_bytes);
    if (c.sinks) {
      dsinks = dalloc<float>(c.hq);
      CK(cudaMemcpy(dsinks, sink_vals.data(), c.hq * 4, cudaMemcpyHostToDevice));
    }
    CK(cudaMemcpy(dq, qh.data(), out_elems * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dk, kh.data(), kv_elems * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dv, vh.data(), kv_elems * 2, cudaMemcpyHostToDevice));
    upload_lengths();
    // Poison the workspace: nothing may depend on its initial contents.
    CK(cudaMemset(dws, 0xA5, layout.total_bytes));
  }
  void upload_lengths() {
    CK(cudaMemcpy(dpt, pt.data(), pt.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dcu, cu.data(), cu.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dseq, seq.data(), seq.size() * 4, cudaMemcpyHostToDevice));
  }
  void release() {
    cudaFree(dq); cudaFree(dout); cudaFree(dk); cudaFree(dv); cudaFree(dlse);
    cudaFree(dpt); cudaFree(dcu); cudaFree(dseq); cudaFree(dws); cudaFree(dsinks);
    if (stream) cudaStreamDestroy(stream);
  }
  int step_bound() const {
    int maxq = 0, maxk = 0;
    for (int b = 0; b < B; ++b) maxq = std::max(maxq, cu[b + 1] - cu[b]), maxk = std::max(maxk, seq[b]);
    int bound = 1;
    CKR(fa3::resolve_num_splits_checked(caps, c.num_splits, maxq, maxk, g_sm, &bound));
    return bound;
  }
  fa3::PrepareArgs prepare_args(int num_reqs, int bound) const {
    fa3::PrepareArgs a;
    a.stream = reinterpret_cast<uintptr_t>(stream);
    a.workspace = reinterpret_cast<uintptr_t>(dws);
    a.caps = caps;
    a.cu_seqlens_q = reinterpret_cast<uintptr_t>(dcu);
    a.seq_lens = reinterpret_cast<uintptr_t>(dseq);
    a.num_reqs = num_reqs;
    a.max_seqlen_q = max_q_used();
    a.num_splits_bound = bound;
    a.sm_count = g_sm;
    return a;
  }
  fa3::ForwardArgs forward_args(int num_reqs, int bound, uint16_t* out = nullptr, float* lse = nullptr) const {
    fa3::ForwardArgs a;
    a.stream = reinterpret_cast<uintptr_t>(stream);
    a.workspace = reinterpret_cast<uintptr_t>(dws);
    a.caps = caps;
    a.q = reinterpret_cast<uintptr_t>(dq);
    a.k_cache = reinterpret_cast<uintptr_t>(dk);
    a.v_cache = reinterpret_cast<uintptr_t>(dv);
    a.out = reinterpret_cast<uintptr_t>(out ? out : dout);
    a.lse = reinterpret_cast<uintptr_t>(lse ? lse : dlse);
    a.sinks = reinterpret_cast<uintptr_t>(dsinks);
    a.page_table = reinterpret_cast<uintptr_t>(dpt);
    a.page_table_stride = pt_stride;
    a.cu_seqlens_q = reinterpret_cast<uintptr_t>(dcu);
    a.seq_lens = reinterpret_cast<uintptr_t>(dseq);
    a.num_reqs = num_reqs;
    a.max_seqlen_q = max_q_arg >= 0 ? max_q_arg : max_q();
    a.max_seqlen_k = 0;
    a.softmax_scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
    a.num_splits_bound = bound;
    a.sm_count = g_sm;
    return a;
  }
  void poison() {
    CK(cudaMemsetAsync(dout, 0xFF, out_elems * 2, stream));
    CK(cudaMemsetAsync(dlse, 0xFF, lse_elems * 4, stream));
  }
  void run(int bound) {
    CKR(fa3::prepare(prepare_args(B, bound)));
    CKR(fa3::forward(forward_args(B, bound)));
  }
  void read(std::vector<uint16_t>& out, std::vector<float>& lse) {
    CK(cudaStreamSynchronize(stream));
    CK(cudaGetLastError());
    out.resize(out_elems);
    lse.resize(lse_elems);
    CK(cudaMemcpy(out.data(), dout, out_elems * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(lse.data(), dlse, lse_elems * 4, cudaMemcpyDeviceToHost));
  }

  // CPU fp64 reference of the exact semantics (invalid pages masked; a sink joins the denominator
  // only, so a row that sees no key has zeros and LSE = its sink).
  void reference(std::vector<double>& out, std::vector<double>& lse) const {
    const int D = c.head_dim, G = c.hq / c.hkv;
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    out.assign(static_cast<size_t>(total_q) * c.hq * D, 0.0);
    lse.assign(static_cast<size_t>(c.hq) * total_q, -INFINITY);
    std::vector<float> kf(kh.size()), vf(vh.size()), qf(static_cast<size_t>(total_q) * c.hq * D);
    for (size_t i = 0; i < kh.size(); ++i) kf[i] = from_half_bits(kh[i], c.dtype), vf[i] = from_half_bits(vh[i], c.dtype);
    for (size_t i = 0; i < qf.size(); ++i) qf[i] = from_half_bits(qh[i], c.dtype);
    std::vector<std::pair<int, int>> rows;  // (request, token within)
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < cu[b + 1] - cu[b]; ++i) rows.push_back({b, i});
    const int right = c.causal ? 0 : caps.window_right;
    parallel_for(static_cast<long long>(rows.size()) * c.hq, [&](long long ri) {
      const int b = rows[ri / c.hq].first, i = rows[ri / c.hq].second, h = static_cast<int>(ri % c.hq);
      const int kvh = h / G;
      const int ql = cu[b + 1] - cu[b], kl = seq[b];
      const long long diag = static_cast<long long>(kl) - ql + i;
      const int tok = cu[b] + i;
      const float* qv = &qf[(static_cast<size_t>(tok) * c.hq + h) * D];
      std::vector<double> s(kl);
      std::vector<const float*> vrow(kl, nullptr);
      const double sink = c.sinks ? sink_vals[h] : -INFINITY;
      double mx = sink;
      for (int j = 0; j < kl; ++j) {
        s[j] = -INFINITY;
        if (right >= 0 && j > diag + right) continue;
        if (c.wl >= 0 && j < diag - c.wl) continue;
        const int page = pt[static_cast<size_t>(b) * pt_stride + j / c.page];
        if (page < 0 || page >= caps.num_pages) continue;
        const size_t off = ((static_cast<size_t>(page) * c.page + j % c.page) * c.hkv + kvh) * D;
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += static_cast<double>(qv[d]) * kf[off + d];
        double x = dot * scale;
        if (c.softcap > 0) x = c.softcap * std::tanh(x / c.softcap);
        s[j] = x;
        vrow[j] = &vf[off];
        mx = std::max(mx, x);
      }
      if (mx == -INFINITY) return;
      double sum = sink == -INFINITY ? 0 : std::exp(sink - mx);
      std::vector<double> acc(D, 0.0);
      for (int j = 0; j < kl; ++j) {
        if (s[j] == -INFINITY) continue;
        const double p = std::exp(s[j] - mx);
        sum += p;
        for (int d = 0; d < D; ++d) acc[d] += p * vrow[j][d];
      }
      for (int d = 0; d < D; ++d) out[(static_cast<size_t>(tok) * c.hq + h) * D + d] = acc[d] / sum;
      lse[static_cast<size_t>(h) * total_q + tok] = mx + std::log(sum);
    });
  }
};

struct Errors {
  double out_rel = 0, lse_max = 0;
  long long nan = 0, lse_inf_mismatch = 0;
};

Errors compare(const Problem& pb, const std::vector<uint16_t>& out, const std::vector<float>& lse,
               const std::vector<double>& ref, const std::vector<double>& ref_lse, int first_tok = 0,
               int end_tok = -1) {
  Errors e;
  const int D = pb.c.head_dim;
  if (end_tok < 0) end_tok = pb.total_q;
  double num = 0, den = 0;
  for (size_t t = first_tok; t < static_cast<size_t>(end_tok); ++t)
    for (int h = 0; h < pb.c.hq; ++h)
      for (int d = 0; d < D; ++d) {
        const size_t i = (t * pb.c.hq + h) * D + d;
        const double g = from_half_bits(out[i], pb.c.dtype);
        if (std::isnan(g)) ++e.nan;
        num += (g - ref[i]) * (g - ref[i]);
        den += ref[i] * ref[i];
      }
  e.out_rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  for (int h = 0; h < pb.c.hq; ++h)
    for (int t = first_tok; t < end_tok; ++t) {
      const double r = ref_lse[static_cast<size_t>(h) * pb.total_q + t];
      const double g = lse[static_cast<size_t>(h) * pb.total_q + t];
      if (std::isnan(g)) {
        ++e.nan;
        continue;
      }
      if (std::isinf(r) || std::isinf(g)) {
        if (!(std::isinf(r) && std::isinf(g) && r < 0 && g < 0)) ++e.lse_inf_mismatch;
        continue;
      }
      e.lse_max = std::max(e.lse_max, std::fabs(g - r) / std::max(1.0, std::fabs(r)));
    }
  return e;
}

bool errors_ok(const Errors& e) { return e.nan == 0 && e.lse_inf_mismatch == 0 && e.out_rel <= 1e-2 && e.lse_max <= 1e-3; }

// One step on poisoned outputs at split bound `bound`, compared with the fp64 reference.
Errors run_and_compare(Problem& pb, int bound) {
  pb.poison();
  pb.run(bound);
  std::vector<uint16_t> out;
  std::vector<float> lse;
  pb.read(out, lse);
  std::vector<double> ref, ref_lse;
  pb.reference(ref, ref_lse);
  return compare(pb, out, lse, ref, ref_lse);
}
std::string errors_str(const Errors& e) {
  char b[160];
  std::snprintf(b, sizeof b, "out_rel=%.2e lse=%.2e nan=%lld inf_mismatch=%lld", e.out_rel, e.lse_max, e.nan,
                e.lse_inf_mismatch);
  return b;
}

// Device metadata vs the host plan, over the whole capacity (tail zeroed, offsets repeated).
bool metadata_matches(const Problem& pb, int num_reqs, int bound, std::string* why) {
  std::vector<int> splits(pb.caps.max_num_reqs), offs(pb.caps.max_num_reqs + 1), order(pb.caps.max_num_reqs);
  CK(cudaStreamSynchronize(pb.stream));
  CK(cudaMemcpy(splits.data(), pb.dws + pb.layout.splits_offset, splits.size() * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(offs.data(), pb.dws + pb.layout.tile_offsets_offset, offs.size() * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(order.data(), pb.dws + pb.layout.order_offset, order.size() * 4, cudaMemcpyDeviceToHost));
  std::vector<int> hs(num_reqs), ho(num_reqs + 1), hord(num_reqs);
  int total = 0;
  CKR(fa3::plan_splits_host(pb.caps, pb.cu.data(), pb.seq.data(), num_reqs, bound, g_sm, pb.kernel(), hs.data(),
                            ho.data(), hord.data(), &total));
  for (int b = 0; b < pb.caps.max_num_reqs; ++b) {
    const int want_s = b < num_reqs ? hs[b] : 0;
    const int want_o = b <= num_reqs ? ho[b] : total;
    const int want_r = b < num_reqs ? hord[b] : b;
    if (splits[b] != want_s || offs[b] != want_o || order[b] != want_r) {
      *why = "b=" + std::to_string(b) + " splits " + std::to_string(splits[b]) + " vs " + std::to_string(want_s) +
             " offset " + std::to_string(offs[b]) + " vs " + std::to_string(want_o) + " order " +
             std::to_string(order[b]) + " vs " + std::to_string(want_r);
      return false;
    }
  }
  if (offs[pb.caps.max_num_reqs] != total) {
    *why = "total " + std::to_string(offs[pb.caps.max_num_reqs]) + " vs " + std::to_string(total);
    return false;
  }
  // Counters are back at zero after a forward (the kernels reset them themselves).
  return true;
}

bool counters_zero(const Problem& pb) {
  std::vector<int> ctr(pb.layout.counters_bytes / 4);
  CK(cudaStreamSynchronize(pb.stream));
  CK(cudaMemcpy(ctr.data(), pb.dws + pb.layout.counters_offset, pb.layout.counters_bytes, cudaMemcpyDeviceToHost));
  for (int x : ctr)
    if (x != 0) return false;
  return true;
}

// ------------------------------------------------------------------------------------------
Config random_config(Rng& rng) {
  Config c;
  c.head_dim = rng.pick(std::vector<int>{64, 96, 128, 128, 192, 256});
  c.dtype = rng.chance(0.5) ? 0 : 1;
  const int g = rng.pick(std::vector<int>{1, 2, 4, 8});
  c.hkv = rng.pick(std::vector<int>{1, 2, 4});
  c.hq = g * c.hkv;
  // 16 / 32 / 64: the wgmma kernel's TMA per page of a block; 256: per block; 48, 80:
  // non-power-of-two pages (the cp.async gather).
  c.page = rng.pick(std::vector<int>{16, 16, 32, 64, 64, 256, 256, 48, 80});
  c.max_splits = rng.pick(std::vector<int>{1, 4, 16, 32, 128});
  c.num_splits = rng.chance(0.6) ? 0 : rng.range(1, c.max_splits);
  c.causal = rng.chance(0.6);
  if (rng.chance(0.25)) {
    c.wl = rng.range(0, 700);
    c.wr = c.causal ? 0 : (rng.chance(0.5) ? -1 : rng.range(0, 300));
  }
  if (rng.chance(0.2)) c.softcap = 10.f + 40.f * rng.uniform();
  c.q_scale = rng.chance(0.3) ? 4.f : 1.f;
  c.bad_pages = rng.chance(0.1);
  const int kind = rng.range(0, 9);
  int B = 0;
  if (kind <= 4) B = rng.range(1, 48);        // decode-ish
  else if (kind <= 7) B = rng.range(1, 6);    // prefill / mixed
  else B = rng.range(100, 1200);              // many requests, short
  for (int b = 0; b < B; ++b) {
    int q, k;
    if (kind <= 4) {
      q = rng.range(1, 8);
      k = rng.chance(0.1) ? rng.range(0, 40) : rng.range(1, rng.chance(0.3) ? 32768 : 4096);
    } else if (kind <= 7) {
      q = rng.chance(0.5) ? rng.range(1, 512) : rng.range(1, 8);
      k = q + rng.range(0, rng.chance(0.3) ? 8192 : 1024);
      if (rng.chance(0.1)) k = rng.range(0, q);  // fewer keys than queries: empty causal rows
    } else {
      q = rng.chance(0.1) ? 0 : rng.range(1, 4);
      k = rng.range(0, 300);
    }
    c.q_lens.push_back(q);
    c.k_lens.push_back(k);
  }
  // Keep the CPU reference affordable: sum q * k * Hq * D <= 2e8.
  for (;;) {
    double work = 0;
    for (int b = 0; b < B; ++b) work += static_cast<double>(c.q_lens[b]) * c.k_lens[b] * c.hq * c.head_dim;
    if (work <= 2e8) break;
    for (int b = 0; b < B; ++b) c.k_lens[b] = c.k_lens[b] / 2, c.q_lens[b] = std::max(c.q_lens[b] > 0 ? 1 : 0, c.q_lens[b] * 3 / 4);
  }
  c.extra_reqs = rng.chance(0.5) ? rng.range(0, 50) : 0;
  c.extra_tokens = rng.chance(0.5) ? rng.range(0, 100) : 0;
  c.extra_pages_per_req = rng.range(0, 3);
  c.sinks = rng.chance(0.3);
  return c;
}

void run_correctness(int n_configs, uint64_t seed) {
  Rng rng(seed);
  int pass = 0, n_kernel[3] = {0, 0, 0};
  double worst_out = 0, worst_lse = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n_configs; ++i) {
    Config c = random_config(rng);
    Problem pb;
    pb.build(c, rng);
    if (i % 4 == 3) pb.max_q_arg = 0;  // every 4th: the decode kernel on whatever the queries are
    n_kernel[pb.kernel()] += 1;
    const int bound = pb.step_bound();
    pb.poison();
    pb.run(bound);
    std::vector<uint16_t> out;
    std::vector<float> lse;
    pb.read(out, lse);
    std::string why;
    const bool meta = metadata_matches(pb, pb.B, bound, &why);
    const bool ctr = counters_zero(pb);
    std::vector<double> ref, ref_lse;
    pb.reference(ref, ref_lse);
    const Errors e = compare(pb, out, lse, ref, ref_lse);
    // Rerun forward only (same metadata): the counters reset themselves; bytes identical.
    CKR(fa3::forward(pb.forward_args(pb.B, bound)));
    std::vector<uint16_t> out2;
    std::vector<float> lse2;
    pb.read(out2, lse2);
    const bool same = std::memcmp(out.data(), out2.data(), out.size() * 2) == 0 &&
                      std::memcmp(lse.data(), lse2.data(), lse.size() * 4) == 0;
    const bool ok = errors_ok(e) && meta && ctr && same;
    worst_out = std::max(worst_out, e.out_rel);
    worst_lse = std::max(worst_lse, e.lse_max);
    if (ok) ++pass;
    check(ok, "config", "#" + std::to_string(i) + " " + c.describe() + " [" + fa3::kernel_name(pb.kernel()) + " kernel, maxq arg " + std::to_string(pb.max_q_arg) + "]" + " bound=" + std::to_string(bound) + " " +
                            errors_str(e) + (meta ? "" : " META:" + why) + (ctr ? "" : " COUNTERS") +
                            (same ? "" : " NOT-BIT-IDENTICAL"));
    pb.release();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char b[256];
  std::snprintf(b, sizeof b,
                "correctness: %d/%d configs pass (%d on the general kernel, %d on the decode kernel, %d on the wgmma "
                "kernel; worst out_rel %.2e, worst lse %.2e) in %.0f s\n",
                pass, n_configs, n_kernel[0], n_kernel[1], n_kernel[2], worst_out, worst_lse, secs);
  std::printf("%s", b);
  g_summary += b;
}

// KV-cache write vs a CPU mirror.
void run_kv_write(uint64_t seed) {
  Rng rng(seed);
  int pass = 0, total = 0;
  for (int dtype = 0; dtype < 2; ++dtype)
    for (int D : {64, 96, 128, 192, 256}) {
      ++total;
      fa3::Caps caps;
      caps.num_heads_q = 8; caps.num_heads_kv = 2; caps.head_dim = D; caps.dtype = dtype; caps.page_size = 16;
      caps.num_pages = 64; caps.max_num_reqs = 4; caps.max_num_tokens = 300; caps.max_num_pages_per_req = 16;
      caps.max_num_splits = 4;
      const int n = 257;
      const size_t row = static_cast<size_t>(caps.num_heads_kv) * D;
      const size_t cache_elems = static_cast<size_t>(caps.num_pages) * caps.page_size * row;
      std::vector<uint16_t> key(n * row), val(n * row), kc(cache_elems), vc(cache_elems);
      for (auto& x : key) x = static_cast<uint16_t>(rng.next());
      for (auto& x : val) x = static_cast<uint16_t>(rng.next());
      for (auto& x : kc) x = static_cast<uint16_t>(rng.next());
      vc = kc;
      std::vector<int> slots(n);
      std::vector<int> perm(caps.num_pages * caps.page_size);
      for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
      for (size_t i = perm.size() - 1; i > 0; --i) std::swap(perm[i], perm[rng.next() % (i + 1)]);
      for (int t = 0; t < n; ++t) slots[t] = rng.chance(0.2) ? -1 : perm[t];
      slots[3] = caps.num_pages * caps.page_size + 5;  // out of range: skipped too
      uint16_t *dkey = dalloc<uint16_t>(key.size()), *dval = dalloc<uint16_t>(val.size());
      uint16_t *dkc = dalloc<uint16_t>(cache_elems), *dvc = dalloc<uint16_t>(cache_elems);
      int* dslots = dalloc<int>(n);
      CK(cudaMemcpy(dkey, key.data(), key.size() * 2, cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dval, val.data(), val.size() * 2, cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dkc, kc.data(), cache_elems * 2, cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dvc, vc.data(), cache_elems * 2, cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dslots, slots.data(), n * 4, cudaMemcpyHostToDevice));
      fa3::KvWriteArgs a;
      a.caps = caps;
      a.key = reinterpret_cast<uintptr_t>(dkey); a.value = reinterpret_cast<uintptr_t>(dval);
      a.k_cache = reinterpret_cast<uintptr_t>(dkc); a.v_cache = reinterpret_cast<uintptr_t>(dvc);
      a.slot_mapping = reinterpret_cast<uintptr_t>(dslots);
      a.num_tokens = n;
      CKR(fa3::write_kv_cache(a));
      CK(cudaDeviceSynchronize());
      for (int t = 0; t < n; ++t) {
        const int s = slots[t];
        if (s < 0 || s >= caps.num_pages * caps.page_size) continue;
        std::memcpy(&kc[s * row], &key[t * row], row * 2);
        std::memcpy(&vc[s * row], &val[t * row], row * 2);
      }
      std::vector<uint16_t> gk(cache_elems), gv(cache_elems);
      CK(cudaMemcpy(gk.data(), dkc, cache_elems * 2, cudaMemcpyDeviceToHost));
      CK(cudaMemcpy(gv.data(), dvc, cache_elems * 2, cudaMemcpyDeviceToHost));
      const bool ok = gk == kc && gv == vc;
      pass += ok;
      check(ok, "kv_write", "D=" + std::to_string(D) + " dtype=" + std::to_string(dtype));
      cudaFree(dkey); cudaFree(dval); cudaFree(dkc); cudaFree(dvc); cudaFree(dslots);
    }
  char b[128];
  std::snprintf(b, sizeof b, "kv_write: %d/%d pass\n", pass, total);
  std::printf("%s", b);
  g_summary += b;
}

// Prepare at numReqs 1, 7, 992, 993, 4096 on one workspace (capacity 4096), then 7 again after
// 4096 (stale tail), each checked against the host plan over the whole capacity.
void run_prepare(uint64_t seed) {
  Rng rng(seed);
  Config c;
  // Small heads keep the host copy of the cache small; a few long requests still get splits.
  c.head_dim = 64; c.hq = 4; c.hkv = 1; c.page = 16; c.max_splits = 32;
  for (int b = 0; b < 4096; ++b) {
    c.q_lens.push_back(rng.chance(0.05) ? 0 : rng.range(1, 4));
    c.k_lens.push_back(b % 200 == 0 ? rng.range(20000, 30000) : rng.range(0, 400));
  }
  Problem pb;
  pb.build(c, rng);
  int pass = 0, total = 0;
  for (int n : {1, 7, 992, 993, 4096, 7, 0}) {
    for (int bound : {1, 5, 32}) {
      ++total;
      CKR(fa3::prepare(pb.prepare_args(n, bound)));
      std::string why;
      const bool ok = metadata_matches(pb, n, bound, &why) && counters_zero(pb);
      pass += ok;
      check(ok, "prepare", "numReqs=" + std::to_string(n) + " bound=" + std::to_string(bound) + " " + why);
    }
  }
  // Forward on the full 4096-request batch (dynamic splitting stays on above 992), vs reference.
  const int bound = 32;
  const Errors e = run_and_compare(pb, bound);
  ++total;
  pass += errors_ok(e);
  check(errors_ok(e), "forward-4096", errors_str(e));
  char b[128];
  std::snprintf(b, sizeof b, "prepare: %d/%d pass (numReqs 1/7/992/993/4096/stale 7/0 x bound 1/5/32, forward@4096)\n",
                pass, total);
  std::printf("%s", b);
  g_summary += b;
  pb.release();
}

// ------------------------------------------------------------------------------------------
// Graph scenarios.
cudaGraphExec_t capture(cudaStream_t s, const std::vector<std::function<void()>>& work) {
  cudaGraph_t g;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  for (auto& w : work) w();
  CK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t e;
  CK(cudaGraphInstantiate(&e, g, 0));
  CK(cudaGraphDestroy(g));
  return e;
}

void set_lengths(Problem& pb, const std::vector<int>& q, const std::vector<int>& k, Rng& rng) {
  // Same capacity (B_cap = pb.caps.max_num_reqs); entries past q.size() are padding (0, 0).
  const int cap = pb.caps.max_num_reqs;
  pb.c.q_lens.assign(cap, 0);
  pb.c.k_lens.assign(cap, 0);
  for (size_t b = 0; b < q.size(); ++b) pb.c.q_lens[b] = q[b], pb.c.k_lens[b] = k[b];
  pb.B = cap;
  pb.cu.assign(cap + 1, 0);
  for (int b = 0; b < cap; ++b) pb.cu[b + 1] = pb.cu[b] + pb.c.q_lens[b];
  pb.total_q = pb.cu[cap];
  pb.seq = pb.c.k_lens;
  // Fresh random page assignment within the pool.
  std::vector<int> perm(pb.caps.num_pages);
  for (int i = 0; i < pb.caps.num_pages; ++i) perm[i] = i;
  for (int i = pb.caps.num_pages - 1; i > 0; --i) std::swap(perm[i], perm[rng.next() % (i + 1)]);
  int next = 0;
  for (int b = 0; b < cap; ++b) {
    const int np = (pb.seq[b] + pb.c.page - 1) / pb.c.page;
    for (int j = 0; j < pb.pt_stride; ++j) pb.pt[static_cast<size_t>(b) * pb.pt_stride + j] = j < np ? perm[next++] : -3;
  }
  pb.upload_lengths();
}

void run_graph(uint64_t seed) {
  Rng rng(seed);
  int pass = 0, total = 0;
  auto tally = [&](bool ok, const char* what, const std::string& d) {
    ++total;
    pass += ok;
    check(ok, what, d);
  };
  for (int cap_b : {1, 4, 16}) {
    // Capacity sized for long sequences; S = 16 and Hkv = 2 so long requests want the maximum.
    Config c;
    c.head_dim = 128; c.hq = 16; c.hkv = 2; c.page = 16; c.max_splits = 16; c.causal = true;
    for (int b = 0; b < cap_b; ++b) c.q_lens.push_back(2), c.k_lens.push_back(8192);
    c.extra_pages_per_req = 1;
    Problem pb;
    pb.build(c, rng);
    const int S = c.max_splits;
    // Capture with short sequences.
    std::vector<int> q(cap_b), k(cap_b);
    for (int b = 0; b < cap_b; ++b) q[b] = rng.range(1, 2), k[b] = rng.range(5, 60);
    set_lengths(pb, q, k, rng);
    pb.poison();
    CKR(fa3::prepare(pb.prepare_args(cap_b, S)));
    CKR(fa3::forward(pb.forward_args(cap_b, S)));
    std::vector<uint16_t> eager;
    std::vector<float> eager_lse;
    pb.read(eager, eager_lse);
    cudaGraphExec_t ge = capture(pb.stream, {[&] { CKR(fa3::prepare(pb.prepare_args(cap_b, S))); },
                                             [&] { CKR(fa3::forward(pb.forward_args(cap_b, S))); }});
    pb.poison();
    CK(cudaGraphLaunch(ge, pb.stream));
    std::vector<uint16_t> rep;
    std::vector<float> rep_lse;
    pb.read(rep, rep_lse);
    tally(rep == eager && std::memcmp(rep_lse.data(), eager_lse.data(), rep_lse.size() * 4) == 0, "graph-short-bitident",
          "B=" + std::to_string(cap_b));
    // Replay with long sequences (max splits), three times.
    for (int b = 0; b < cap_b; ++b) q[b] = rng.range(1, 2), k[b] = rng.range(7000, 8192);
    set_lengths(pb, q, k, rng);
    std::vector<double> ref, ref_lse;
    pb.reference(ref, ref_lse);
    std::vector<uint16_t> first;
    for (int r = 0; r < 3; ++r) {
      pb.poison();
      CK(cudaGraphLaunch(ge, pb.stream));
      pb.read(rep, rep_lse);
      const Errors e = compare(pb, rep, rep_lse, ref, ref_lse);
      std::string why;
      const bool meta = metadata_matches(pb, cap_b, S, &why);
      int max_split = 0;
      {
        std::vector<int> sp(cap_b);
        CK(cudaMemcpy(sp.data(), pb.dws + pb.layout.splits_offset, cap_b * 4, cudaMemcpyDeviceToHost));
        for (int x : sp) max_split = std::max(max_split, x);
      }
      if (r == 0) first = rep;
      tally(errors_ok(e) && meta && (r == 0 || rep == first) && counters_zero(pb), "graph-long-replay",
            "B=" + std::to_string(cap_b) + " replay " + std::to_string(r) + " max_split=" + std::to_string(max_split) +
                " " + errors_str(e) + " " + why);
    }
    // Eager on the long batch equals the replay bit for bit.
    pb.poison();
    CKR(fa3::prepare(pb.prepare_args(cap_b, S)));
    CKR(fa3::forward(pb.forward_args(cap_b, S)));
    pb.read(eager, eager_lse);
    tally(eager == first, "graph-eager-equals-replay", "B=" + std::to_string(cap_b));
    CK(cudaGraphExecDestroy(ge));
    pb.release();
  }

  // Stale tail: capture at 16, run 16 long requests, then 3 real + 13 padded on the same graph.
  {
    Config c;
    c.head_dim = 128; c.hq = 16; c.hkv = 2; c.page = 16; c.max_splits = 16; c.causal = true;
    for (int b = 0; b < 16; ++b) c.q_lens.push_back(4), c.k_lens.push_back(4096);
    Problem pb;
    pb.build(c, rng);
    std::vector<int> q(16), k(16);
    for (int b = 0; b < 16; ++b) q[b] = rng.range(1, 4), k[b] = rng.range(2000, 4096);
    set_lengths(pb, q, k, rng);
    cudaGraphExec_t ge = capture(pb.stream, {[&] { CKR(fa3::prepare(pb.prepare_args(16, 16))); },
                                             [&] { CKR(fa3::forward(pb.forward_args(16, 16))); }});
    CK(cudaGraphLaunch(ge, pb.stream));
    std::vector<uint16_t> out;
    std::vector<float> lse;
    pb.read(out, lse);
    std::vector<double> ref, ref_lse;
    pb.reference(ref, ref_lse);
    Errors e = compare(pb, out, lse, ref, ref_lse);
    tally(errors_ok(e), "stale-tail-big", errors_str(e));
    std::vector<int> q3 = {3, 1, 2}, k3 = {rng.range(100, 4096), rng.range(1, 50), rng.range(1000, 4000)};
    set_lengths(pb, q3, k3, rng);
    pb.poison();
    CK(cudaGraphLaunch(ge, pb.stream));
    pb.read(out, lse);
    pb.reference(ref, ref_lse);
    e = compare(pb, out, lse, ref, ref_lse);
    // Nothing past the live tokens was written (still poison: 0xFFFF / 0xFFFFFFFF).
    long long touched = 0;
    const size_t live = static_cast<size_t>(pb.total_q) * c.hq * c.head_dim;
    for (size_t i = live; i < out.size(); ++i) touched += out[i] != 0xFFFF;
    for (size_t i = static_cast<size_t>(c.hq) * pb.total_q; i < lse.size(); ++i) {
      uint32_t u;
      std::memcpy(&u, &lse[i], 4);
      touched += u != 0xFFFFFFFFu;
    }
    std::string why;
    const bool meta = metadata_matches(pb, 16, 16, &why);
    tally(errors_ok(e) && touched == 0 && meta, "stale-tail-small",
          errors_str(e) + " touched_outside=" + std::to_string(touched) + " " + why);
    CK(cudaGraphExecDestroy(ge));

    // 32 layers reusing one prepare inside one graph: each layer writes its own output.
    const int L = 32;
    std::vector<uint16_t*> outs(L);
    for (auto& o : outs) o = dalloc<uint16_t>(pb.out_elems);
    for (auto& o : outs) CK(cudaMemset(o, 0xFF, pb.out_elems * 2));
    std::vector<std::function<void()>> work = {[&] { CKR(fa3::prepare(pb.prepare_args(16, 16))); }};
    for (int l = 0; l < L; ++l) work.push_back([&, l] { CKR(fa3::forward(pb.forward_args(16, 16, outs[l]))); });
    ge = capture(pb.stream, work);
    for (int rep = 0; rep < 2; ++rep) CK(cudaGraphLaunch(ge, pb.stream));
    CK(cudaStreamSynchronize(pb.stream));
    int layers_ok = 0;
    std::vector<uint16_t> lo(pb.out_elems);
    for (int l = 0; l < L; ++l) {
      CK(cudaMemcpy(lo.data(), outs[l], pb.out_elems * 2, cudaMemcpyDeviceToHost));
      layers_ok += std::memcmp(lo.data(), out.data(), live * 2) == 0;
    }
    tally(layers_ok == L && counters_zero(pb), "32-layers-one-prepare", std::to_string(layers_ok) + "/32 layers identical");
    CK(cudaGraphExecDestroy(ge));
    for (auto& o : outs) cudaFree(o);

    // Corrupt metadata: garbage splits / offsets / counters must not fault; next prepare heals.
    {
      const size_t meta_bytes = pb.layout.counters_offset + pb.layout.counters_bytes;
      std::vector<int> junk(meta_bytes / 4);
      for (auto& x : junk) {
        const int kind = rng.range(0, 4);
        x = kind == 0 ? -rng.range(1, 1 << 30) : kind == 1 ? rng.range(0, 1 << 30) : rng.range(0, 40);
      }
      CK(cudaMemcpy(pb.dws, junk.data(), junk.size() * 4, cudaMemcpyHostToDevice));
      CKR(fa3::forward(pb.forward_args(16, 16)));
      CK(cudaStreamSynchronize(pb.stream));
      const cudaError_t err = cudaGetLastError();
      pb.poison();
      pb.run(16);
      pb.read(out, lse);
      e = compare(pb, out, lse, ref, ref_lse);
      tally(err == cudaSuccess && errors_ok(e), "corrupt-metadata-heals", errors_str(e));
    }
    pb.release();
  }
  char b[160];
  std::snprintf(b, sizeof b, "graph: %d/%d pass (capture short/replay long x B 1/4/16, stale tail, 32 layers, corrupt metadata)\n",
                pass, total);
  std::printf("%s", b);
  g_summary += b;
}

// One race case: poisoned outputs, one step at split bound `bound`, compared with the fp64
// reference; whether it passed (a failure is reported under `what`).
bool run_race_case(const Config& c, Rng& rng, int bound, const char* what) {
  Problem pb;
  pb.build(c, rng);
  const Errors e = run_and_compare(pb, bound);
  check(errors_ok(e), what, "D=" + std::to_string(c.head_dim) + " page=" + std::to_string(c.page) + " " + errors_str(e));
  pb.release();
  return errors_ok(e);
}

// Tiny cases for racecheck: one per head dim and page size, splits on, a few CTAs.
void run_race(uint64_t seed) {
  Rng rng(seed);
  int pass = 0, total = 0;
  const int saved_sm = g_sm;
  g_sm = 2;
  // The wgmma kernel's TMA (on unless FLASHGRAPH_FA3_WGMMA_TMA=0) takes page 256's whole blocks
  // and, at pages 16 / 32 / 64 (the last only at D < 256: a whole block at 256), one box per page of
  // a block; keys 16..31 of request 0 sit on an invalid page there (that page is gathered, zero
  // filled and masked beside its block's TMA pages), and NaN in the last pages' unused slots checks
  // that no kernel reads them (k = 300: a block of TMA pages and a gathered partial one). Pages 32
  // / 64 run the wgmma kernel's head dims only. Sinks at every head dim but 128: in the fused
  // merge (split rows) and at the direct write.
  for (int page : {16, 32, 64, 256})
    for (int D : {64, 96, 128, 192, 256}) {
      if ((page == 32 || page == 64) && (D == 96 || D == 192)) continue;
      Config c;
      c.head_dim = D; c.hq = 4; c.hkv = 2; c.page = page; c.max_splits = 4; c.num_splits = 3; c.causal = true;
      c.nan_tail = true;
      c.bad_page_at = page < 256 ? 16 / page : -1;
      c.sinks = D != 128;
      c.q_lens = {1, 20};
      c.k_lens = {300, 150};
      ++total;
      pass += run_race_case(c, rng, 3, "race-case");
    }
  // One split over many blocks (the rings wrap several times in one tile): TMA blocks, a block
  // with an invalid entry in the middle of the tile, TMA blocks again and a gathered tail, so the
  // lean variant's producer warps 1-3 run ahead through TMA blocks and must meet warp 0 at the
  // gathered ones (the K / V rings' phases repeat their parity every two laps).
  for (int page : {16, 256})
    for (int D : {64, 128, 256}) {
      Config c;
      c.head_dim = D; c.hq = 4; c.hkv = 2; c.page = page; c.max_splits = 1; c.num_splits = 1; c.causal = false;
      c.nan_tail = true;
      c.bad_page_at = page == 256 ? 2 : 40;
      c.q_lens = {24};
      c.k_lens = {1100};
      ++total;
      pass += run_race_case(c, rng, 1, "race-ring");
    }
  g_sm = saved_sm;
  char b[96];
  std::snprintf(b, sizeof b, "race cases: %d/%d pass\n", pass, total);
  std::printf("%s", b);
  g_summary += b;
}

// ------------------------------------------------------------------------------------------
// Benchmarks.
__global__ void fill_random(uint16_t* p, size_t n, uint32_t seed, int dtype) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += gridDim.x * static_cast<size_t>(blockDim.x)) {
    uint32_t x = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    x ^= x >> 13; x *= 0x5bd1e995u; x ^= x >> 15;
    const float f = (x & 0xFFFF) / 32768.f - 1.f;
    if (dtype == 0) {
      __nv_bfloat16 b = __float2bfloat16_rn(f);
      p[i] = *reinterpret_cast<uint16_t*>(&b);
    } else {
      __half h = __float2half_rn(f);
      p[i] = *reinterpret_cast<uint16_t*>(&h);
    }
  }
}

float time_graph(cudaGraphExec_t ge, cudaStream_t s, int reps) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) CK(cudaGraphLaunch(ge, s));
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    CK(cudaEventRecord(a, s));
    CK(cudaGraphLaunch(ge, s));
    CK(cudaEventRecord(b, s));
    CK(cudaEventSynchronize(b));
    float ms;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  return t[t.size() / 2];
}

double measure_d2d(cudaStream_t s) {
  const size_t bytes = size_t(1) << 30;
  char *a = dalloc<char>(bytes), *b = dalloc<char>(bytes);
  CK(cudaMemset(a, 1, bytes));
  cudaGraphExec_t ge = capture(s, {[&] { CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s)); }});
  const float ms = time_graph(ge, s, 20);
  CK(cudaGraphExecDestroy(ge));
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes / (ms * 1e-3) / 1e9;  // read + write
}

// The arguments of one decode step (q_len 1 per request, D = 128, page-table stride ctx / page):
// shared by the benchmark and the trace.
struct DecodeStep {
  fa3::PrepareArgs prepare;
  fa3::ForwardArgs forward;
};
DecodeStep decode_step(const fa3::Caps& caps, cudaStream_t s, char* ws, uint16_t* q, uint16_t* kc, uint16_t* vc,
                       uint16_t* o, int* dcu, int* dsl, int* dpt, int B, int ctx, int bound) {
  DecodeStep st;
  fa3::PrepareArgs& pa = st.prepare;
  pa.stream = reinterpret_cast<uintptr_t>(s); pa.workspace = reinterpret_cast<uintptr_t>(ws); pa.caps = caps;
  pa.cu_seqlens_q = reinterpret_cast<uintptr_t>(dcu); pa.seq_lens = reinterpret_cast<uintptr_t>(dsl);
  pa.num_reqs = B; pa.max_seqlen_q = 1; pa.num_splits_bound = bound; pa.sm_count = g_sm;
  fa3::ForwardArgs& fa = st.forward;
  fa.stream = pa.stream; fa.workspace = pa.workspace; fa.caps = caps;
  fa.q = reinterpret_cast<uintptr_t>(q); fa.k_cache = reinterpret_cast<uintptr_t>(kc);
  fa.v_cache = reinterpret_cast<uintptr_t>(vc); fa.out = reinterpret_cast<uintptr_t>(o);
  fa.page_table = reinterpret_cast<uintptr_t>(dpt); fa.page_table_stride = ctx / caps.page_size;
  fa.cu_seqlens_q = pa.cu_seqlens_q; fa.seq_lens = pa.seq_lens; fa.num_reqs = B;
  fa.max_seqlen_q = 1; fa.max_seqlen_k = ctx; fa.softmax_scale = 1.0 / std::sqrt(128.0);
  fa.num_splits_bound = bound; fa.sm_count = g_sm;
  return st;
}

void run_bench(FILE* json) {
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  const double d2d = measure_d2d(s);
  char line[512];
  std::snprintf(line, sizeof line, "bench: D2D copy %.0f GB/s (read+write)\n", d2d);
  std::printf("%s", line);
  g_summary += line;
  size_t free_b = 0, total_b = 0;
  CK(cudaMemGetInfo(&free_b, &total_b));
  const int D = 128, hq = 32, hkv = 8, page = 16;
  const size_t token_bytes = static_cast<size_t>(hkv) * D * 2;  // per cache
  // Pool for the largest config that fits.
  const std::vector<int> Bs = {1, 8, 32, 128, 512};
  const std::vector<int> ctxs = {1024, 8192, 32768};
  size_t max_tokens = 0;
  for (int B : Bs)
    for (int ctx : ctxs) {
      const size_t t = static_cast<size_t>(B) * ctx;
      if (2 * t * token_bytes < free_b * 0.8) max_tokens = std::max(max_tokens, t);
    }
  const int num_pages = static_cast<int>(max_tokens / page);
  uint16_t* kc = dalloc<uint16_t>(static_cast<size_t>(num_pages) * page * hkv * D);
  uint16_t* vc = dalloc<uint16_t>(static_cast<size_t>(num_pages) * page * hkv * D);
  fill_random<<<4096, 256, 0, s>>>(kc, static_cast<size_t>(num_pages) * page * hkv * D, 1, 0);
  fill_random<<<4096, 256, 0, s>>>(vc, static_cast<size_t>(num_pages) * page * hkv * D, 2, 0);
  CK(cudaGetLastError());
  std::printf("%-6s %-7s %-6s %10s %10s %9s %8s %10s\n", "B", "ctx", "bound", "step_us", "fwd_us", "GB/s", "%d2d", "tiles");
  g_summary += "decode grid (D=128 Hq=32 Hkv=8 page=16 bf16, q_len=1; step = prepare+forward in a graph):\n";
  Rng rng(7);
  // The grid, then B=1 at 4k (the latency target), then forced bound 32 at small B (diagnostic:
  // does more split parallelism help?).
  struct Point { int B, ctx, num_splits; };
  std::vector<Point> points;
  for (int B : Bs)
    for (int ctx : ctxs) points.push_back({B, ctx, 0});
  points.push_back({1, 4096, 0});
  for (int B : {1, 8})
    for (int ctx : {4096, 32768}) points.push_back({B, ctx, 32});
  for (const Point& pt_ : points) {
      const int B = pt_.B, ctx = pt_.ctx;
      const size_t tokens = static_cast<size_t>(B) * ctx;
      if (tokens > max_tokens) {
        std::snprintf(line, sizeof line, "  B=%-4d ctx=%-6d skipped (KV %.0f GiB does not fit)\n", B, ctx,
                      2.0 * tokens * token_bytes / (1 << 30));
        std::printf("%s", line);
        g_summary += line;
        continue;
      }
      fa3::Caps caps;
      caps.num_heads_q = hq; caps.num_heads_kv = hkv; caps.head_dim = D; caps.dtype = 0; caps.page_size = page;
      caps.num_pages = num_pages; caps.max_num_reqs = B; caps.max_num_tokens = B;
      caps.max_num_pages_per_req = ctx / page; caps.max_num_splits = 32; caps.causal = true;
      fa3::WorkspaceLayout l;
      CKR(fa3::workspace_layout_checked(caps, &l));
      char* ws = dalloc<char>(l.total_bytes);
      uint16_t *q = dalloc<uint16_t>(static_cast<size_t>(B) * hq * D), *o = dalloc<uint16_t>(static_cast<size_t>(B) * hq * D);
      fill_random<<<256, 256, 0, s>>>(q, static_cast<size_t>(B) * hq * D, 3, 0);
      std::vector<int> cu(B + 1), sl(B, ctx), pt(static_cast<size_t>(B) * (ctx / page));
      for (int b = 0; b <= B; ++b) cu[b] = b;
      // Random pages from the pool (a fresh permutation of the needed range).
      const int need = static_cast<int>(tokens / page);
      std::vector<int> perm(need);
      for (int i = 0; i < need; ++i) perm[i] = i;
      for (int i = need - 1; i > 0; --i) std::swap(perm[i], perm[rng.next() % (i + 1)]);
      for (size_t i = 0; i < pt.size(); ++i) pt[i] = perm[i];
      int *dcu = dalloc<int>(B + 1), *dsl = dalloc<int>(B), *dpt = dalloc<int>(pt.size());
      CK(cudaMemcpy(dcu, cu.data(), cu.size() * 4, cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dsl, sl.data(), sl.size() * 4, cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dpt, pt.data(), pt.size() * 4, cudaMemcpyHostToDevice));
      int bound = 1;
      CKR(fa3::resolve_num_splits_checked(caps, pt_.num_splits, 1, ctx, g_sm, &bound));
      const DecodeStep st = decode_step(caps, s, ws, q, kc, vc, o, dcu, dsl, dpt, B, ctx, bound);
      const fa3::PrepareArgs& pa = st.prepare;
      const fa3::ForwardArgs& fa = st.forward;
      // Step graph: 10 x (prepare + forward), so launch overhead of the graph itself amortises.
      const int kSteps = 10;
      std::vector<std::function<void()>> step;
      for (int i = 0; i < kSteps; ++i) {
        step.push_back([&] { CKR(fa3::prepare(pa)); });
        step.push_back([&] { CKR(fa3::forward(fa)); });
      }
      cudaGraphExec_t g_step = capture(s, step);
      std::vector<std::function<void()>> fwd_only;
      for (int i = 0; i < kSteps; ++i) fwd_only.push_back([&] { CKR(fa3::forward(fa)); });
      CKR(fa3::prepare(pa));
      cudaGraphExec_t g_fwd = capture(s, fwd_only);
      const float step_us = time_graph(g_step, s, 20) * 1e3f / kSteps;
      const float fwd_us = time_graph(g_fwd, s, 20) * 1e3f / kSteps;
      CK(cudaStreamSynchronize(s));
      int total_tiles = 0;
      CK(cudaMemcpy(&total_tiles, ws + l.tile_offsets_offset + 4 * B, 4, cudaMemcpyDeviceToHost));
      const double kv_bytes = 2.0 * tokens * token_bytes;
      const double gbs = kv_bytes / (step_us * 1e-6) / 1e9;
      std::snprintf(line, sizeof line, "  B=%-4d ctx=%-6d bound=%-3d%s step %8.2f us  fwd %8.2f us  %7.0f GB/s  %5.1f%% of D2D  tiles=%d\n",
                    B, ctx, bound, pt_.num_splits ? "(forced)" : "        ", step_us, fwd_us, gbs, 100.0 * gbs / d2d, total_tiles);
      std::printf("%s", line);
      g_summary += line;
      if (json)
        std::fprintf(json, "{\"kind\":\"decode\",\"B\":%d,\"ctx\":%d,\"bound\":%d,\"step_us\":%.3f,\"fwd_us\":%.3f,\"gbs\":%.1f,\"pct_d2d\":%.2f,\"d2d_gbs\":%.1f}\n",
                     B, ctx, bound, step_us, fwd_us, gbs, 100.0 * gbs / d2d, d2d);
      CK(cudaGraphExecDestroy(g_step));
      CK(cudaGraphExecDestroy(g_fwd));
      cudaFree(ws); cudaFree(q); cudaFree(o); cudaFree(dcu); cudaFree(dsl); cudaFree(dpt);
    }
  cudaFree(kc);
  cudaFree(vc);

  // Prefill: one request, q = k = L, causal, Hq=32 Hkv=8 D=128 bf16.
  g_summary += "prefill (1 request, causal, q=k=L, D=128 Hq=32 Hkv=8 bf16):\n";
  for (int L : {1024, 4096, 16384}) {
    fa3::Caps caps;
    caps.num_heads_q = hq; caps.num_heads_kv = hkv; caps.head_dim = D; caps.dtype = 0; caps.page_size = page;
    caps.num_pages = L / page; caps.max_num_reqs = 1; caps.max_num_tokens = L;
    caps.max_num_pages_per_req = L / page; caps.max_num_splits = 32; caps.causal = true;
    fa3::WorkspaceLayout l;
    CKR(fa3::workspace_layout_checked(caps, &l));
    char* ws = dalloc<char>(l.total_bytes);
    const size_t qe = static_cast<size_t>(L) * hq * D, ke = static_cast<size_t>(L) * hkv * D;
    uint16_t *q = dalloc<uint16_t>(qe), *o = dalloc<uint16_t>(qe), *k = dalloc<uint16_t>(ke), *v = dalloc<uint16_t>(ke);
    fill_random<<<1024, 256, 0, s>>>(q, qe, 4, 0);
    fill_random<<<1024, 256, 0, s>>>(k, ke, 5, 0);
    fill_random<<<1024, 256, 0, s>>>(v, ke, 6, 0);
    std::vector<int> cu = {0, L}, sl = {L}, pt(L / page);
    for (int i = 0; i < L / page; ++i) pt[i] = i;
    int *dcu = dalloc<int>(2), *dsl = dalloc<int>(1), *dpt = dalloc<int>(pt.size());
    CK(cudaMemcpy(dcu, cu.data(), 8, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dsl, sl.data(), 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dpt, pt.data(), pt.size() * 4, cudaMemcpyHostToDevice));
    int bound = 1;
    CKR(fa3::resolve_num_splits_checked(caps, 0, L, L, g_sm, &bound));
    fa3::PrepareArgs pa;
    pa.stream = reinterpret_cast<uintptr_t>(s); pa.workspace = reinterpret_cast<uintptr_t>(ws); pa.caps = caps;
    pa.cu_seqlens_q = reinterpret_cast<uintptr_t>(dcu); pa.seq_lens = reinterpret_cast<uintptr_t>(dsl);
    pa.num_reqs = 1; pa.max_seqlen_q = L; pa.num_splits_bound = bound; pa.sm_count = g_sm;
    fa3::ForwardArgs fa;
    fa.stream = pa.stream; fa.workspace = pa.workspace; fa.caps = caps;
    fa.q = reinterpret_cast<uintptr_t>(q); fa.k_cache = reinterpret_cast<uintptr_t>(k);
    fa.v_cache = reinterpret_cast<uintptr_t>(v); fa.out = reinterpret_cast<uintptr_t>(o);
    fa.page_table = reinterpret_cast<uintptr_t>(dpt); fa.page_table_stride = L / page;
    fa.cu_seqlens_q = pa.cu_seqlens_q; fa.seq_lens = pa.seq_lens; fa.num_reqs = 1;
    fa.max_seqlen_q = L; fa.max_seqlen_k = L; fa.softmax_scale = 1.0 / std::sqrt(static_cast<double>(D));
    fa.num_splits_bound = bound; fa.sm_count = g_sm;
    cudaGraphExec_t ge = capture(s, {[&] { CKR(fa3::prepare(pa)); }, [&] { CKR(fa3::forward(fa)); }});
    const float ms = time_graph(ge, s, 10);
    const double flops = 4.0 * L * (L + 1) / 2.0 * D * hq;  // causal: half the score matrix
    std::snprintf(line, sizeof line, "  L=%-6d %9.3f ms  %6.1f TFLOP/s\n", L, ms, flops / (ms * 1e-3) / 1e12);
    std::printf("%s", line);
    g_summary += line;
    if (json) std::fprintf(json, "{\"kind\":\"prefill\",\"L\":%d,\"ms\":%.4f,\"tflops\":%.2f}\n", L, ms, flops / (ms * 1e-3) / 1e12);
    CK(cudaGraphExecDestroy(ge));
    cudaFree(ws); cudaFree(q); cudaFree(o); cudaFree(k); cudaFree(v); cudaFree(dcu); cudaFree(dsl); cudaFree(dpt);
  }
  CK(cudaStreamDestroy(s));
}


// ------------------------------------------------------------------------------------------
// prefill grid: B requests of L query tokens each over L keys (q = k = L), head dims `dims`
// (--dims, default 128), Hq = 32 Hkv = 8 bf16, causal and not, pages `pages` (--pages, default
// 16 and 256; B = 8 at L = 16k runs at page 256 only), each step
// (prepare + forward) one graph, median of 10 replays, TFLOP/s = 4 x (visible score elements) x D
// x Hq / time. The kernel is the one this process picks (FLASHGRAPH_FA3_KERNEL), printed with
// every line.
// FA3_PREFILL_ONLY="causal,B,page,L" (e.g. "1,1,256,16384") runs that one grid point (for profilers);
// several points separated by ';' run those (prefill-device.sh's duel).
bool prefill_point_selected(int causal, int B, int page, int L) {
  const char* only = std::getenv("FA3_PREFILL_ONLY");
  if (only == nullptr || *only == 0) return true;
  for (const char* at = only; at != nullptr && *at != 0;) {
    int c = -1, b = -1, pg = -1, l = -1;
    if (std::sscanf(at, "%d,%d,%d,%d", &c, &b, &pg, &l) == 4 && c == causal && b == B && pg == page && l == L)
      return true;
    at = std::strchr(at, ';');
    if (at != nullptr) ++at;
  }
  return false;
}

void run_prefill_grid_dim(FILE* json, int D, const std::vector<int>& pages) {
  const int hq = 32, hkv = 8;
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  char line[256];
  const int kernel = fa3::step_kernel(1 << 20, hq / hkv, D);
  // wgmma's variants: -ov the overlapped main loop, -tma K / V by TMA where the page size allows,
  // -lean its lean variant (with -ov only), -lean3 that with three K / V stages (D = 128 only).
  const bool lean = fa3::wgmma_overlap_enabled() && fa3::wgmma_lean_enabled();
  const std::string kname_s = kernel != fa3::kKernelWgmma ? fa3::kernel_name(kernel)
                              : std::string("wgmma") + (fa3::wgmma_overlap_enabled() ? "-ov" : "") +
                                    (fa3::wgmma_tma_enabled() ? "-tma" : "") +
                                    (lean ? (fa3::wgmma_deep_ring_enabled() && D == 128 ? "-lean3" : "-lean") : "");
  const char* kname = kname_s.c_str();
  std::snprintf(line, sizeof line, "prefill grid (kernel %s; q=k=L per request, D=%d Hq=32 Hkv=8 bf16):\n", kname, D);
  std::printf("%s", line);
  g_summary += line;
  for (int causal : {1, 0})
    for (int B : {1, 8})
      for (int page : pages)
        for (int L : {1024, 4096, 16384}) {
          if (B == 8 && L == 16384 && page != 256) continue;  // the B=8 16k point runs once (page 256)
          if (!prefill_point_selected(causal, B, page, L)) continue;
          fa3::Caps caps;
          caps.num_heads_q = hq; caps.num_heads_kv = hkv; caps.head_dim = D; caps.dtype = 0; caps.page_size = page;
          const int ppr = L / page;
          caps.num_pages = B * ppr; caps.max_num_reqs = B; caps.max_num_tokens = B * L;
          caps.max_num_pages_per_req = ppr; caps.max_num_splits = 32; caps.causal = causal != 0;
          const size_t qe = static_cast<size_t>(B) * L * hq * D, ke = static_cast<size_t>(B) * L * hkv * D;
          // The split partials are sized for every token at max_num_splits (D 256, B 8, 16k: 137 GB at
          // 32): halve the capacity until the workspace and the tensors fit in free memory (a prefill
          // this long gets one split from the heuristic anyway; the line says when it was lowered).
          fa3::WorkspaceLayout l;
          CKR(fa3::workspace_layout_checked(caps, &l));
          size_t free_bytes = 0, total_bytes = 0;
          CK(cudaMemGetInfo(&free_bytes, &total_bytes));
          const size_t tensors = (2 * qe + 2 * ke) * sizeof(uint16_t) + (size_t{64} << 20);
          while (caps.max_num_splits > 1 && l.total_bytes + tensors > free_bytes) {
            caps.max_num_splits /= 2;
            CKR(fa3::workspace_layout_checked(caps, &l));
          }
          if (l.total_bytes + tensors > free_bytes) {
            std::snprintf(line, sizeof line, "  %-8s D=%-3d causal=%d B=%d page=%-3d L=%-6d skipped: %.1f GB > %.1f GB free\n",
                          kname, D, causal, B, page, L, (l.total_bytes + tensors) / 1e9, free_bytes / 1e9);
            std::printf("%s", line);
            g_summary += line;
            continue;
          }
          if (caps.max_num_splits < 32)
            std::printf("  (D=%d B=%d L=%d: split capacity lowered to %d to fit the workspace)\n", D, B, L,
                        caps.max_num_splits);
          char* ws = dalloc<char>(l.total_bytes);
          CK(cudaMemset(ws, 0, l.total_bytes));
          uint16_t *q = dalloc<uint16_t>(qe), *o = dalloc<uint16_t>(qe), *k = dalloc<uint16_t>(ke),
                   *v = dalloc<uint16_t>(ke);
          fill_random<<<1024, 256, 0, s>>>(q, qe, 4, 0);
          fill_random<<<1024, 256, 0, s>>>(k, ke, 5, 0);
          fill_random<<<1024, 256, 0, s>>>(v, ke, 6, 0);
          // Pages of request b in a shuffled order (a paged cache is not contiguous).
          std::vector<int> cu(B + 1), sl(B, L), pt(static_cast<size_t>(B) * ppr);
          for (int b = 0; b <= B; ++b) cu[b] = b * L;
          Rng rng(77 + L + page);
          std::vector<int> perm(static_cast<size_t>(B) * ppr);
          for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
          for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[rng.range(0, static_cast<int>(i) - 1)]);
          for (size_t i = 0; i < pt.size(); ++i) pt[i] = perm[i];
          int *dcu = dalloc<int>(B + 1), *dsl = dalloc<int>(B), *dpt = dalloc<int>(pt.size());
          CK(cudaMemcpy(dcu, cu.data(), cu.size() * 4, cudaMemcpyHostToDevice));
          CK(cudaMemcpy(dsl, sl.data(), sl.size() * 4, cudaMemcpyHostToDevice));
          CK(cudaMemcpy(dpt, pt.data(), pt.size() * 4, cudaMemcpyHostToDevice));
          int bound = 1;
          CKR(fa3::resolve_num_splits_checked(caps, 0, L, L, g_sm, &bound));
          fa3::PrepareArgs pa;
          pa.stream = reinterpret_cast<uintptr_t>(s); pa.workspace = reinterpret_cast<uintptr_t>(ws); pa.caps = caps;
          pa.cu_seqlens_q = reinterpret_cast<uintptr_t>(dcu); pa.seq_lens = reinterpret_cast<uintptr_t>(dsl);
          pa.num_reqs = B; pa.max_seqlen_q = L; pa.num_splits_bound = bound; pa.sm_count = g_sm;
          fa3::ForwardArgs fa;
          fa.stream = pa.stream; fa.workspace = pa.workspace; fa.caps = caps;
          fa.q = reinterpret_cast<uintptr_t>(q); fa.k_cache = reinterpret_cast<uintptr_t>(k);
          fa.v_cache = reinterpret_cast<uintptr_t>(v); fa.out = reinterpret_cast<uintptr_t>(o);
          fa.page_table = reinterpret_cast<uintptr_t>(dpt); fa.page_table_stride = ppr;
          fa.cu_seqlens_q = pa.cu_seqlens_q; fa.seq_lens = pa.seq_lens; fa.num_reqs = B;
          fa.max_seqlen_q = L; fa.max_seqlen_k = L; fa.softmax_scale = 1.0 / std::sqrt(static_cast<double>(D));
          fa.num_splits_bound = bound; fa.sm_count = g_sm;
          cudaGraphExec_t ge = capture(s, {[&] { CKR(fa3::prepare(pa)); }, [&] { CKR(fa3::forward(fa)); }});
          const float ms = time_graph(ge, s, 10);
          const double visible = causal ? static_cast<double>(L) * (L + 1) / 2.0 : static_cast<double>(L) * L;
          const double tflops = 4.0 * visible * D * hq * B / (ms * 1e-3) / 1e12;
          std::snprintf(line, sizeof line, "  %-8s D=%-3d causal=%d B=%d page=%-3d L=%-6d %9.3f ms %7.1f TFLOP/s\n",
                        kname, D, causal, B, page, L, ms, tflops);
          std::printf("%s", line);
          g_summary += line;
          if (json)
            std::fprintf(json,
                         "{\"kind\":\"prefill\",\"kernel\":\"%s\",\"D\":%d,\"causal\":%d,\"B\":%d,\"page\":%d,"
                         "\"L\":%d,\"ms\":%.4f,\"tflops\":%.2f}\n",
                         kname, D, causal, B, page, L, ms, tflops);
          CK(cudaGraphExecDestroy(ge));
          cudaFree(ws); cudaFree(q); cudaFree(o); cudaFree(k); cudaFree(v); cudaFree(dcu); cudaFree(dsl);
          cudaFree(dpt);
        }
  CK(cudaStreamDestroy(s));
}

void run_prefill_grid(FILE* json, const std::vector<int>& dims, const std::vector<int>& pages) {
  for (int D : dims) run_prefill_grid_dim(json, D, pages);
}

#ifdef FA3_TRACE
// ------------------------------------------------------------------------------------------
// trace (only in a -DFA3_TRACE build): where a small-batch decode step's time goes, from the
// kernels' own %globaltimer stamps (kernels/trace.h). One step = prepare + forward captured in a
// graph; for each point the median over replays of (median / max over CTAs), in microseconds
// after prepare's first stamp.
}  // namespace
namespace fa3 {
extern unsigned long long* g_trace_forward;
extern unsigned long long* g_trace_prepare;
}  // namespace fa3
namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

void run_trace() {
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  const int D = 128, hq = 32, hkv = 8, page = 16;
  const int max_ctas = 4096;
  unsigned long long* dtf = dalloc<unsigned long long>(static_cast<size_t>(max_ctas) * fa3::kTraceSlotsPerCta);
  unsigned long long* dtp = dalloc<unsigned long long>(4);
  std::vector<unsigned long long> tf(static_cast<size_t>(max_ctas) * fa3::kTraceSlotsPerCta), tp(4);
  const char* names[13] = {"", "decoded", "Q+pages", "block0", "loop end", "partials", "arrived", "lse in", "merged",
                           "tile end", "m:rows", "m:loaded", "m:weights"};
  struct Pt { int B, ctx, steps; };
  for (const Pt& pt_ : {Pt{1, 1024, 1}, Pt{1, 4096, 1}, Pt{1, 32768, 1}, Pt{8, 4096, 1}, Pt{1, 4096, 10}}) {
    const int B = pt_.B, ctx = pt_.ctx;
    fa3::Caps caps;
    caps.num_heads_q = hq; caps.num_heads_kv = hkv; caps.head_dim = D; caps.dtype = 0; caps.page_size = page;
    caps.num_pages = B * ctx / page * 4; caps.max_num_reqs = 256; caps.max_num_tokens = 256;
    caps.max_num_pages_per_req = ctx / page; caps.max_num_splits = 32; caps.causal = true;
    fa3::WorkspaceLayout l;
    CKR(fa3::workspace_layout_checked(caps, &l));
    char* ws = dalloc<char>(l.total_bytes);
    const size_t cache_elems = static_cast<size_t>(caps.num_pages) * page * hkv * D;
    uint16_t *kc = dalloc<uint16_t>(cache_elems), *vc = dalloc<uint16_t>(cache_elems);
    fill_random<<<1024, 256, 0, s>>>(kc, cache_elems, 1, 0);
    fill_random<<<1024, 256, 0, s>>>(vc, cache_elems, 2, 0);
    uint16_t *q = dalloc<uint16_t>(256 * hq * D), *o = dalloc<uint16_t>(256 * hq * D);
    fill_random<<<64, 256, 0, s>>>(q, 256 * hq * D, 3, 0);
    std::vector<int> cu(B + 1), sl(B, ctx), pt(static_cast<size_t>(B) * (ctx / page));
    for (int b = 0; b <= B; ++b) cu[b] = b;
    Rng rng(11);
    for (auto& x : pt) x = static_cast<int>(rng.next() % static_cast<uint64_t>(caps.num_pages));
    int *dcu = dalloc<int>(B + 1), *dsl = dalloc<int>(B), *dpt = dalloc<int>(pt.size());
    CK(cudaMemcpy(dcu, cu.data(), cu.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dsl, sl.data(), sl.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dpt, pt.data(), pt.size() * 4, cudaMemcpyHostToDevice));
    int bound = 1;
    CKR(fa3::resolve_num_splits_checked(caps, 0, 1, ctx, g_sm, &bound));
    const DecodeStep st = decode_step(caps, s, ws, q, kc, vc, o, dcu, dsl, dpt, B, ctx, bound);
    const fa3::PrepareArgs& pa = st.prepare;
    const fa3::ForwardArgs& fa = st.forward;
    fa3::g_trace_forward = dtf;
    fa3::g_trace_prepare = dtp;
    std::vector<std::function<void()>> body;
    for (int i = 0; i < pt_.steps; ++i) {
      body.push_back([&] { CKR(fa3::prepare(pa)); });
      body.push_back([&] { CKR(fa3::forward(fa)); });
    }
    cudaGraphExec_t ge = capture(s, body);
    fa3::g_trace_forward = nullptr;
    fa3::g_trace_prepare = nullptr;
    const float graph_us = time_graph(ge, s, 30) * 1e3f / pt_.steps;
    // Traced replays (the stamps of the last step of each replay survive).
    const int reps = 25;
    std::vector<std::vector<double>> med(16), mx(16);  // points 1..12
    std::vector<double> prep_reduce, prep_end, cta_first, cta_med_start, exit_max, exit_med;
    int ctas = 0, tiles0 = 0;
    for (int r = 0; r < reps; ++r) {
      CK(cudaMemsetAsync(dtf, 0, tf.size() * 8, s));
      CK(cudaMemsetAsync(dtp, 0, 32, s));
      CK(cudaGraphLaunch(ge, s));
      CK(cudaStreamSynchronize(s));
      CK(cudaMemcpy(tf.data(), dtf, tf.size() * 8, cudaMemcpyDeviceToHost));
      CK(cudaMemcpy(tp.data(), dtp, 32, cudaMemcpyDeviceToHost));
      const double t0 = static_cast<double>(tp[0]);
      auto us = [&](unsigned long long t) { return (static_cast<double>(t) - t0) * 1e-3; };
      if (tp[1]) prep_reduce.push_back(us(tp[1]));  // the one-warp path (<= 32 requests) has no reduce
      prep_end.push_back(us(tp[2]));
      std::vector<double> starts, exits;
      std::vector<std::vector<double>> at(16);
      ctas = 0;
      tiles0 = 0;
      for (int c = 0; c < max_ctas; ++c) {
        const unsigned long long* row = &tf[static_cast<size_t>(c) * fa3::kTraceSlotsPerCta];
        if (row[0] == 0) continue;
        ++ctas;
        starts.push_back(us(row[0]));
        if (row[fa3::kTraceSlotsPerCta - 1]) exits.push_back(us(row[fa3::kTraceSlotsPerCta - 1]));
        if (row[2]) ++tiles0;  // first tile had work
        for (int k = 1; k < 13; ++k)
          if (row[k]) at[k].push_back(us(row[k]));
      }
      cta_first.push_back(starts.empty() ? 0 : *std::min_element(starts.begin(), starts.end()));
      cta_med_start.push_back(median_of(starts));
      exit_med.push_back(median_of(exits));
      exit_max.push_back(max_of(exits));
      for (int k = 1; k < 13; ++k) {
        med[k].push_back(median_of(at[k]));
        mx[k].push_back(max_of(at[k]));
      }
    }
    char line[512];
    std::snprintf(line, sizeof line, "trace B=%d ctx=%d bound=%d steps/graph=%d: graph %.2f us/step; %d CTAs, %d with a first tile\n", B, ctx,
                  bound, pt_.steps, graph_us, ctas, tiles0);
    std::printf("%s", line);
    g_summary += line;
    char reduce[32] = "- (one-warp path)";
    if (!prep_reduce.empty()) std::snprintf(reduce, sizeof reduce, "%.2f", median_of(prep_reduce));
    std::snprintf(line, sizeof line, "  prepare: reduce done %s, end %.2f | forward CTA start: first %.2f, median %.2f\n",
                  reduce, median_of(prep_end), median_of(cta_first), median_of(cta_med_start));
    std::printf("%s", line);
    g_summary += line;
    std::string pts = "  tile 0 points (median / max over CTAs):";
    for (int k = 1; k < 13; ++k) {
      if (k == 7) continue;  // "lse in": merged into m:weights
      char b[96];
      std::snprintf(b, sizeof b, " %s %.2f/%.2f", names[k], median_of(med[k]), median_of(mx[k]));
      pts += b;
    }
    std::snprintf(line, sizeof line, "%s | exit %.2f/%.2f\n", pts.c_str(), median_of(exit_med), median_of(exit_max));
    std::printf("%s", line);
    g_summary += line;
    CK(cudaGraphExecDestroy(ge));
    cudaFree(ws); cudaFree(kc); cudaFree(vc); cudaFree(q); cudaFree(o); cudaFree(dcu); cudaFree(dsl); cudaFree(dpt);
  }
  // Timer resolution: smallest non-zero difference between consecutive reads in one thread.
  cudaFree(dtf);
  cudaFree(dtp);
  CK(cudaStreamDestroy(s));
}
#endif
}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep partial logs when a timeout kills the run
  std::vector<std::string> modes;
  int n_configs = 150;
  uint64_t seed = 1234;
  const char* json_path = nullptr;
  std::vector<int> prefill_dims, prefill_pages;
  // A comma-separated list of values from `allowed` (--dims, --pages) into out, or false.
  auto parse_list = [](const char* s, std::initializer_list<int> allowed, std::vector<int>& out) {
    for (const char* d = s; *d != 0;) {
      char* end = nullptr;
      const long v = std::strtol(d, &end, 10);
      if (end == d || std::find(allowed.begin(), allowed.end(), v) == allowed.end()) return false;
      out.push_back(static_cast<int>(v));
      d = *end == ',' ? end + 1 : end;
    }
    return !out.empty();
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--configs" && i + 1 < argc) n_configs = std::atoi(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--dims" && i + 1 < argc) {
      // Head dims of the prefill grid.
      if (!parse_list(argv[++i], {64, 128, 256}, prefill_dims)) {
        std::printf("fa3_selftest: --dims takes head dims 64, 128, 256 (comma-separated), got '%s'\n", argv[i]);
        return 2;
      }
    } else if (a == "--pages" && i + 1 < argc) {
      // Page sizes of the prefill grid (each divides every L).
      if (!parse_list(argv[++i], {16, 32, 64, 256}, prefill_pages)) {
        std::printf("fa3_selftest: --pages takes page sizes 16, 32, 64, 256 (comma-separated), got '%s'\n", argv[i]);
        return 2;
      }
    }
    else modes.push_back(a);
  }
  if (modes.empty()) modes.push_back("all");
  const fa3::DeviceInfo dev = fa3::device_status();
  if (!dev.available) {
    std::printf("fa3_selftest: no usable device: %s\n", dev.reason.c_str());
    return 3;
  }
  g_sm = dev.sm_count;
  std::printf("device: %s (%d SMs)\n", dev.name.c_str(), g_sm);
  auto has = [&](const char* m) { return std::find(modes.begin(), modes.end(), m) != modes.end() ||
                                         std::find(modes.begin(), modes.end(), "all") != modes.end(); };
  if (has("prepare")) run_prepare(seed + 1);
  if (has("graph")) run_graph(seed + 2);
  if (has("race")) run_race(seed + 3);
  if (has("correctness")) {
    run_kv_write(seed + 4);
    run_correctness(n_configs, seed);
  }
#ifdef FA3_TRACE
  if (std::find(modes.begin(), modes.end(), "trace") != modes.end()) run_trace();
#endif
  if (has("bench")) {
    FILE* json = json_path ? std::fopen(json_path, "w") : nullptr;
    run_bench(json);
    if (json) std::fclose(json);
  }
  // Not part of "all": the grid takes a while; run it as `fa3_selftest prefill`.
  if (std::find(modes.begin(), modes.end(), "prefill") != modes.end()) {
    FILE* json = json_path ? std::fopen(json_path, "w") : nullptr;
    run_prefill_grid(json, prefill_dims.empty() ? std::vector<int>{128} : prefill_dims,
                     prefill_pages.empty() ? std::vector<int>{16, 256} : prefill_pages);
    if (json) std::fclose(json);
  }
  CK(cudaDeviceSynchronize());
  std::printf("==== fa3_selftest summary: device %s (%d SMs)\n%s", dev.name.c_str(), g_sm, g_summary.c_str());
  std::printf("checks: %d, failures: %d\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
