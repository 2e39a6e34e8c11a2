// flashgraph_models.node: Node glue for the Llama-family CUDA backend. `cublasLt()` reports the
// run-time cuBLASLt (for `flashgraph doctor`); `Gemm` is one planned GEMM (cuBLASLt, or the
// skinny kernel for calls of at most 8 rows); `skinnyGemmPlan` is that kernel's split maths; a
// `LlamaKernels` object holds a model's dims and capacities (so a launch cannot index past
// buffers sized for them) and launches one kernel per method on a stream handed over as a bigint,
// synchronously and capturably. Pointers are bigints (0n = none). Loads without a GPU or cuBLASLt.
#include <napi.h>

#include "flashgraph/napi_args.h"
#include "flashgraph/napi_cuda.h"
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
using flashgraph_models::GemmKernel;
using flashgraph_models::GemmPlan;
using flashgraph_models::GemmShape;
using flashgraph_models::SkinnyGemmPlan;
using flashgraph_models::LlamaDims;

using flashgraph::napi::bigintArg;
using flashgraph::napi::bigintProp;
using flashgraph::napi::boolValue;
using flashgraph::napi::codedError;
using flashgraph::napi::int32Arg;
using flashgraph::napi::int32Prop;
using flashgraph::napi::integerArg;
using flashgraph::napi::integerProp;
using flashgraph::napi::numberProp;
using flashgraph::napi::objectArg;
using flashgraph::napi::throwArgumentError;

using flashgraph::napi::nonNullArg;
using flashgraph::napi::ptr;
using flashgraph::napi::streamOf;

inline void check(Napi::Env env, cudaError_t err, const char* call) { flashgraph::napi::checkCuda(env, err, call); }

// A cuBLASLt failure (not a CUDA runtime error): code `cublas_error`, the status as `cublasStatus`.
[[noreturn]] void throwCublas(Napi::Env env, const std::string& call, const std::string& problem, int status) {
  Napi::Error error = codedError(env, "cublas_error", call, problem);
  if (status >= 0) error.Set("cublasStatus", Napi::Number::New(env, status));
  throw error;
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

Napi::Object skinnyPlanObject(Napi::Env env, const SkinnyGemmPlan& p) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("kSplit", p.kSplit);
  out.Set("tilesPerCta", p.tilesPerCta);
  out.Set("kChunk", p.kChunk);
  out.Set("numCtas", p.numCtas);
  return out;
}

// skinnyGemmPlan(n, k, numSms): the skinny kernel's split of an n x k GEMM on numSms SMs, or a
// typed error naming why the shape cannot take it.
Napi::Value SkinnyGemmPlanOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int n = int32Arg(info, 0, "n", 1, 1 << 24);
  const int k = int32Arg(info, 1, "k", 1, 1 << 24);
  const int numSms = int32Arg(info, 2, "numSms", 1, 1 << 16);
  const char* problem = flashgraph_models::skinnyGemmShapeProblem(n, k);
  if (problem[0] != '\0') throwArgumentError(env, "invalid_value", "k", problem, "a multiple of 8");
  return skinnyPlanObject(env, flashgraph_models::skinnyGemmPlan(n, k, numSms));
}

