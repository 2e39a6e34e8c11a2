// CUDA errors as JS errors, and CUDA waits off the JS thread, for flashgraph's Node addons.
//
// The error contract (docs/architecture.md, "Native error contract"): a failed CUDA runtime call
// throws an Error whose message is `<cudaName>: <call> failed: <cudaGetErrorString>` and which
// carries `cudaCode` (number), `cudaName` and `cudaCall`; @flashgraph/cuda's toCudaError() turns
// it into a CudaError (code `cuda_error`). Header-only; include after <napi.h>.
#pragma once
#include <cuda_runtime.h>
#include <napi.h>

#include <functional>
#include <string>
#include <utility>

namespace flashgraph {
namespace napi {

// The Error for a failed CUDA call (not thrown: async completions reject with it). Clears the
// runtime's last-error slot so a later call does not report this failure again; sticky errors (a
// kernel fault) stay, since every later call reports them until the process restarts.
// `detail` replaces cudaGetErrorString in the message where the caller knows more (fa3's launchers
// return the check that failed, e.g. "q must be 16-byte aligned").
inline Napi::Error cudaError(Napi::Env env, cudaError_t err, const char* call, const std::string& detail = "") {
  cudaGetLastError();
  const char* name = cudaGetErrorName(err);
  Napi::Error error = Napi::Error::New(
      env, std::string(name) + ": " + call + " failed: " + (detail.empty() ? cudaGetErrorString(err) : detail));
  error.Set("cudaCode", Napi::Number::New(env, static_cast<double>(err)));
  error.Set("cudaName", Napi::String::New(env, name));
  error.Set("cudaCall", Napi::String::New(env, call));
  return error;
}

[[noreturn]] inline void throwCudaError(Napi::Env env, cudaError_t err, const char* call) {
  throw cudaError(env, err, call);
}

inline void checkCuda(Napi::Env env, cudaError_t err, const char* call) {
  if (err != cudaSuccess) throwCudaError(env, err, call);
}

// A cudaStream_t read as a bigint (0n: the legacy default stream).
inline cudaStream_t streamOf(uint64_t v) { return reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(v)); }

// Runs `work` (CUDA calls that block: a synchronization, a copy from pageable memory) on a libuv
// worker thread and returns a Promise that resolves when it returns cudaSuccess, or rejects with
// cudaError(..., call) otherwise. `keepAlive` (e.g. the TypedArray a copy reads) stays referenced
// until the work is done, so the GC cannot free memory the worker still touches.
//
// `work` runs on another thread: it must not touch JS values, and it must select the device it
// needs itself (cudaSetDevice is per thread).
class CudaWaitWorker : public Napi::AsyncWorker {
 public:
  CudaWaitWorker(Napi::Env env, const char* call, std::function<cudaError_t()> work, Napi::Value keepAlive)
      : Napi::AsyncWorker(env, call), deferred_(Napi::Promise::Deferred::New(env)), call_(call),
        work_(std::move(work)) {
    if (!keepAlive.IsEmpty() && keepAlive.IsObject()) keepAlive_ = Napi::Persistent(keepAlive.As<Napi::Object>());
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    status_ = work_();
    if (status_ != cudaSuccess) cudaGetLastError();  // clear this thread's slot; reported in OnOK
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (status_ == cudaSuccess) {
      deferred_.Resolve(env.Undefined());
    } else {
      deferred_.Reject(cudaError(env, status_, call_).Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  const char* call_;
  std::function<cudaError_t()> work_;
  Napi::ObjectReference keepAlive_;
  cudaError_t status_ = cudaSuccess;
};

// Queues `work` on the libuv pool and returns its Promise.
inline Napi::Promise runCudaAsync(Napi::Env env, const char* call, std::function<cudaError_t()> work,
                                  Napi::Value keepAlive = Napi::Value()) {
  auto* worker = new CudaWaitWorker(env, call, std::move(work), keepAlive);  // deletes itself when done
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace napi
}  // namespace flashgraph
