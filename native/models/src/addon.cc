// flashgraph_models.node: Node glue for the Llama-family CUDA backend. `cublasLt()` reports the
// run-time cuBLASLt (for `flashgraph doctor`); `Gemm` is one planned cuBLASLt GEMM; a
// `LlamaKernels` object holds a model's dims and capacities (so a launch cannot index past
// buffers sized for them) and launches one kernel per method on a stream handed over as a bigint,
// synchronously and capturably. Pointers are bigints (0n = none). Loads without a GPU or cuBLASLt.
#include <napi.h>

#include "flashgraph/napi_status.h"

#include <cstdint>
#include <memory>
#include <string>

#include "../kernels/llama_kernels.h"
#include "cublaslt.h"
#include "gemm.h"

namespace {

using flashgraph_models::Dtype;
using flashgraph_models::ElemType;
using flashgraph_models::GemmPlan;
using flashgraph_models::GemmShape;
using flashgraph_models::LlamaDims;

constexpr int kMaxInt = 2147483647;

uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a bigint");
  bool lossless = false;
  const uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be in [0, 2^64)");
  return v;
}

uint64_t nonNullArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const uint64_t v = bigintArg(info, i, name);
  if (v == 0) throw Napi::RangeError::New(info.Env(), std::string(name) + " must not be 0n (a null pointer)");
  return v;
}

double numberOf(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, name + " must be a number");
  return value.As<Napi::Number>().DoubleValue();
}

int64_t checkedInt(Napi::Env env, double v, const std::string& name, int64_t min, int64_t max) {
  if (!(v >= static_cast<double>(min) && v <= static_cast<double>(max)) ||
      v != static_cast<double>(static_cast<int64_t>(v))) {
    throw Napi::RangeError::New(env, name + " must be an integer in [" + std::to_string(min) + ", " +
                                         std::to_string(max) + "], got " + std::to_string(v));
  }
  return static_cast<int64_t>(v);
}

int intArg(const Napi::CallbackInfo& info, size_t i, const char* name, int min, int max) {
  return static_cast<int>(checkedInt(info.Env(), numberOf(info.Env(), info[i], name), name, min, max));
}

int intProp(const Napi::Object& o, const char* name, int min, int max) {
  return static_cast<int>(checkedInt(o.Env(), numberOf(o.Env(), o.Get(name), name), name, min, max));
}

uint64_t bigintProp(const Napi::Object& o, const char* name, bool optional) {
  const Napi::Value v = o.Get(name);
  if (optional && (v.IsUndefined() || v.IsNull())) return 0;
  if (!v.IsBigInt()) throw Napi::TypeError::New(o.Env(), std::string(name) + " must be a bigint");
  bool lossless = false;
  const uint64_t out = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(o.Env(), std::string(name) + " must be in [0, 2^64)");
  return out;
}

template <typename P>
P* ptr(uint64_t v) {
  return reinterpret_cast<P*>(static_cast<uintptr_t>(v));
}

cudaStream_t streamOf(uint64_t v) { return reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(v)); }

void check(Napi::Env env, cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky launch error so the next call starts clean
  throw Napi::Error::New(env, std::string(cudaGetErrorName(err)) + ": " + what + ": " + cudaGetErrorString(err));
}

// cublasLt(): { available, path?, version?, reason?, tried: string[], install }. Never throws.
Napi::Value CublasLt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& lib = flashgraph_models::cublasLtLibrary();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", lib.api != nullptr);
  if (lib.api != nullptr) {
    out.Set("path", lib.path);
    out.Set("version", static_cast<double>(lib.version));
  } else {
    out.Set("reason", lib.reason);
  }
  Napi::Array tried = Napi::Array::New(env, lib.tried.size());
  for (size_t i = 0; i < lib.tried.size(); i++) tried.Set(static_cast<uint32_t>(i), lib.tried[i]);
  out.Set("tried", tried);
  out.Set("install", flashgraph_models::cublasLtInstallHint());
  return out;
}

