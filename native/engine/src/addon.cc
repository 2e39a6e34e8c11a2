// flashgraph_engine.node: Node glue for the synthetic decoder's kernels. A `SyntheticKernels`
// object holds the model's dims and capacities (so a launch cannot index past buffers sized for
// them); its methods launch one kernel each on a stream handed over as a bigint (the interop
// contract of docs/architecture.md), synchronously and capturably. Loads without a GPU.
#include <napi.h>

#include "flashgraph/napi_args.h"
#include "flashgraph/napi_cuda.h"
#include "flashgraph/napi_status.h"

#include <cstdint>
#include <string>

#include "../kernels/sampling.h"
#include "../kernels/synthetic_kernels.h"

namespace {

using flashgraph_engine::Dims;
using flashgraph_engine::Dtype;

using flashgraph::napi::bigintArg;
using flashgraph::napi::int32Arg;
using flashgraph::napi::int32Prop;
using flashgraph::napi::objectArg;

using flashgraph::napi::nonNullArg;
using flashgraph::napi::ptr;
using flashgraph::napi::streamOf;

inline void check(Napi::Env env, cudaError_t err, const char* call) { flashgraph::napi::checkCuda(env, err, call); }

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
    const Napi::Object o = objectArg(info, 0, "options");
    dims_.hiddenSize = int32Prop(o, "hiddenSize", 1, 1 << 20);
    dims_.qSize = int32Prop(o, "qSize", 1, 1 << 20);
    dims_.kvSize = int32Prop(o, "kvSize", 1, 1 << 20);
    dims_.headDim = int32Prop(o, "headDim", 1, 1 << 12);
    dims_.vocabSize = int32Prop(o, "vocabSize", 1, 1 << 26);
    dims_.dtype = static_cast<Dtype>(int32Prop(o, "dtype", 0, 1));
    numLayers_ = int32Prop(o, "numLayers", 1, 1 << 16);
    maxNumTokens_ = int32Prop(o, "maxNumTokens", 1, INT32_MAX);
    maxNumReqs_ = int32Prop(o, "maxNumReqs", 1, INT32_MAX);
  }

 private:
  // embed(tokenIds, positions, hidden, numTokens, stream)
  Napi::Value Embed(const Napi::CallbackInfo& info) {
    const uint64_t tokenIds = bigintArg(info, 0, "tokenIds");
    const uint64_t positions = bigintArg(info, 1, "positions");
    const uint64_t hidden = bigintArg(info, 2, "hidden");
    const int numTokens = int32Arg(info, 3, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 4, "stream");
    check(info.Env(),
          flashgraph_engine::launchEmbed(dims_, ptr<const int32_t>(tokenIds), ptr<const int32_t>(positions),
                                         ptr<void>(hidden), numTokens, streamOf(stream)),
          "embed launch");
    return info.Env().Undefined();
  }

  // project(layer, hidden, q, k, v, numTokens, stream)
  Napi::Value Project(const Napi::CallbackInfo& info) {
    const int layer = int32Arg(info, 0, "layer", 0, numLayers_ - 1);
    const uint64_t hidden = bigintArg(info, 1, "hidden");
    const uint64_t q = bigintArg(info, 2, "q");
    const uint64_t k = bigintArg(info, 3, "k");
    const uint64_t v = bigintArg(info, 4, "v");
    const int numTokens = int32Arg(info, 5, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 6, "stream");
    check(info.Env(),
          flashgraph_engine::launchProject(dims_, layer, ptr<const void>(hidden), ptr<void>(q), ptr<void>(k),
                                           ptr<void>(v), numTokens, streamOf(stream)),
          "project launch");
    return info.Env().Undefined();
  }

  // residual(layer, hidden, attnOut, numTokens, stream)
  Napi::Value Residual(const Napi::CallbackInfo& info) {
    const int layer = int32Arg(info, 0, "layer", 0, numLayers_ - 1);
    const uint64_t hidden = bigintArg(info, 1, "hidden");
    const uint64_t attnOut = bigintArg(info, 2, "attnOut");
    const int numTokens = int32Arg(info, 3, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 4, "stream");
    check(info.Env(),
          flashgraph_engine::launchResidual(dims_, layer, ptr<void>(hidden), ptr<const void>(attnOut), numTokens,
                                            streamOf(stream)),
          "residual launch");
    return info.Env().Undefined();
  }

  // sample(hidden, sampleRows, sampled, numReqs, numTokens, stream)
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    const uint64_t hidden = bigintArg(info, 0, "hidden");
    const uint64_t sampleRows = bigintArg(info, 1, "sampleRows");
    const uint64_t sampled = bigintArg(info, 2, "sampled");
    const int numReqs = int32Arg(info, 3, "numReqs", 0, maxNumReqs_);
    const int numTokens = int32Arg(info, 4, "numTokens", 0, maxNumTokens_);
    const uint64_t stream = bigintArg(info, 5, "stream");
    check(info.Env(),
          flashgraph_engine::launchSample(dims_, ptr<const void>(hidden), ptr<const int32_t>(sampleRows),
                                          ptr<int32_t>(sampled), numReqs, numTokens, streamOf(stream)),
          "synthetic sample launch");
    return info.Env().Undefined();
  }

  Dims dims_{};
  int numLayers_ = 0;
  int maxNumTokens_ = 0;
  int maxNumReqs_ = 0;
};

// samplerWorkspaceBytes(vocabSize, maxNumReqs) -> number
Napi::Value SamplerWorkspaceBytes(const Napi::CallbackInfo& info) {
  const int vocabSize = int32Arg(info, 0, "vocabSize", 1, 1 << 26);
  const int maxNumReqs = int32Arg(info, 1, "maxNumReqs", 1, 1 << 24);
  return Napi::Number::New(info.Env(),
                           static_cast<double>(flashgraph_engine::samplerWorkspaceBytes(vocabSize, maxNumReqs)));
}

// sample(logits, params, sampleRows, sampled, logprobs, workspace, vocabSize, numReqs, maxNumReqs,
// stream): the device sampler (kernels/sampling.h), one synchronous, capturable launch.
Napi::Value Sample(const Napi::CallbackInfo& info) {
  const uint64_t logits = nonNullArg(info, 0, "logits");
  const uint64_t params = nonNullArg(info, 1, "params");
  const uint64_t sampleRows = nonNullArg(info, 2, "sampleRows");
  const uint64_t sampled = nonNullArg(info, 3, "sampled");
  const uint64_t logprobs = nonNullArg(info, 4, "logprobs");
  const uint64_t workspace = bigintArg(info, 5, "workspace");
  const int vocabSize = int32Arg(info, 6, "vocabSize", 1, 1 << 26);
  const int maxNumReqs = int32Arg(info, 8, "maxNumReqs", 1, 1 << 24);
  const int numReqs = int32Arg(info, 7, "numReqs", 0, maxNumReqs);
  const uint64_t stream = bigintArg(info, 9, "stream");
  check(info.Env(),
        flashgraph_engine::launchSample(ptr<const float>(logits), ptr<const void>(params),
                                        ptr<const int32_t>(sampleRows), ptr<int32_t>(sampled), ptr<float>(logprobs),
                                        ptr<void>(workspace), vocabSize, numReqs, maxNumReqs, streamOf(stream)),
        "sample launch");
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
