// flashgraph_fa3.node: node-addon-api glue over the plain C++ API in kernels/api.h. Implements the
// contract of docs/architecture.md ("flashgraph_fa3.node functions"): status, tileShape, forwardKernel,
// workspaceLayout, resolveNumSplits, planSplitsHost, prepare, forward, writeKvCache. All
// synchronous; pointers and streams are bigints. Loading never touches the GPU (cudart is static),
// so the addon loads on a machine without a driver and status() says why nothing can run.
// Errors are JS Errors whose message starts with the CUDA / fa3 error name.
#include <napi.h>

#include <cmath>
#include <string>

#include "../kernels/api.h"

namespace {

constexpr const char* kInvalid = "cudaErrorInvalidValue";

[[noreturn]] void throwNamed(Napi::Env env, const std::string& name, const std::string& what, int code) {
  Napi::Error e = Napi::Error::New(env, name + ": " + what);
  e.Set("cudaName", Napi::String::New(env, name));
  e.Set("cudaCode", Napi::Number::New(env, code));
  throw e;
}
[[noreturn]] void throwInvalid(Napi::Env env, const std::string& what) { throwNamed(env, kInvalid, what, 1); }

void throwIfFailed(Napi::Env env, const fa3::Result& r) {
  if (r.ok()) return;
  const size_t colon = r.message.find(':');
  const std::string name = colon == std::string::npos ? kInvalid : r.message.substr(0, colon);
  Napi::Error e = Napi::Error::New(env, r.message);
  e.Set("cudaName", Napi::String::New(env, name));
  e.Set("cudaCode", Napi::Number::New(env, r.code));
  throw e;
}

Napi::Object objectArg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsObject()) throwInvalid(info.Env(), std::string(fn) + ": expected an argument object");
  return info[0].As<Napi::Object>();
}

Napi::Value field(const Napi::Object& o, const char* fn, const char* name) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) throwInvalid(o.Env(), std::string(fn) + ": " + name + " is required");
  return v;
}

