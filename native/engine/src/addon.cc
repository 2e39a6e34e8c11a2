// flashgraph_engine.node: Node glue for the synthetic decoder's kernels. A `SyntheticKernels`
// object holds the model's dims and capacities (so a launch cannot index past buffers sized for
// them); its methods launch one kernel each on a stream handed over as a bigint (the interop
// contract of docs/architecture.md), synchronously and capturably. Loads without a GPU.
#include <napi.h>

#include "flashgraph/napi_status.h"

#include <cstdint>
#include <string>
#include <utility>

#include "../kernels/sampling.h"
#include "../kernels/synthetic_kernels.h"

namespace {

using flashgraph_engine::Dims;
using flashgraph_engine::Dtype;

uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a bigint");
  bool lossless = false;
  const uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be in [0, 2^64)");
  return v;
}

int intArg(const Napi::CallbackInfo& info, size_t i, const char* name, int min, int max) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= min && v <= max) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                                                std::to_string(max) + "]");
  }
  return static_cast<int>(v);
}

int intProp(const Napi::Object& o, const char* name, int min, int max) {
  const Napi::Value value = o.Get(name);
  if (!value.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(name) + " must be a number");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v >= min && v <= max) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw Napi::RangeError::New(o.Env(), std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                                             std::to_string(max) + "]");
  }
  return static_cast<int>(v);
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

class SyntheticKernels : public Napi::ObjectWrap<SyntheticKernels> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SyntheticKernels",
                       {
                           InstanceMethod("embed", &SyntheticKernels::Embed),
                           InstanceMethod("project", &SyntheticKernels::Project),
                           InstanceMethod("residual", &SyntheticKernels::Residual),
                           InstanceMethod("sample", &SyntheticKernels::Sample),
                       });
  }

  // new SyntheticKernels({ hiddenSize, qSize, kvSize, headDim, vocabSize, dtype: 0 | 1, numLayers,
  //   maxNumTokens, maxNumReqs })
  explicit SyntheticKernels(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SyntheticKernels>(info) {
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
    const Napi::Object o = info[0].As<Napi::Object>();
    const int maxInt = 2147483647;
    dims_.hiddenSize = intProp(o, "hiddenSize", 1, 1 << 20);
    dims_.qSize = intProp(o, "qSize", 1, 1 << 20);
    dims_.kvSize = intProp(o, "kvSize", 1, 1 << 20);
    dims_.headDim = intProp(o, "headDim", 1, 1 << 12);
    dims_.vocabSize = intProp(o, "vocabSize", 1, 1 << 26);
    dims_.dtype = static_cast<Dtype>(intProp(o, "dtype", 0, 1));
    numLayers_ = intProp(o, "numLayers", 1, 1 << 16);
    maxNumTokens_ = intProp(o, "maxNumTokens", 1, maxInt);
    maxNumReqs_ = intProp(o, "maxNumReqs", 1, maxInt);
  }

 private:
  // embed(tokenIds, positions, hidden, numTokens, stream)
  Napi::Value Embed(const Napi::CallbackInfo& info) {
    const uint64_t tokenIds = bigintArg(info, 0, "tokenIds");
    const uint64_t positions = bigintArg(info, 1, "positions");
    const uint64_t hidden = bigintArg(info, 2, "hidden");
    const int numTokens = intArg(info, 3, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 4, "stream");
    check(info.Env(),
          flashgraph_engine::launchEmbed(dims_, ptr<const int32_t>(tokenIds), ptr<const int32_t>(positions),
                                         ptr<void>(hidden), numTokens, streamOf(stream)),
          "embed launch failed");
    return info.Env().Undefined();
  }

  // project(layer, hidden, q, k, v, numTokens, stream)
  Napi::Value Project(const Napi::CallbackInfo& info) {
    const int layer = intArg(info, 0, "layer", 0, numLayers_ - 1);
    const uint64_t hidden = bigintArg(info, 1, "hidden");
    const uint64_t q = bigintArg(info, 2, "q");
    const uint64_t k = bigintArg(info, 3, "k");
    const uint64_t v = bigintArg(info, 4, "v");
    const int numTokens = intArg(info, 5, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 6, "stream");
    check(info.Env(),
          flashgraph_engine::launchProject(dims_, layer, ptr<const void>(hidden), ptr<void>(q), ptr<void>(k),
                                           ptr<void>(v), numTokens, streamOf(stream)),
          "project launch failed");
    return info.Env().Undefined();
  }

  // residual(layer, hidden, attnOut, numTokens, stream)
  Napi::Value Residual(const Napi::CallbackInfo& info) {
    const int layer = intArg(info, 0, "layer", 0, numLayers_ - 1);
    const uint64_t hidden = bigintArg(info, 1, "hidden");
    const uint64_t attnOut = bigintArg(info, 2, "attnOut");
    const int numTokens = intArg(info, 3, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 4, "stream");
    check(info.Env(),
          flashgraph_engine::launchResidual(dims_, layer, ptr<void>(hidden), ptr<const void>(attnOut), numTokens,
                                            streamOf(stream)),
          "residual launch failed");
    return info.Env().Undefined();
  }

  // sample(hidden, sampleRows, sampled, numReqs, numTokens, stream)
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    const uint64_t hidden = bigintArg(info, 0, "hidden");
    const uint64_t sampleRows = bigintArg(info, 1, "sampleRows");
    const uint64_t sampled = bigintArg(info, 2, "sampled");
    const int numReqs = intArg(info, 3, "numReqs", 0, maxNumReqs_);
    const int numTokens = intArg(info, 4, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 5, "stream");
    check(info.Env(),
          flashgraph_engine::launchSample(dims_, ptr<const void>(hidden), ptr<const int32_t>(sampleRows),
                                          ptr<int32_t>(sampled), numReqs, numTokens, streamOf(stream)),
          "sample launch failed");
    return info.Env().Undefined();
  }

  Dims dims_{};
  int numLayers_ = 0;
  int maxNumTokens_ = 0;
  int maxNumReqs_ = 0;
};