class Gemm : public Napi::ObjectWrap<Gemm> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Gemm",
                       {InstanceMethod("run", &Gemm::Run), InstanceMethod("paddedRows", &Gemm::PaddedRows),
                        InstanceMethod("buckets", &Gemm::Buckets), InstanceMethod("kernelFor", &Gemm::KernelFor),
                        InstanceMethod("runSiluMul", &Gemm::RunSiluMul),
                        InstanceMethod("skinny", &Gemm::Skinny), InstanceMethod("dispose", &Gemm::Dispose)});
  }

  // new Gemm({ n, k, maxM, inDtype: 0 | 1, outDtype: 0 | 1 | 2, bias?: bigint, workspace: bigint,
  //   workspaceBytes, skinny?: boolean (default: FLASHGRAPH_MODELS_SKINNY_GEMM=1) })
  explicit Gemm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Gemm>(info) {
    Napi::Env env = info.Env();
    const Napi::Object o = objectArg(info, 0, "options");
    GemmShape shape{};
    shape.n = int32Prop(o, "n", 1, 1 << 24);
    shape.k = int32Prop(o, "k", 1, 1 << 24);
    // cuBLASLt's bf16 GEMM read k = 4100 rows 40 bf16 steps off float64 on an H100 (2026-12-05,
    // models' GPU suite); every supported model's k is a multiple of 64, so refuse the rest.
    if (shape.k % 8 != 0) {
      throwArgumentError(env, "invalid_value", "options.k", "k must be a multiple of 8 (16-byte rows)",
                         "a multiple of 8 in [8, 16777216]");
    }
    shape.maxM = int32Prop(o, "maxM", 1, 1 << 24);
    shape.in = static_cast<ElemType>(int32Prop(o, "inDtype", 0, 1));
    shape.out = static_cast<ElemType>(int32Prop(o, "outDtype", 0, 2));
    if (shape.out != ElemType::kFp32 && shape.out != shape.in) {
      throwArgumentError(env, "invalid_value", "options.outDtype", "GEMM output must be fp32 or the input dtype",
                         "2 (fp32) or options.inDtype");
    }
    shape.bias = ptr<const void>(bigintProp(o, "bias", true));
    const Napi::Value skinny = o.Get("skinny");
    shape.skinny = skinny.IsUndefined() ? flashgraph_models::skinnyGemmDefault()
                                        : boolValue(env, skinny, "options.skinny");
    skinnyRequested_ = shape.skinny;
    const uint64_t workspace = bigintProp(o, "workspace", false);
    const double wsBytes = integerProp(o, "workspaceBytes", 0, static_cast<double>(int64_t{1} << 40));
    const auto& lib = flashgraph_models::cublasLtLibrary();
    if (lib.api == nullptr) throw codedError(env, "cublaslt_unavailable", "new Gemm", lib.reason);
    // The shape rules were checked above, so what create reports is cuBLASLt's.
    const std::string error = GemmPlan::create(shape, ptr<void>(workspace), static_cast<size_t>(wsBytes), plan_);
    if (!error.empty()) throwCublas(env, "new Gemm", error, -1);
  }

 private:
  const GemmPlan& plan(Napi::Env env) const {
    if (!plan_) throw codedError(env, "disposed", "Gemm", "this Gemm was disposed");
    return *plan_;
  }

  // run(x, w, y, m, stream)
  Napi::Value Run(const Napi::CallbackInfo& info) {
    const GemmPlan& p = plan(info.Env());
    const uint64_t x = nonNullArg(info, 0, "x");
    const uint64_t w = nonNullArg(info, 1, "w");
    const uint64_t y = nonNullArg(info, 2, "y");
    const int m = int32Arg(info, 3, "m", 0, p.shape().maxM);
    const uint64_t stream = bigintArg(info, 4, "stream");
    const flashgraph_models::GemmStatus status =
        p.run(ptr<const void>(x), ptr<const void>(w), ptr<void>(y), m, streamOf(stream));
    check(info.Env(), status.cuda, "Gemm.run");  // the skinny kernel's launch
    const flashgraph_models::cublasStatus_t s = status.cublas;
    if (s != flashgraph_models::kCublasSuccess) {
      cudaGetLastError();
      throwCublas(info.Env(), "Gemm.run",
                  std::string("cublasLtMatmul failed: ") + flashgraph_models::cublasStatusName(s) +
                      " (m=" + std::to_string(m) + ", n=" + std::to_string(p.shape().n) +
                      ", k=" + std::to_string(p.shape().k) + ")",
                  static_cast<int>(s));
    }
    return info.Env().Undefined();
  }

  Napi::Value PaddedRows(const Napi::CallbackInfo& info) {
    const GemmPlan& p = plan(info.Env());
    return Napi::Number::New(info.Env(), p.paddedRows(int32Arg(info, 0, "m", 0, p.shape().maxM)));
  }

  Napi::Value Buckets(const Napi::CallbackInfo& info) {
    const GemmPlan& p = plan(info.Env());
    Napi::Array out = Napi::Array::New(info.Env(), p.buckets().size());
    for (size_t i = 0; i < p.buckets().size(); i++) out.Set(static_cast<uint32_t>(i), p.buckets()[i]);
    return out;
  }

  // runSiluMul(x, w, act, m, stream): W = [gate; up]; act [m, n / 2] = SiLU(gate) x up in one
  // skinny launch. Only for calls the skinny kernel takes (kernelFor(m) === 'skinny'), an even n,
  // no bias and an output in the input dtype; each refusal a typed error before any launch.
  Napi::Value RunSiluMul(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const GemmPlan& p = plan(env);
    const uint64_t x = nonNullArg(info, 0, "x");
    const uint64_t w = nonNullArg(info, 1, "w");
    const uint64_t act = nonNullArg(info, 2, "act");
    const int m = int32Arg(info, 3, "m", 1, p.shape().maxM);
    const uint64_t stream = bigintArg(info, 4, "stream");
    if (p.kernelFor(m) != GemmKernel::kSkinny) {
      throwArgumentError(env, "invalid_value", "m", "runSiluMul needs the skinny kernel for this call",
                         "1..8 rows on a Gemm with the skinny kernel enabled");
    }
    if (p.shape().n % 2 != 0 || p.shape().bias != nullptr || p.shape().out != p.shape().in) {
      throwArgumentError(env, "invalid_value", "this", "runSiluMul needs W = [gate; up]: an even n, no bias, "
                         "and the output in the input dtype", "a gate/up Gemm");
    }
    check(env, p.runSiluMul(ptr<const void>(x), ptr<const void>(w), ptr<void>(act), m, streamOf(stream)),
          "Gemm.runSiluMul");
    return env.Undefined();
  }

  // kernelFor(m): 'skinny' or 'cublaslt', the kernel a call of m rows (aligned x and W) runs.
  Napi::Value KernelFor(const Napi::CallbackInfo& info) {
    const GemmPlan& p = plan(info.Env());
    const int m = int32Arg(info, 0, "m", 0, p.shape().maxM);
    return Napi::String::New(info.Env(), p.kernelFor(m) == GemmKernel::kSkinny ? "skinny" : "cublaslt");
  }

  // skinny(): { requested, enabled, plan? }
  Napi::Value Skinny(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const GemmPlan& p = plan(env);
    Napi::Object out = Napi::Object::New(env);
    out.Set("requested", skinnyRequested_);
    out.Set("enabled", p.skinnyEnabled());
    if (p.skinnyEnabled()) out.Set("plan", skinnyPlanObject(env, p.skinnyPlan()));
    return out;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    plan_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<GemmPlan> plan_;
  bool skinnyRequested_ = false;
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
    const Napi::Object o = objectArg(info, 0, "options");
    d_.hiddenSize = int32Prop(o, "hiddenSize", 1, 1 << 16);
    d_.numHeadsQ = int32Prop(o, "numHeadsQ", 1, 1024);
    d_.numHeadsKv = int32Prop(o, "numHeadsKv", 1, d_.numHeadsQ);
    d_.headDim = int32Prop(o, "headDim", 2, 256);
    if (d_.headDim % 2 != 0) throwArgumentError(env, "invalid_value", "options.headDim", "odd", "an even integer");
    d_.intermediateSize = int32Prop(o, "intermediateSize", 1, 1 << 20);
    d_.vocabSize = int32Prop(o, "vocabSize", 1, 1 << 26);
    const double eps = numberProp(o, "rmsNormEps");
    if (!(eps > 0 && eps < 1)) throwArgumentError(env, "out_of_range", "options.rmsNormEps", "out of range", "number in (0, 1)");
    d_.rmsNormEps = static_cast<float>(eps);
    d_.dtype = static_cast<Dtype>(int32Prop(o, "dtype", 0, 1));
    maxNumTokens_ = int32Prop(o, "maxNumTokens", 1, INT32_MAX);
    maxNumReqs_ = int32Prop(o, "maxNumReqs", 1, INT32_MAX);
    // The final norm stages a row of fp32 in 48 KiB of shared memory.
    if (static_cast<size_t>(d_.hiddenSize) * 4 > 48 * 1024) {
      throwArgumentError(env, "out_of_range", "options.hiddenSize", "above the final norm's shared-memory row",
                         "integer in [1, 12288]");
    }
  }

 private:
  // embed(table, tokenIds, out, numTokens, stream)
  Napi::Value Embed(const Napi::CallbackInfo& info) {
    const uint64_t table = nonNullArg(info, 0, "table");
    const uint64_t tokenIds = nonNullArg(info, 1, "tokenIds");
    const uint64_t out = nonNullArg(info, 2, "out");
    const int n = int32Arg(info, 3, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 4, "stream");
    check(info.Env(),
          flashgraph_models::launchEmbed(d_, ptr<const void>(table), ptr<const int32_t>(tokenIds), ptr<void>(out), n,
                                         streamOf(stream)),
          "embed launch");
    return info.Env().Undefined();
  }

  // addRmsNorm(x, delta (0n: none), weight, out, numTokens, stream)
  Napi::Value AddRmsNorm(const Napi::CallbackInfo& info) {
    const uint64_t x = nonNullArg(info, 0, "x");
    const uint64_t delta = bigintArg(info, 1, "delta");
    const uint64_t weight = nonNullArg(info, 2, "weight");
    const uint64_t out = nonNullArg(info, 3, "out");
    const int n = int32Arg(info, 4, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 5, "stream");
    check(info.Env(),
          flashgraph_models::launchAddRmsNorm(d_, ptr<void>(x), ptr<const void>(delta), ptr<const void>(weight),
                                              ptr<void>(out), n, streamOf(stream)),
          "addRmsNorm launch");
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
    const int n = int32Arg(info, 8, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 9, "stream");
    if ((qNorm == 0) != (kNorm == 0)) {
      throwArgumentError(info.Env(), "invalid_value", qNorm == 0 ? "qNorm" : "kNorm", "qNorm and kNorm go together",
                         "both 0n or both nonzero");
    }
    check(info.Env(),
          flashgraph_models::launchQkvRope(d_, ptr<const void>(qkv), ptr<const void>(qNorm), ptr<const void>(kNorm),
                                           ptr<const float>(invFreq), ptr<const int32_t>(positions), ptr<void>(q),
                                           ptr<void>(k), ptr<void>(v), n, streamOf(stream)),
          "qkvRope launch");
    return info.Env().Undefined();
  }

  // siluMul(gateUp, out, numTokens, stream)
  Napi::Value SiluMul(const Napi::CallbackInfo& info) {
    const uint64_t gateUp = nonNullArg(info, 0, "gateUp");
    const uint64_t out = nonNullArg(info, 1, "out");
    const int n = int32Arg(info, 2, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 3, "stream");
    check(info.Env(), flashgraph_models::launchSiluMul(d_, ptr<const void>(gateUp), ptr<void>(out), n, streamOf(stream)),
          "siluMul launch");
    return info.Env().Undefined();
  }

  // gatherFinalNorm(x, delta, weight, sampleRows, out, numReqs, numTokens, stream)
  Napi::Value GatherFinalNorm(const Napi::CallbackInfo& info) {
    const uint64_t x = nonNullArg(info, 0, "x");
    const uint64_t delta = nonNullArg(info, 1, "delta");
    const uint64_t weight = nonNullArg(info, 2, "weight");
    const uint64_t sampleRows = nonNullArg(info, 3, "sampleRows");
    const uint64_t out = nonNullArg(info, 4, "out");
    const int numReqs = int32Arg(info, 5, "numReqs", 0, maxNumReqs_);
    const int n = int32Arg(info, 6, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 7, "stream");
    check(info.Env(),
          flashgraph_models::launchGatherFinalNorm(d_, ptr<const void>(x), ptr<const void>(delta),
                                                   ptr<const void>(weight), ptr<const int32_t>(sampleRows),
                                                   ptr<void>(out), numReqs, n, streamOf(stream)),
          "gatherFinalNorm launch");
    return info.Env().Undefined();
  }

  LlamaDims d_{};
  int maxNumTokens_ = 0;
  int maxNumReqs_ = 0;
};