class Gemm : public Napi::ObjectWrap<Gemm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Gemm",
                       {InstanceMethod("run", &Gemm::Run), InstanceMethod("paddedRows", &Gemm::PaddedRows),
                        InstanceMethod("buckets", &Gemm::Buckets), InstanceMethod("dispose", &Gemm::Dispose)});
  }

  // new Gemm({ n, k, maxM, inDtype: 0 | 1, outDtype: 0 | 1 | 2, bias?: bigint, workspace: bigint,
  //   workspaceBytes })
  explicit Gemm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Gemm>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    const Napi::Object o = info[0].As<Napi::Object>();
    GemmShape shape{};
    shape.n = intProp(o, "n", 1, 1 << 24);
    shape.k = intProp(o, "k", 1, 1 << 24);
    shape.maxM = intProp(o, "maxM", 1, 1 << 24);
    shape.in = static_cast<ElemType>(intProp(o, "inDtype", 0, 1));
    shape.out = static_cast<ElemType>(intProp(o, "outDtype", 0, 2));
    shape.bias = ptr<const void>(bigintProp(o, "bias", true));
    const uint64_t workspace = bigintProp(o, "workspace", false);
    const double workspaceBytes = numberOf(env, o.Get("workspaceBytes"), "workspaceBytes");
    const int64_t wsBytes = checkedInt(env, workspaceBytes, "workspaceBytes", 0, int64_t{1} << 40);
    const std::string error = GemmPlan::create(shape, ptr<void>(workspace), static_cast<size_t>(wsBytes), plan_);
    if (!error.empty()) throw Napi::Error::New(env, error);
  }

 private:
  const GemmPlan& plan(Napi::Env env) const {
    if (!plan_) throw Napi::Error::New(env, "this Gemm was disposed");
    return *plan_;
  }

  // run(x, w, y, m, stream)
  Napi::Value Run(const Napi::CallbackInfo& info) {
    const GemmPlan& p = plan(info.Env());
    const uint64_t x = nonNullArg(info, 0, "x");
    const uint64_t w = nonNullArg(info, 1, "w");
    const uint64_t y = nonNullArg(info, 2, "y");
    const int m = intArg(info, 3, "m", 0, p.shape().maxM);
    const uint64_t stream = bigintArg(info, 4, "stream");
    const flashgraph_models::cublasStatus_t s = p.run(ptr<const void>(x), ptr<const void>(w), ptr<void>(y), m,
                                                      streamOf(stream));
    if (s != flashgraph_models::kCublasSuccess) {
      cudaGetLastError();
      throw Napi::Error::New(info.Env(), std::string("cublasLtMatmul failed: ") +
                                            flashgraph_models::cublasStatusName(s) + " (m=" + std::to_string(m) +
                                            ", n=" + std::to_string(p.shape().n) +
                                            ", k=" + std::to_string(p.shape().k) + ")");
    }
    return info.Env().Undefined();
  }

  Napi::Value PaddedRows(const Napi::CallbackInfo& info) {
    const GemmPlan& p = plan(info.Env());
    return Napi::Number::New(info.Env(), p.paddedRows(intArg(info, 0, "m", 0, p.shape().maxM)));
  }

  Napi::Value Buckets(const Napi::CallbackInfo& info) {
    const GemmPlan& p = plan(info.Env());
    Napi::Array out = Napi::Array::New(info.Env(), p.buckets().size());
    for (size_t i = 0; i < p.buckets().size(); i++) out.Set(static_cast<uint32_t>(i), p.buckets()[i]);
    return out;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    plan_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<GemmPlan> plan_;
};