// samplerWorkspaceBytes(vocabSize, maxNumReqs) -> number
Napi::Value SamplerWorkspaceBytes(const Napi::CallbackInfo& info) {
  const int vocabSize = intArg(info, 0, "vocabSize", 1, 1 << 26);
  const int maxNumReqs = intArg(info, 1, "maxNumReqs", 1, 1 << 24);
  return Napi::Number::New(info.Env(),
                           static_cast<double>(flashgraph_engine::samplerWorkspaceBytes(vocabSize, maxNumReqs)));
}

// sample(logits, params, sampleRows, sampled, logprobs, workspace, vocabSize, numReqs, maxNumReqs,
// stream): the device sampler (kernels/sampling.h), one synchronous, capturable launch.
Napi::Value Sample(const Napi::CallbackInfo& info) {
  const uint64_t logits = bigintArg(info, 0, "logits");
  const uint64_t params = bigintArg(info, 1, "params");
  const uint64_t sampleRows = bigintArg(info, 2, "sampleRows");
  const uint64_t sampled = bigintArg(info, 3, "sampled");
  const uint64_t logprobs = bigintArg(info, 4, "logprobs");
  const uint64_t workspace = bigintArg(info, 5, "workspace");
  const int vocabSize = intArg(info, 6, "vocabSize", 1, 1 << 26);
  const int maxNumReqs = intArg(info, 8, "maxNumReqs", 1, 1 << 24);
  const int numReqs = intArg(info, 7, "numReqs", 0, maxNumReqs);
  const uint64_t stream = bigintArg(info, 9, "stream");
  for (const auto& [value, name] : {std::pair<uint64_t, const char*>{logits, "logits"},
                                    {params, "params"},
                                    {sampleRows, "sampleRows"},
                                    {sampled, "sampled"},
                                    {logprobs, "logprobs"}}) {
    if (value == 0) throw Napi::RangeError::New(info.Env(), std::string(name) + " must not be 0n (a null pointer)");
  }
  check(info.Env(),
        flashgraph_engine::launchSample(ptr<const float>(logits), ptr<const void>(params),
                                        ptr<const int32_t>(sampleRows), ptr<int32_t>(sampled), ptr<float>(logprobs),
                                        ptr<void>(workspace), vocabSize, numReqs, maxNumReqs, streamOf(stream)),
        "sample launch failed");
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, flashgraph::napi::driverStatus, "status"));
  exports.Set("SyntheticKernels", SyntheticKernels::Define(env));
  exports.Set("samplerWorkspaceBytes", Napi::Function::New(env, SamplerWorkspaceBytes, "samplerWorkspaceBytes"));
  exports.Set("sample", Napi::Function::New(env, Sample, "sample"));
  return exports;
}

}  // namespace

NODE_API_MODULE(flashgraph_engine, Init)
