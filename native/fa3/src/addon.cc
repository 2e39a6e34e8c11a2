// flashgraph_fa3.node: node-addon-api glue over the plain C++ API in kernels/api.h. Implements the
// contract of docs/architecture.md ("flashgraph_fa3.node functions"): status, tileShape, forwardKernel,
// workspaceLayout, resolveNumSplits, planSplitsHost, prepare, forward, writeKvCache. All
// synchronous; pointers and streams are bigints. Loading never touches the GPU (cudart is static),
// so the addon loads on a machine without a driver and status() says why nothing can run.
// Errors follow native/common's contract (docs/architecture.md, "Native error contract"):
// - a bad argument: a TypeError / RangeError with `code`, `path` and `allowed` (napi_args.h), the
//   path `<fn>.<name>` (`<fn>.caps.<name>` inside caps), thrown before any fa3 call;
// - a failed fa3::Result named after a CUDA error (the launchers' own checks included): cudaError
//   (napi_cuda.h), `cudaCall` the function, the Result's text as the detail;
// - a failed fa3::Result named `fa3Error...`: a codedError, code `fa3_error`, carrying `fa3Name`
//   (packages/fa3's FA3_NATIVE_ERROR_CODES maps it to a stable Fa3Error code).
#include <napi.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "../kernels/api.h"
#include "flashgraph/napi_args.h"
#include "flashgraph/napi_cuda.h"

namespace {

using flashgraph::napi::bigintValue;
using flashgraph::napi::boolValue;
using flashgraph::napi::choiceValue;
using flashgraph::napi::int32ArrayValue;
using flashgraph::napi::integerValue;
using flashgraph::napi::numberValue;
using flashgraph::napi::objectValue;

constexpr double kInt32Min = -2147483648.0;
constexpr double kInt32Max = 2147483647.0;

// `fn` names the addon function in the error. A Result's message is "<errorName>: <what>".
void throwIfFailed(Napi::Env env, const fa3::Result& r, const char* fn) {
  if (r.ok()) return;
  const size_t colon = r.message.find(": ");
  const std::string name = colon == std::string::npos ? std::string() : r.message.substr(0, colon);
  if (name.rfind("fa3Error", 0) == 0) {
    Napi::Error e = flashgraph::napi::codedError(env, "fa3_error", fn, r.message);
    e.Set("fa3Name", Napi::String::New(env, name));
    throw e;
  }
  throw flashgraph::napi::cudaError(env, static_cast<cudaError_t>(r.code), fn,
                                    colon == std::string::npos ? r.message : r.message.substr(colon + 2));
}

// A named argument of `o`, whose path in errors is `<where>.<name>`.
class Fields {
 public:
  Fields(Napi::Object o, std::string where) : o_(o), where_(std::move(where)) {}

  std::string path(const char* name) const { return where_ + "." + name; }
  Napi::Value get(const char* name) const { return o_.Get(name); }
  bool has(const char* name) const { return !o_.Get(name).IsUndefined(); }

  int integer(const char* name, double lo = kInt32Min, double hi = kInt32Max) const {
    return static_cast<int>(integerValue(o_.Env(), get(name), path(name), lo, hi));
  }
  double number(const char* name) const { return numberValue(o_.Env(), get(name), path(name)); }
  bool boolean(const char* name) const { return boolValue(o_.Env(), get(name), path(name)); }
  uintptr_t pointer(const char* name) const {
    return static_cast<uintptr_t>(bigintValue(o_.Env(), get(name), path(name)));
  }
  // An optional pointer: absent (undefined) reads as 0.
  uintptr_t optionalPointer(const char* name) const { return has(name) ? pointer(name) : 0; }
  Napi::Int32Array int32Array(const char* name, size_t min_length) const {
    return int32ArrayValue(o_.Env(), get(name), path(name), min_length);
  }
  size_t choice(const char* name, std::initializer_list<const char*> choices) const {
    return choiceValue(o_.Env(), get(name), path(name), choices);
  }
  Fields object(const char* name) const { return Fields(objectValue(o_.Env(), get(name), path(name)), path(name)); }
  Napi::Env env() const { return o_.Env(); }