double numberField(const Napi::Object& o, const char* fn, const char* name) {
  Napi::Value v = field(o, fn, name);
  if (!v.IsNumber()) throwInvalid(o.Env(), std::string(fn) + ": " + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int intField(const Napi::Object& o, const char* fn, const char* name, double lo = -2147483648.0,
             double hi = 2147483647.0) {
  const double v = numberField(o, fn, name);
  if (!(v >= lo && v <= hi) || v != std::floor(v)) {
    throwInvalid(o.Env(), std::string(fn) + ": " + name + " must be an integer in [" + std::to_string(int64_t(lo)) +
                              ", " + std::to_string(int64_t(hi)) + "], got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

bool boolField(const Napi::Object& o, const char* fn, const char* name) {
  Napi::Value v = field(o, fn, name);
  if (!v.IsBoolean()) throwInvalid(o.Env(), std::string(fn) + ": " + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

uintptr_t ptrField(const Napi::Object& o, const char* fn, const char* name);
// An optional pointer: absent (undefined) reads as 0.
uintptr_t optionalPtrField(const Napi::Object& o, const char* fn, const char* name) {
  return o.Get(name).IsUndefined() ? 0 : ptrField(o, fn, name);
}

uintptr_t ptrField(const Napi::Object& o, const char* fn, const char* name) {
  Napi::Value v = field(o, fn, name);
  if (!v.IsBigInt()) throwInvalid(o.Env(), std::string(fn) + ": " + name + " must be a bigint");
  bool lossless = false;
  const uint64_t p = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throwInvalid(o.Env(), std::string(fn) + ": " + name + " must be in [0, 2^64)");
  return static_cast<uintptr_t>(p);
}

Napi::Int32Array int32ArrayField(const Napi::Object& o, const char* fn, const char* name, size_t min_len) {
  Napi::Value v = field(o, fn, name);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throwInvalid(o.Env(), std::string(fn) + ": " + name + " must be an Int32Array");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ElementLength() < min_len)
    throwInvalid(o.Env(), std::string(fn) + ": " + name + " must hold at least " + std::to_string(min_len) +
                              " elements, got " + std::to_string(a.ElementLength()));
  return a;
}

fa3::Caps capsField(const Napi::Object& args, const char* fn) {
  Napi::Value v = field(args, fn, "caps");
  if (!v.IsObject()) throwInvalid(args.Env(), std::string(fn) + ": caps must be an object");
  Napi::Object o = v.As<Napi::Object>();
  fa3::Caps c;
  c.num_heads_q = intField(o, fn, "numHeadsQ");
  c.num_heads_kv = intField(o, fn, "numHeadsKv");
  c.head_dim = intField(o, fn, "headDim");
  Napi::Value dt = field(o, fn, "dtype");
  const std::string dts = dt.IsString() ? dt.As<Napi::String>().Utf8Value() : "";
  if (dts == "bf16") c.dtype = 0;
  else if (dts == "fp16") c.dtype = 1;
  else throwInvalid(o.Env(), std::string(fn) + ": caps.dtype must be 'bf16' or 'fp16'");
  // caps.kvDtype: the cache's element type, default caps.dtype.
  Napi::Value kv = o.Get("kvDtype");
  if (!kv.IsUndefined()) {
    const std::string kvs = kv.IsString() ? kv.As<Napi::String>().Utf8Value() : "";
    if (kvs == "bf16") c.kv_dtype = 0;
    else if (kvs == "fp16") c.kv_dtype = 1;
    else if (kvs == "fp8_e4m3") c.kv_dtype = fa3::kKvFp8E4m3;
    else throwInvalid(o.Env(), std::string(fn) + ": caps.kvDtype must be 'bf16', 'fp16' or 'fp8_e4m3'");
  }
  c.page_size = intField(o, fn, "pageSize");
  c.num_pages = intField(o, fn, "numPages");
  c.max_num_reqs = intField(o, fn, "maxNumReqs");
  c.max_num_tokens = intField(o, fn, "maxNumTokens");
  c.max_num_pages_per_req = intField(o, fn, "maxNumPagesPerReq");
  c.max_num_splits = intField(o, fn, "maxNumSplits");
  c.causal = boolField(o, fn, "causal");
  c.window_left = intField(o, fn, "windowLeft");
  c.window_right = intField(o, fn, "windowRight");
  c.softcap = static_cast<float>(numberField(o, fn, "softcap"));
  throwIfFailed(o.Env(), fa3::validate_caps(c));
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

// Kernel names <-> scheduling.h ForwardKernel ids.
int kernelId(Napi::Env env, const Napi::Value& v, const char* fn) {
  if (v.IsUndefined()) return fa3::kKernelGeneral;
  const std::string k = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  if (k == "general") return fa3::kKernelGeneral;
  if (k == "decode") return fa3::kKernelDecode;
  if (k == "wgmma") return fa3::kKernelWgmma;
  throwInvalid(env, std::string(fn) + ": kernel must be 'general', 'decode' or 'wgmma'");
  return 0;
}

// tileShape(headDim, qheadsPerKvhead, kernel = 'general'): scheduling.h tile_shape.
Napi::Value TileShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throwInvalid(env, "tileShape: expected (headDim: number, qheadsPerKvhead: number, kernel?: string)");
  const double hd = info[0].As<Napi::Number>().DoubleValue(), g = info[1].As<Napi::Number>().DoubleValue();
  // Which head dims: tile_shape_checked says (forward_kernel_list.h).
  if (hd != std::floor(hd) || hd < 0 || hd > 65536 || g != std::floor(g) || g < 1 || g > 4096)
    throwInvalid(env, "tileShape: headDim must be an integer and qheadsPerKvhead an integer in [1, 4096]");
  const int kernel = kernelId(env, info.Length() > 2 ? info[2] : env.Undefined(), "tileShape");
  fa3::TileShape t;
  throwIfFailed(env, fa3::tile_shape_checked(kernel, static_cast<int>(hd), static_cast<int>(g), &t));
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
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throwInvalid(env, "forwardKernel: expected (maxSeqlenQ: number, qheadsPerKvhead: number, headDim?: number)");
  const double q = info[0].As<Napi::Number>().DoubleValue(), g = info[1].As<Napi::Number>().DoubleValue();
  if (q != std::floor(q) || g != std::floor(g) || q < 0 || q > 2147483647.0 || g < 1 || g > 4096)
    throwInvalid(env, "forwardKernel: maxSeqlenQ must be an integer in [0, 2147483647] and qheadsPerKvhead in [1, 4096]");
  double hd = 128;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsNumber()) throwInvalid(env, "forwardKernel: headDim must be a number");
    hd = info[2].As<Napi::Number>().DoubleValue();
  }
  // Which head dims: step_kernel_checked says (forward_kernel_list.h).
  if (hd != std::floor(hd) || hd < 0 || hd > 65536) throwInvalid(env, "forwardKernel: headDim must be an integer");
  int kernel = 0;
  throwIfFailed(env, fa3::step_kernel_checked(static_cast<int>(q), static_cast<int>(g), static_cast<int>(hd), &kernel));
  return Napi::String::New(env, fa3::kernel_name(kernel));
}

Napi::Value WorkspaceLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  fa3::Caps c;
  if (info.Length() < 1 || !info[0].IsObject()) throwInvalid(env, "workspaceLayout: expected caps");
  {
    // workspaceLayout(caps) takes the caps object itself.
    Napi::Object wrapper = Napi::Object::New(env);
    wrapper.Set("caps", info[0]);
    c = capsField(wrapper, "workspaceLayout");
  }
  fa3::WorkspaceLayout l;
  throwIfFailed(env, fa3::workspace_layout_checked(c, &l));
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

Napi::Value ResolveNumSplits(const Napi::CallbackInfo& info) {
  const char* fn = "resolveNumSplits";
  Napi::Object a = objectArg(info, fn);
  const fa3::Caps c = capsField(a, fn);
  int out = 1;
  throwIfFailed(info.Env(), fa3::resolve_num_splits_checked(c, intField(a, fn, "numSplits"), intField(a, fn, "maxSeqlenQ"),
                                                            intField(a, fn, "maxSeqlenK"), intField(a, fn, "smCount"),
                                                            &out));
  return Napi::Number::New(info.Env(), out);
}

Napi::Value PlanSplitsHost(const Napi::CallbackInfo& info) {
  const char* fn = "planSplitsHost";
  Napi::Env env = info.Env();
  Napi::Object a = objectArg(info, fn);
  const fa3::Caps c = capsField(a, fn);
  const int num_reqs = intField(a, fn, "numReqs", 0, c.max_num_reqs);
  Napi::Int32Array cu = int32ArrayField(a, fn, "cuSeqlensQ", static_cast<size_t>(num_reqs) + 1);
  Napi::Int32Array seq = int32ArrayField(a, fn, "seqLens", static_cast<size_t>(num_reqs));
  const int bound = intField(a, fn, "numSplitsBound");
  const int sm = intField(a, fn, "smCount");
  const int kernel = kernelId(env, a.Get("kernel"), fn);
  Napi::Int32Array splits = Napi::Int32Array::New(env, num_reqs);
  Napi::Int32Array offsets = Napi::Int32Array::New(env, static_cast<size_t>(num_reqs) + 1);
  Napi::Int32Array order = Napi::Int32Array::New(env, num_reqs);
  int32_t total = 0;
  throwIfFailed(env, fa3::plan_splits_host(c, cu.Data(), seq.Data(), num_reqs, bound, sm, kernel, splits.Data(),
                                           offsets.Data(), order.Data(), &total));
  Napi::Object o = Napi::Object::New(env);
  o.Set("splits", splits);
  o.Set("tileOffsets", offsets);
  o.Set("order", order);
  o.Set("totalTiles", Napi::Number::New(env, total));
  return o;
}

Napi::Value Prepare(const Napi::CallbackInfo& info) {
  const char* fn = "prepare";
  Napi::Object a = objectArg(info, fn);
  fa3::PrepareArgs p;
  p.caps = capsField(a, fn);
  p.stream = ptrField(a, fn, "stream");
  p.workspace = ptrField(a, fn, "workspace");
  p.cu_seqlens_q = ptrField(a, fn, "cuSeqlensQ");
  p.seq_lens = ptrField(a, fn, "seqLens");
  p.num_reqs = intField(a, fn, "numReqs");
  p.max_seqlen_q = a.Get("maxSeqlenQ").IsUndefined() ? 0 : intField(a, fn, "maxSeqlenQ");
  p.num_splits_bound = intField(a, fn, "numSplitsBound");
  p.sm_count = intField(a, fn, "smCount");
  throwIfFailed(info.Env(), fa3::prepare(p));
  return info.Env().Undefined();
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  const char* fn = "forward";
  Napi::Object a = objectArg(info, fn);
  fa3::ForwardArgs p;
  p.caps = capsField(a, fn);
  p.stream = ptrField(a, fn, "stream");
  p.workspace = ptrField(a, fn, "workspace");
  p.q = ptrField(a, fn, "q");
  p.k_cache = ptrField(a, fn, "kCache");
  p.v_cache = ptrField(a, fn, "vCache");
  p.out = ptrField(a, fn, "out");
  p.lse = ptrField(a, fn, "lse");
  p.sinks = a.Get("sinks").IsUndefined() ? 0 : ptrField(a, fn, "sinks");
  p.page_table = ptrField(a, fn, "pageTable");
  p.page_table_stride = intField(a, fn, "pageTableStride");
  p.cu_seqlens_q = ptrField(a, fn, "cuSeqlensQ");
  p.seq_lens = ptrField(a, fn, "seqLens");
  p.num_reqs = intField(a, fn, "numReqs");
  p.max_seqlen_q = intField(a, fn, "maxSeqlenQ");
  p.max_seqlen_k = intField(a, fn, "maxSeqlenK");
  p.softmax_scale = numberField(a, fn, "softmaxScale");
  p.num_splits_bound = intField(a, fn, "numSplitsBound");
  p.sm_count = intField(a, fn, "smCount");
  p.k_descale = optionalPtrField(a, fn, "kDescale");
  p.v_descale = optionalPtrField(a, fn, "vDescale");
  throwIfFailed(info.Env(), fa3::forward(p));
  return info.Env().Undefined();
}

Napi::Value WriteKvCache(const Napi::CallbackInfo& info) {
  const char* fn = "writeKvCache";
  Napi::Object a = objectArg(info, fn);
  fa3::KvWriteArgs p;
  p.caps = capsField(a, fn);
  p.stream = ptrField(a, fn, "stream");
  p.key = ptrField(a, fn, "key");
  p.value = ptrField(a, fn, "value");
  p.k_cache = ptrField(a, fn, "kCache");
  p.v_cache = ptrField(a, fn, "vCache");
  p.slot_mapping = ptrField(a, fn, "slotMapping");
  p.num_tokens = intField(a, fn, "numTokens");
  p.k_descale = optionalPtrField(a, fn, "kDescale");
  p.v_descale = optionalPtrField(a, fn, "vDescale");
  throwIfFailed(info.Env(), fa3::write_kv_cache(p));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, Status, "status"));
  exports.Set("tileShape", Napi::Function::New(env, TileShape, "tileShape"));
  exports.Set("forwardKernel", Napi::Function::New(env, ForwardKernel, "forwardKernel"));
  exports.Set("workspaceLayout", Napi::Function::New(env, WorkspaceLayout, "workspaceLayout"));
  exports.Set("resolveNumSplits", Napi::Function::New(env, ResolveNumSplits, "resolveNumSplits"));
  exports.Set("planSplitsHost", Napi::Function::New(env, PlanSplitsHost, "planSplitsHost"));
  exports.Set("prepare", Napi::Function::New(env, Prepare, "prepare"));
  exports.Set("forward", Napi::Function::New(env, Forward, "forward"));
  exports.Set("writeKvCache", Napi::Function::New(env, WriteKvCache, "writeKvCache"));
  return exports;
}

}  // namespace

NODE_API_MODULE(flashgraph_fa3, Init)