// convert(src, srcType, dst, dstType, count, stream): types 0 bf16, 1 fp16, 2 fp32.
Napi::Value Convert(const Napi::CallbackInfo& info) {
  const uint64_t src = nonNullArg(info, 0, "src");
  const int srcType = int32Arg(info, 1, "srcType", 0, 2);
  const uint64_t dst = nonNullArg(info, 2, "dst");
  const int dstType = int32Arg(info, 3, "dstType", 0, 2);
  const auto count = static_cast<int64_t>(integerArg(info, 4, "count", 0, static_cast<double>(int64_t{1} << 50)));
  const uint64_t stream = bigintArg(info, 5, "stream");
  check(info.Env(),
        flashgraph_models::launchConvert(ptr<const void>(src), srcType, ptr<void>(dst), dstType, count,
                                         streamOf(stream)),
        "convert launch");
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, flashgraph::napi::driverStatus, "status"));
  exports.Set("cublasLt", Napi::Function::New(env, CublasLt, "cublasLt"));
  exports.Set("convert", Napi::Function::New(env, Convert, "convert"));
  exports.Set("Gemm", Gemm::Define(env));
  exports.Set("skinnyGemmPlan", Napi::Function::New(env, SkinnyGemmPlanOf, "skinnyGemmPlan"));
  exports.Set("skinnyGemmDefault", Napi::Boolean::New(env, flashgraph_models::skinnyGemmDefault()));
  exports.Set("LlamaKernels", LlamaKernels::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(flashgraph_models, Init)