 private:
  Napi::Object o_;
  std::string where_;
};

// The one argument object of `fn`.
Fields argsOf(const Napi::CallbackInfo& info, const char* fn) {
  return Fields(objectValue(info.Env(), info[0], fn), fn);
}

// caps (`<fn>.caps.<name>` in errors), checked by validate_caps before anything else reads it.
fa3::Caps readCaps(const Fields& o, const char* fn) {
  fa3::Caps c;
  c.num_heads_q = o.integer("numHeadsQ");
  c.num_heads_kv = o.integer("numHeadsKv");
  c.head_dim = o.integer("headDim");
  c.dtype = static_cast<int>(o.choice("dtype", {"bf16", "fp16"}));  // 0 = bf16, 1 = fp16
  // caps.kvDtype: the cache's element type, default caps.dtype.
  if (o.has("kvDtype")) {
    const int kv[] = {0, 1, fa3::kKvFp8E4m3};
    c.kv_dtype = kv[o.choice("kvDtype", {"bf16", "fp16", "fp8_e4m3"})];
  }
  c.page_size = o.integer("pageSize");
  c.num_pages = o.integer("numPages");
  c.max_num_reqs = o.integer("maxNumReqs");
  c.max_num_tokens = o.integer("maxNumTokens");
  c.max_num_pages_per_req = o.integer("maxNumPagesPerReq");
  c.max_num_splits = o.integer("maxNumSplits");
  c.causal = o.boolean("causal");
  c.window_left = o.integer("windowLeft");
  c.window_right = o.integer("windowRight");
  c.softcap = static_cast<float>(o.number("softcap"));
  throwIfFailed(o.env(), fa3::validate_caps(c), fn);
  return c;
}

Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const fa3::DeviceInfo d = fa3::device_status();
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", Napi::Boolean::New(env, d.available));
  if (!d.reason.empty()) o.Set("reason", Napi::String::New(env, d.reason));
  if (d.sm_count > 0) o.Set("smCount", Napi::Number::New(env, d.sm_count));
  if (!d.name.empty()) o.Set("deviceName", Napi::String::New(env, d.name));
  return o;
}

// Kernel names <-> scheduling.h ForwardKernel ids; absent = general.
int kernelId(Napi::Env env, const Napi::Value& v, const std::string& path) {
  if (v.IsUndefined()) return fa3::kKernelGeneral;
  const int ids[] = {fa3::kKernelGeneral, fa3::kKernelDecode, fa3::kKernelWgmma};
  return ids[choiceValue(env, v, path, {"general", "decode", "wgmma"})];
}

// tileShape(headDim, qheadsPerKvhead, kernel = 'general'): scheduling.h tile_shape.
Napi::Value TileShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Which head dims: tile_shape_checked says (forward_kernel_list.h).
  const double hd = integerValue(env, info[0], "tileShape.headDim", 0, 65536);
  const double g = integerValue(env, info[1], "tileShape.qheadsPerKvhead", 1, 4096);
  const int kernel = kernelId(env, info[2], "tileShape.kernel");
  fa3::TileShape t;
  throwIfFailed(env, fa3::tile_shape_checked(kernel, static_cast<int>(hd), static_cast<int>(g), &t), "tileShape");
  Napi::Object o = Napi::Object::New(env);
  o.Set("blockM", Napi::Number::New(env, t.block_m));
  o.Set("blockN", Napi::Number::New(env, t.block_n));
  return o;
}

// forwardKernel(maxSeqlenQ, qheadsPerKvhead, headDim = 128): the kernel `forward` launches (and
// whose tiles `prepare` numbers): scheduling.h choose_forward_kernel with this process's
// FLASHGRAPH_FA3_KERNEL request.
Napi::Value ForwardKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double q = integerValue(env, info[0], "forwardKernel.maxSeqlenQ", 0, kInt32Max);
  const double g = integerValue(env, info[1], "forwardKernel.qheadsPerKvhead", 1, 4096);
  // Which head dims: step_kernel_checked says (forward_kernel_list.h).
  const double hd = info[2].IsUndefined() ? 128 : integerValue(env, info[2], "forwardKernel.headDim", 0, 65536);
  int kernel = 0;
  throwIfFailed(env, fa3::step_kernel_checked(static_cast<int>(q), static_cast<int>(g), static_cast<int>(hd), &kernel),
                "forwardKernel");
  return Napi::String::New(env, fa3::kernel_name(kernel));
}

