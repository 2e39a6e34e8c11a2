// Device memory: allocation (reported to V8 so the GC feels the pressure), copies between JS
// memory and the device, memset, and the device-wide queries (memGetInfo, graph memory).
//
// Copies from/to JS memory (pageable, owned by the GC) always complete before returning: a copy
// left in flight could read or write memory the GC has since moved on from, and a captured one
// would bake a JS pointer into a graph. Async copies go through pinned buffers (pinned.cc).
#include "common.h"

namespace flashgraph_cuda {
namespace {

// malloc(device, byteLength): bigint
Napi::Value Malloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  const size_t bytes = sizeArg(info, 1, "byteLength");
  useDevice(env, device);
  void* ptr = nullptr;
  check(env, cudaMalloc(&ptr, bytes), "cudaMalloc");
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  return toBigInt(env, ptr);
}

// free(device, ptr, byteLength): the byte count undoes malloc's report to V8
Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  void* ptr = ptrArg(info, 1, "ptr");
  const size_t bytes = sizeArg(info, 2, "byteLength");
  useDevice(env, device);
  check(env, cudaFree(ptr), "cudaFree");
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(bytes));
  return env.Undefined();
}

// memcpyHtoD(device, dst, src: TypedArray, stream): copies all of src, then synchronizes stream
Napi::Value MemcpyHtoD(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  void* dst = ptrArg(info, 1, "dst");
  const flashgraph::napi::HostBytes src = hostBytesArg(info, 2, "src");
  cudaStream_t stream = streamArg(info, 3);
  if (src.bytes == 0) return env.Undefined();
  useDevice(env, device);
  check(env, cudaMemcpyAsync(dst, src.data, src.bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
  check(env, cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return env.Undefined();
}

// memcpyDtoH(device, dst: TypedArray, src, stream): fills all of dst, then synchronizes stream
Napi::Value MemcpyDtoH(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  const flashgraph::napi::HostBytes dst = hostBytesArg(info, 1, "dst");
  void* src = ptrArg(info, 2, "src");
  cudaStream_t stream = streamArg(info, 3);
  if (dst.bytes == 0) return env.Undefined();
  useDevice(env, device);
  check(env, cudaMemcpyAsync(dst.data, src, dst.bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
  check(env, cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return env.Undefined();
}

// memcpyDtoD(device, dst, src, byteLength, stream, sync)
Napi::Value MemcpyDtoD(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  void* dst = ptrArg(info, 1, "dst");
  void* src = ptrArg(info, 2, "src");
  const size_t bytes = sizeArg(info, 3, "byteLength");
  cudaStream_t stream = streamArg(info, 4);
  const bool sync = boolArg(info, 5, "sync");
  if (bytes == 0) return env.Undefined();
  useDevice(env, device);
  check(env, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync");
  if (sync) check(env, cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return env.Undefined();
}

// memset(device, ptr, byte, byteLength, stream, sync)
Napi::Value Memset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  void* ptr = ptrArg(info, 1, "ptr");
  const int32_t value = int32Arg(info, 2, "byte", 0, 255);
  const size_t bytes = sizeArg(info, 3, "byteLength");
  cudaStream_t stream = streamArg(info, 4);
  const bool sync = boolArg(info, 5, "sync");
  if (bytes == 0) return env.Undefined();
  useDevice(env, device);
  check(env, cudaMemsetAsync(ptr, value, bytes, stream), "cudaMemsetAsync");
  if (sync) check(env, cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return env.Undefined();
}

// memGetInfo(device): { freeBytes, totalBytes }
Napi::Value MemGetInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  useDevice(env, deviceArg(info, 0));
  size_t freeBytes = 0, totalBytes = 0;
  check(env, cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
  Napi::Object out = Napi::Object::New(env);
  out.Set("freeBytes", static_cast<double>(freeBytes));
  out.Set("totalBytes", static_cast<double>(totalBytes));
  return out;
}

Napi::Value DeviceSynchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  useDevice(env, deviceArg(info, 0));
  check(env, cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  return env.Undefined();
}

// graphMemory(device): { usedBytes, highBytes, reservedBytes, reservedHighBytes }
Napi::Value GraphMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  const struct {
    const char* key;
    cudaGraphMemAttributeType attr;
  } attrs[] = {{"usedBytes", cudaGraphMemAttrUsedMemCurrent},
               {"highBytes", cudaGraphMemAttrUsedMemHigh},
               {"reservedBytes", cudaGraphMemAttrReservedMemCurrent},
               {"reservedHighBytes", cudaGraphMemAttrReservedMemHigh}};
  Napi::Object out = Napi::Object::New(env);
  for (const auto& a : attrs) {
    unsigned long long value = 0;  // NOLINT(runtime/int): the attribute's documented type
    check(env, cudaDeviceGetGraphMemAttribute(device, a.attr, &value), "cudaDeviceGetGraphMemAttribute");
    out.Set(a.key, static_cast<double>(value));
  }
  return out;
}

}  // namespace

void registerMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("malloc", Napi::Function::New(env, Malloc, "malloc"));
  exports.Set("free", Napi::Function::New(env, Free, "free"));
  exports.Set("memcpyHtoD", Napi::Function::New(env, MemcpyHtoD, "memcpyHtoD"));
  exports.Set("memcpyDtoH", Napi::Function::New(env, MemcpyDtoH, "memcpyDtoH"));
  exports.Set("memcpyDtoD", Napi::Function::New(env, MemcpyDtoD, "memcpyDtoD"));
  exports.Set("memset", Napi::Function::New(env, Memset, "memset"));
  exports.Set("memGetInfo", Napi::Function::New(env, MemGetInfo, "memGetInfo"));
  exports.Set("deviceSynchronize", Napi::Function::New(env, DeviceSynchronize, "deviceSynchronize"));
  exports.Set("graphMemory", Napi::Function::New(env, GraphMemory, "graphMemory"));
}

}  // namespace flashgraph_cuda
