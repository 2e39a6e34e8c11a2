// Shared glue of flashgraph_cuda.node: argument readers, CUDA error -> JS Error, device selection.
// The TypeScript layer validates every argument first; these readers re-check what memory safety
// and type safety need, so a direct caller gets a TypeError instead of a crash.
#pragma once
#include <cuda_runtime.h>
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace flashgraph_cuda {

// Throws Error("<cudaErrorName>: <call> failed: <cudaGetErrorString>") with properties
// cudaCode, cudaName and cudaCall, after clearing the runtime's last (non-sticky) error.
[[noreturn]] void throwCuda(Napi::Env env, cudaError_t err, const char* call);

inline void check(Napi::Env env, cudaError_t err, const char* call) {
  if (err != cudaSuccess) throwCuda(env, err, call);
}

// Makes `device` current on this thread when it is not (cheap when it already is).
void useDevice(Napi::Env env, int device);

uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* name);
// A non-negative integer number below 2^53.
size_t sizeArg(const Napi::CallbackInfo& info, size_t i, const char* name);
int32_t int32Arg(const Napi::CallbackInfo& info, size_t i, const char* name);
double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name);
bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name);
int deviceArg(const Napi::CallbackInfo& info, size_t i);

inline void* ptrArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(bigintArg(info, i, name)));
}
inline cudaStream_t streamArg(const Napi::CallbackInfo& info, size_t i) {
  return reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(bigintArg(info, i, "stream")));
}
inline Napi::BigInt toBigInt(Napi::Env env, const void* p) {
  return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)));
}

// Registration of each file's functions on the exports object.
void registerStatus(Napi::Env env, Napi::Object exports);
void registerStreams(Napi::Env env, Napi::Object exports);
void registerMemory(Napi::Env env, Napi::Object exports);
void registerPinned(Napi::Env env, Napi::Object exports);
void registerGraphs(Napi::Env env, Napi::Object exports);
void registerLaunch(Napi::Env env, Napi::Object exports);

}  // namespace flashgraph_cuda
