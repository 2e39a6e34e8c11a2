// flashgraph_interop_test.node: launches one kernel on a stream handed over as a bigint, the way
// flashgraph_fa3.node launches on streams from @flashgraph/cuda (see packages/cuda/README.md).
#include <napi.h>

#include <cstdint>
#include <string>

#include "../kernels/scale.h"

namespace {

uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a bigint");
  bool lossless = false;
  const uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be in [0, 2^64)");
  return v;
}

// scaleFloat32(ptr: bigint, n: number, factor: number, stream: bigint): void
Napi::Value ScaleFloat32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint64_t ptr = bigintArg(info, 0, "ptr");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "n must be a number");
  const double n = info[1].As<Napi::Number>().DoubleValue();
  if (!(n >= 0 && n <= 9007199254740991.0) || n != static_cast<double>(static_cast<int64_t>(n))) {
    throw Napi::RangeError::New(env, "n must be an integer in [0, 2^53)");
  }
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "factor must be a number");
  const float factor = info[2].As<Napi::Number>().FloatValue();
  const uint64_t stream = bigintArg(info, 3, "stream");
  if (ptr % alignof(float) != 0) throw Napi::RangeError::New(env, "ptr must be 4-byte aligned");
  const cudaError_t err = flashgraph_interop::launchScaleFloat32(
      reinterpret_cast<float*>(static_cast<uintptr_t>(ptr)), static_cast<size_t>(n), factor,
      reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(stream)));
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw Napi::Error::New(env, std::string(cudaGetErrorName(err)) + ": scaleFloat32 launch failed: " + cudaGetErrorString(err));
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("scaleFloat32", Napi::Function::New(env, ScaleFloat32, "scaleFloat32"));
  return exports;
}

}  // namespace

NODE_API_MODULE(flashgraph_interop_test, Init)
