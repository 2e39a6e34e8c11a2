// The waits of streams.cc and memory.cc as Promises: each blocking CUDA call runs on a libuv
// worker thread (flashgraph::napi::runCudaAsync), so timers and I/O keep running on the JS thread
// while the GPU works. A worker that waits occupies one libuv pool thread (UV_THREADPOOL_SIZE,
// default 4) for the length of the wait.
#include "common.h"

namespace flashgraph_cuda {
namespace {

// streamSynchronizeAsync(stream): Promise<void>
Napi::Value StreamSynchronizeAsync(const Napi::CallbackInfo& info) {
  cudaStream_t stream = streamArg(info, 0);
  return runCudaAsync(info.Env(), "cudaStreamSynchronize", [stream] { return cudaStreamSynchronize(stream); });
}

// eventSynchronizeAsync(event): Promise<void>
Napi::Value EventSynchronizeAsync(const Napi::CallbackInfo& info) {
  cudaEvent_t event = eventArg(info, 0, "event");
  return runCudaAsync(info.Env(), "cudaEventSynchronize", [event] { return cudaEventSynchronize(event); });
}

// deviceSynchronizeAsync(device): Promise<void>
Napi::Value DeviceSynchronizeAsync(const Napi::CallbackInfo& info) {
  const int device = deviceArg(info, 0);
  return runCudaAsync(info.Env(), "cudaDeviceSynchronize", [device] {
    const cudaError_t err = useDeviceOnThisThread(device);
    return err != cudaSuccess ? err : cudaDeviceSynchronize();
  });
}

// One copy between JS memory and the device, then a wait for `stream`; `host` stays referenced
// (keepAlive) until the worker is done, so the GC cannot free the bytes under the copy.
Napi::Value HostCopyAsync(const Napi::CallbackInfo& info, bool toDevice) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  void* devicePtr = ptrArg(info, toDevice ? 1 : 2, toDevice ? "dst" : "src");
  const flashgraph::napi::HostBytes host = hostBytesArg(info, toDevice ? 2 : 1, toDevice ? "src" : "dst");
  cudaStream_t stream = streamArg(info, 3);
  return runCudaAsync(
      env, "cudaMemcpyAsync",
      [=] {
        if (host.bytes == 0) return cudaSuccess;
        cudaError_t err = useDeviceOnThisThread(device);
        if (err == cudaSuccess) {
          err = toDevice ? cudaMemcpyAsync(devicePtr, host.data, host.bytes, cudaMemcpyHostToDevice, stream)
                         : cudaMemcpyAsync(host.data, devicePtr, host.bytes, cudaMemcpyDeviceToHost, stream);
        }
        return err != cudaSuccess ? err : cudaStreamSynchronize(stream);
      },
      info[toDevice ? 2 : 1]);
}

// memcpyHtoDAsync(device, dst, src: TypedArray, stream): Promise<void>
Napi::Value MemcpyHtoDAsync(const Napi::CallbackInfo& info) { return HostCopyAsync(info, true); }

// memcpyDtoHAsync(device, dst: TypedArray, src, stream): Promise<void>
Napi::Value MemcpyDtoHAsync(const Napi::CallbackInfo& info) { return HostCopyAsync(info, false); }

}  // namespace

void registerAsync(Napi::Env env, Napi::Object exports) {
  exports.Set("streamSynchronizeAsync", Napi::Function::New(env, StreamSynchronizeAsync, "streamSynchronizeAsync"));
  exports.Set("eventSynchronizeAsync", Napi::Function::New(env, EventSynchronizeAsync, "eventSynchronizeAsync"));
  exports.Set("deviceSynchronizeAsync", Napi::Function::New(env, DeviceSynchronizeAsync, "deviceSynchronizeAsync"));
  exports.Set("memcpyHtoDAsync", Napi::Function::New(env, MemcpyHtoDAsync, "memcpyHtoDAsync"));
  exports.Set("memcpyDtoHAsync", Napi::Function::New(env, MemcpyDtoHAsync, "memcpyDtoHAsync"));
}

}  // namespace flashgraph_cuda
