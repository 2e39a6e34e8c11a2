// Shared glue of flashgraph_cuda.node. The argument readers and the CUDA error are the ones every
// flashgraph addon uses (native/common); this header only names them for the addon's files and
// adds device selection.
#pragma once
#include <cuda_runtime.h>
#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "flashgraph/napi_args.h"
#include "flashgraph/napi_cuda.h"

namespace flashgraph_cuda {

using flashgraph::napi::bigintArg;
using flashgraph::napi::boolArg;
using flashgraph::napi::deviceArg;
using flashgraph::napi::hostBytesArg;
using flashgraph::napi::int32Arg;
using flashgraph::napi::numberArg;
using flashgraph::napi::runCudaAsync;
using flashgraph::napi::sizeArg;
using flashgraph::napi::throwArgumentError;

[[noreturn]] inline void throwCuda(Napi::Env env, cudaError_t err, const char* call) {
  flashgraph::napi::throwCudaError(env, err, call);
}

inline void check(Napi::Env env, cudaError_t err, const char* call) { flashgraph::napi::checkCuda(env, err, call); }

// Makes `device` current on this thread when it is not (cheap when it already is).
void useDevice(Napi::Env env, int device);

// Device selection for work on a libuv worker thread (cudaSetDevice is per thread).
inline cudaError_t useDeviceOnThisThread(int device) {
  int current = -1;
  cudaError_t err = cudaGetDevice(&current);
  if (err == cudaSuccess && current != device) err = cudaSetDevice(device);
  return err;
}

inline void* ptrArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return flashgraph::napi::pointerArg(info, i, name);
}
inline cudaStream_t streamArg(const Napi::CallbackInfo& info, size_t i) {
  return reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(bigintArg(info, i, "stream")));
}
inline cudaEvent_t eventArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return reinterpret_cast<cudaEvent_t>(static_cast<uintptr_t>(bigintArg(info, i, name)));
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
void registerAsync(Napi::Env env, Napi::Object exports);

}  // namespace flashgraph_cuda
