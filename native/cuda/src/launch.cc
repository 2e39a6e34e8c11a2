// Glue of the tiny self-test kernels (kernels/tiny_kernels.cu).
#include "../kernels/tiny_kernels.h"
#include "common.h"

namespace flashgraph_cuda {
namespace {

// fillInt32(device, ptr, value, count, stream)
Napi::Value FillInt32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  auto* out = static_cast<int32_t*>(ptrArg(info, 1, "ptr"));
  const int32_t value = int32Arg(info, 2, "value");
  const size_t count = sizeArg(info, 3, "count");
  cudaStream_t stream = streamArg(info, 4);
  useDevice(env, device);
  check(env, launchFillInt32(out, value, count, stream), "fillInt32 launch");
  return env.Undefined();
}

// addFloat32(device, a, b, out, count, stream)
Napi::Value AddFloat32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  auto* a = static_cast<const float*>(ptrArg(info, 1, "a"));
  auto* b = static_cast<const float*>(ptrArg(info, 2, "b"));
  auto* out = static_cast<float*>(ptrArg(info, 3, "out"));
  const size_t count = sizeArg(info, 4, "count");
  cudaStream_t stream = streamArg(info, 5);
  useDevice(env, device);
  check(env, launchAddFloat32(a, b, out, count, stream), "addFloat32 launch");
  return env.Undefined();
}

// copyBytes(device, dst, src, byteLength, stream)
Napi::Value CopyBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  void* dst = ptrArg(info, 1, "dst");
  const void* src = ptrArg(info, 2, "src");
  const size_t bytes = sizeArg(info, 3, "byteLength");
  cudaStream_t stream = streamArg(info, 4);
  useDevice(env, device);
  check(env, launchCopyBytes(dst, src, bytes, stream), "copyBytes launch");
  return env.Undefined();
}

// launchEmpty(stream): an empty <<<1, 1>>> kernel, for launch-overhead benchmarks. Uses the
// current device, so the call costs one launch and nothing else.
Napi::Value LaunchEmpty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, launchEmpty(streamArg(info, 0)), "empty kernel launch");
  return env.Undefined();
}

// convert(device, kind, src, dst, count, stream): the hardware bf16/fp16 conversions
Napi::Value Convert(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  const int32_t kind = int32Arg(info, 1, "kind", 0, 3);
  const void* src = ptrArg(info, 2, "src");
  void* dst = ptrArg(info, 3, "dst");
  const size_t count = sizeArg(info, 4, "count");
  cudaStream_t stream = streamArg(info, 5);
  useDevice(env, device);
  check(env, launchConvert(static_cast<Conversion>(kind), src, dst, count, stream), "convert launch");
  return env.Undefined();
}

}  // namespace

void registerLaunch(Napi::Env env, Napi::Object exports) {
  exports.Set("fillInt32", Napi::Function::New(env, FillInt32, "fillInt32"));
  exports.Set("addFloat32", Napi::Function::New(env, AddFloat32, "addFloat32"));
  exports.Set("copyBytes", Napi::Function::New(env, CopyBytes, "copyBytes"));
  exports.Set("launchEmpty", Napi::Function::New(env, LaunchEmpty, "launchEmpty"));
  exports.Set("convert", Napi::Function::New(env, Convert, "convert"));
}

}  // namespace flashgraph_cuda