class LlamaKernels : public Napi::ObjectWrap<LlamaKernels> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LlamaKernels",
                       {
                           InstanceMethod("embed", &LlamaKernels::Embed),
                           InstanceMethod("addRmsNorm", &LlamaKernels::AddRmsNorm),
                           InstanceMethod("qkvRope", &LlamaKernels::QkvRope),
                           InstanceMethod("siluMul", &LlamaKernels::SiluMul),
                           InstanceMethod("gatherFinalNorm", &LlamaKernels::GatherFinalNorm),
                       });
  }

  // new LlamaKernels({ hiddenSize, numHeadsQ, numHeadsKv, headDim, intermediateSize, vocabSize,
  //   rmsNormEps, dtype: 0 | 1, maxNumTokens, maxNumReqs })
  explicit LlamaKernels(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LlamaKernels>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    const Napi::Object o = info[0].As<Napi::Object>();
    d_.hiddenSize = intProp(o, "hiddenSize", 1, 1 << 16);
    d_.numHeadsQ = intProp(o, "numHeadsQ", 1, 1024);
    d_.numHeadsKv = intProp(o, "numHeadsKv", 1, d_.numHeadsQ);
    d_.headDim = intProp(o, "headDim", 2, 256);
    if (d_.headDim % 2 != 0) throw Napi::RangeError::New(env, "headDim must be even");
    d_.intermediateSize = intProp(o, "intermediateSize", 1, 1 << 20);
    d_.vocabSize = intProp(o, "vocabSize", 1, 1 << 26);
    const double eps = numberOf(env, o.Get("rmsNormEps"), "rmsNormEps");
    if (!(eps > 0 && eps < 1)) throw Napi::RangeError::New(env, "rmsNormEps must be in (0, 1)");
    d_.rmsNormEps = static_cast<float>(eps);
    d_.dtype = static_cast<Dtype>(intProp(o, "dtype", 0, 1));
    maxNumTokens_ = intProp(o, "maxNumTokens", 1, kMaxInt);
    maxNumReqs_ = intProp(o, "maxNumReqs", 1, kMaxInt);
    if (static_cast<size_t>(d_.hiddenSize) * 4 > 48 * 1024)
      throw Napi::RangeError::New(env, "hiddenSize must be at most 12288 (the final norm stages a row in shared memory)");
  }

 private:
  // embed(table, tokenIds, out, numTokens, stream)
  Napi::Value Embed(const Napi::CallbackInfo& info) {
    const uint64_t table = nonNullArg(info, 0, "table");
    const uint64_t tokenIds = nonNullArg(info, 1, "tokenIds");
    const uint64_t out = nonNullArg(info, 2, "out");
    const int n = intArg(info, 3, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 4, "stream");
    check(info.Env(),
          flashgraph_models::launchEmbed(d_, ptr<const void>(table), ptr<const int32_t>(tokenIds), ptr<void>(out), n,
                                         streamOf(stream)),
          "embed launch failed");
    return info.Env().Undefined();
  }

  // addRmsNorm(x, delta (0n: none), weight, out, numTokens, stream)
  Napi::Value AddRmsNorm(const Napi::CallbackInfo& info) {
    const uint64_t x = nonNullArg(info, 0, "x");
    const uint64_t delta = bigintArg(info, 1, "delta");
    const uint64_t weight = nonNullArg(info, 2, "weight");
    const uint64_t out = nonNullArg(info, 3, "out");
    const int n = intArg(info, 4, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 5, "stream");
    check(info.Env(),
          flashgraph_models::launchAddRmsNorm(d_, ptr<void>(x), ptr<const void>(delta), ptr<const void>(weight),
                                              ptr<void>(out), n, streamOf(stream)),
          "addRmsNorm launch failed");
    return info.Env().Undefined();
  }

  // qkvRope(qkv, qNorm (0n: none), kNorm (0n: none), invFreq, positions, q, k, v, numTokens, stream)
  Napi::Value QkvRope(const Napi::CallbackInfo& info) {
    const uint64_t qkv = nonNullArg(info, 0, "qkv");
    const uint64_t qNorm = bigintArg(info, 1, "qNorm");
    const uint64_t kNorm = bigintArg(info, 2, "kNorm");
    const uint64_t invFreq = nonNullArg(info, 3, "invFreq");
    const uint64_t positions = nonNullArg(info, 4, "positions");
    const uint64_t q = nonNullArg(info, 5, "q");
    const uint64_t k = nonNullArg(info, 6, "k");
    const uint64_t v = nonNullArg(info, 7, "v");
    const int n = intArg(info, 8, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 9, "stream");
    if ((qNorm == 0) != (kNorm == 0)) throw Napi::TypeError::New(info.Env(), "qNorm and kNorm go together");
    check(info.Env(),
          flashgraph_models::launchQkvRope(d_, ptr<const void>(qkv), ptr<const void>(qNorm), ptr<const void>(kNorm),
                                           ptr<const float>(invFreq), ptr<const int32_t>(positions), ptr<void>(q),
                                           ptr<void>(k), ptr<void>(v), n, streamOf(stream)),
          "qkvRope launch failed");
    return info.Env().Undefined();
  }

  // siluMul(gateUp, out, numTokens, stream)
  Napi::Value SiluMul(const Napi::CallbackInfo& info) {
    const uint64_t gateUp = nonNullArg(info, 0, "gateUp");
    const uint64_t out = nonNullArg(info, 1, "out");
    const int n = intArg(info, 2, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 3, "stream");
    check(info.Env(), flashgraph_models::launchSiluMul(d_, ptr<const void>(gateUp), ptr<void>(out), n, streamOf(stream)),
          "siluMul launch failed");
    return info.Env().Undefined();
  }

  // gatherFinalNorm(x, delta, weight, sampleRows, out, numReqs, numTokens, stream)
  Napi::Value GatherFinalNorm(const Napi::CallbackInfo& info) {
    const uint64_t x = nonNullArg(info, 0, "x");
    const uint64_t delta = nonNullArg(info, 1, "delta");
    const uint64_t weight = nonNullArg(info, 2, "weight");
    const uint64_t sampleRows = nonNullArg(info, 3, "sampleRows");
    const uint64_t out = nonNullArg(info, 4, "out");
    const int numReqs = intArg(info, 5, "numReqs", 0, maxNumReqs_);
    const int n = intArg(info, 6, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 7, "stream");
    check(info.Env(),
          flashgraph_models::launchGatherFinalNorm(d_, ptr<const void>(x), ptr<const void>(delta),
                                                   ptr<const void>(weight), ptr<const int32_t>(sampleRows),
                                                   ptr<void>(out), numReqs, n, streamOf(stream)),
          "gatherFinalNorm launch failed");
    return info.Env().Undefined();
  }

  LlamaDims d_{};
  int maxNumTokens_ = 0;
  int maxNumReqs_ = 0;
};

// convert(src, srcType, dst, dstType, count, stream): types 0 bf16, 1 fp16, 2 fp32.
Napi::Value Convert(const Napi::CallbackInfo& info) {
  const uint64_t src = nonNullArg(info, 0, "src");
  const int srcType = intArg(info, 1, "srcType", 0, 2);
  const uint64_t dst = nonNullArg(info, 2, "dst");
  const int dstType = intArg(info, 3, "dstType", 0, 2);
  const double countValue = numberOf(info.Env(), info[4], "count");
  const int64_t count = checkedInt(info.Env(), countValue, "count", 0, int64_t{1} << 50);
  const uint64_t stream = bigintArg(info, 5, "stream");
  check(info.Env(),
        flashgraph_models::launchConvert(ptr<const void>(src), srcType, ptr<void>(dst), dstType, count,
                                         streamOf(stream)),
        "convert launch failed");
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, flashgraph::napi::driverStatus, "status"));
  exports.Set("cublasLt", Napi::Function::New(env, CublasLt, "cublasLt"));
  exports.Set("convert", Napi::Function::New(env, Convert, "convert"));
  exports.Set("Gemm", Gemm::Define(env));
  exports.Set("LlamaKernels", LlamaKernels::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(flashgraph_models, Init)