// workspaceLayout(caps) takes the caps object itself (`workspaceLayout.caps.<name>` in errors).
Napi::Value WorkspaceLayout(const Napi::CallbackInfo& info) {
  const char* fn = "workspaceLayout";
  Napi::Env env = info.Env();
  const fa3::Caps c = readCaps(Fields(objectValue(env, info[0], "workspaceLayout.caps"), "workspaceLayout.caps"), fn);
  fa3::WorkspaceLayout l;
  throwIfFailed(env, fa3::workspace_layout_checked(c, &l), fn);
  Napi::Object o = Napi::Object::New(env);
  o.Set("totalBytes", Napi::Number::New(env, static_cast<double>(l.total_bytes)));
  o.Set("splitsOffset", Napi::Number::New(env, static_cast<double>(l.splits_offset)));
  o.Set("tileOffsetsOffset", Napi::Number::New(env, static_cast<double>(l.tile_offsets_offset)));
  o.Set("orderOffset", Napi::Number::New(env, static_cast<double>(l.order_offset)));
  o.Set("countersOffset", Napi::Number::New(env, static_cast<double>(l.counters_offset)));
  o.Set("countersBytes", Napi::Number::New(env, static_cast<double>(l.counters_bytes)));
  o.Set("oPartialOffset", Napi::Number::New(env, static_cast<double>(l.o_partial_offset)));
  o.Set("lsePartialOffset", Napi::Number::New(env, static_cast<double>(l.lse_partial_offset)));
  return o;
}

// tileOrder({numHeadsKv, headDim, kLen, mBlocks, splits, causal}): scheduling.h tile_coord at every
// position of one request's tiles and one past them, as [kvHead, mBlock, split] triples (the
// forward kernels' tile order; the native parity tests check it covers every tile once, in L2
// sections of heads_per_section heads, longest first). Host code: no device needed.
Napi::Value TileOrder(const Napi::CallbackInfo& info) {
  const char* fn = "tileOrder";
  const Fields a = argsOf(info, fn);
  const int hkv = a.integer("numHeadsKv", 1, 256);
  const int head_dim = a.integer("headDim", 1, 1024);
  const int k_len = a.integer("kLen", 0, 1 << 30);
  const int splits = a.integer("splits", 1, fa3::kMaxSplitsLimit);
  // At most 2^22 tiles (the answer's size): the bound on mBlocks follows from the other two.
  const int m_blocks = a.integer("mBlocks", 1, (1 << 22) / (hkv * splits));
  const bool causal = a.boolean("causal");
  const int64_t tiles = static_cast<int64_t>(hkv) * m_blocks * splits;
  const int hs = fa3::heads_per_section(k_len, head_dim, hkv);
  Napi::Int32Array out = Napi::Int32Array::New(a.env(), static_cast<size_t>(3 * (tiles + 1)));
  for (int64_t i = 0; i <= tiles; ++i) {
    const fa3::TileCoord c = fa3::tile_coord(static_cast<int>(i), splits, m_blocks, hkv, hs, causal);
    // size_t index: an int64_t one is ambiguous between TypedArrayOf::operator[] and the built-in
    // subscript through napi_value (gcc -Werror rejects it).
    const size_t at = static_cast<size_t>(3 * i);
    out[at] = c.kv_head;
    out[at + 1] = c.m_block;
    out[at + 2] = c.split;
  }
  return out;
}

Napi::Value ResolveNumSplits(const Napi::CallbackInfo& info) {
  const char* fn = "resolveNumSplits";
  const Fields a = argsOf(info, fn);
  const fa3::Caps c = readCaps(a.object("caps"), fn);
  const int num_splits = a.integer("numSplits");
  const int max_seqlen_q = a.integer("maxSeqlenQ");
  const int max_seqlen_k = a.integer("maxSeqlenK");
  const int sm_count = a.integer("smCount");
  int out = 1;
  throwIfFailed(info.Env(),
                fa3::resolve_num_splits_checked(c, num_splits, max_seqlen_q, max_seqlen_k, sm_count, &out), fn);
  return Napi::Number::New(info.Env(), out);
}

Napi::Value PlanSplitsHost(const Napi::CallbackInfo& info) {
  const char* fn = "planSplitsHost";
  Napi::Env env = info.Env();
  const Fields a = argsOf(info, fn);
  const fa3::Caps c = readCaps(a.object("caps"), fn);
  const int num_reqs = a.integer("numReqs", 0, c.max_num_reqs);
  // plan_splits_host reads numReqs + 1 offsets and numReqs lengths.
  Napi::Int32Array cu = a.int32Array("cuSeqlensQ", static_cast<size_t>(num_reqs) + 1);
  Napi::Int32Array seq = a.int32Array("seqLens", static_cast<size_t>(num_reqs));
  const int bound = a.integer("numSplitsBound");
  const int sm = a.integer("smCount");
  const int kernel = kernelId(env, a.get("kernel"), a.path("kernel"));
  Napi::Int32Array splits = Napi::Int32Array::New(env, num_reqs);
  Napi::Int32Array offsets = Napi::Int32Array::New(env, static_cast<size_t>(num_reqs) + 1);
  Napi::Int32Array order = Napi::Int32Array::New(env, num_reqs);
  int32_t total = 0;
  throwIfFailed(env,
                fa3::plan_splits_host(c, cu.Data(), seq.Data(), num_reqs, bound, sm, kernel, splits.Data(),
                                      offsets.Data(), order.Data(), &total),
                fn);
  Napi::Object o = Napi::Object::New(env);
  o.Set("splits", splits);
  o.Set("tileOffsets", offsets);
  o.Set("order", order);
  o.Set("totalTiles", Napi::Number::New(env, total));
  return o;
}

Napi::Value Prepare(const Napi::CallbackInfo& info) {
  const char* fn = "prepare";
  const Fields a = argsOf(info, fn);
  fa3::PrepareArgs p;
  p.caps = readCaps(a.object("caps"), fn);
  p.stream = a.pointer("stream");
  p.workspace = a.pointer("workspace");
  p.cu_seqlens_q = a.pointer("cuSeqlensQ");
  p.seq_lens = a.pointer("seqLens");
  p.num_reqs = a.integer("numReqs");
  p.max_seqlen_q = a.has("maxSeqlenQ") ? a.integer("maxSeqlenQ") : 0;
  p.num_splits_bound = a.integer("numSplitsBound");
  p.sm_count = a.integer("smCount");
  throwIfFailed(info.Env(), fa3::prepare(p), fn);
  return info.Env().Undefined();
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  const char* fn = "forward";
  const Fields a = argsOf(info, fn);
  fa3::ForwardArgs p;
  p.caps = readCaps(a.object("caps"), fn);
  p.stream = a.pointer("stream");
  p.workspace = a.pointer("workspace");
  p.q = a.pointer("q");
  p.k_cache = a.pointer("kCache");
  p.v_cache = a.pointer("vCache");
  p.out = a.pointer("out");
  p.lse = a.pointer("lse");
  p.sinks = a.optionalPointer("sinks");
  p.page_table = a.pointer("pageTable");
  p.page_table_stride = a.integer("pageTableStride");
  p.cu_seqlens_q = a.pointer("cuSeqlensQ");
  p.seq_lens = a.pointer("seqLens");
  p.num_reqs = a.integer("numReqs");
  p.max_seqlen_q = a.integer("maxSeqlenQ");
  p.max_seqlen_k = a.integer("maxSeqlenK");
  p.softmax_scale = a.number("softmaxScale");
  p.num_splits_bound = a.integer("numSplitsBound");
  p.sm_count = a.integer("smCount");
  p.k_descale = a.optionalPointer("kDescale");
  p.v_descale = a.optionalPointer("vDescale");
  p.fp8_fast = a.has("fp8Fast") && a.boolean("fp8Fast");
  throwIfFailed(info.Env(), fa3::forward(p), fn);
  return info.Env().Undefined();
}

Napi::Value WriteKvCache(const Napi::CallbackInfo& info) {
  const char* fn = "writeKvCache";
  const Fields a = argsOf(info, fn);
  fa3::KvWriteArgs p;
  p.caps = readCaps(a.object("caps"), fn);
  p.stream = a.pointer("stream");
  p.key = a.pointer("key");
  p.value = a.pointer("value");
  p.k_cache = a.pointer("kCache");
  p.v_cache = a.pointer("vCache");
  p.slot_mapping = a.pointer("slotMapping");
  p.num_tokens = a.integer("numTokens");
  p.k_descale = a.optionalPointer("kDescale");
  p.v_descale = a.optionalPointer("vDescale");
  throwIfFailed(info.Env(), fa3::write_kv_cache(p), fn);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, Status, "status"));
  exports.Set("tileShape", Napi::Function::New(env, TileShape, "tileShape"));
  exports.Set("forwardKernel", Napi::Function::New(env, ForwardKernel, "forwardKernel"));
  exports.Set("workspaceLayout", Napi::Function::New(env, WorkspaceLayout, "workspaceLayout"));
  exports.Set("resolveNumSplits", Napi::Function::New(env, ResolveNumSplits, "resolveNumSplits"));
  exports.Set("planSplitsHost", Napi::Function::New(env, PlanSplitsHost, "planSplitsHost"));
  exports.Set("tileOrder", Napi::Function::New(env, TileOrder, "tileOrder"));
  exports.Set("prepare", Napi::Function::New(env, Prepare, "prepare"));
  exports.Set("forward", Napi::Function::New(env, Forward, "forward"));
  exports.Set("writeKvCache", Napi::Function::New(env, WriteKvCache, "writeKvCache"));
  return exports;
}

}  // namespace

NODE_API_MODULE(flashgraph_fa3, Init)
