// Pinned (page-locked) host memory for truly asynchronous, capturable copies. JS sees it as an
// external ArrayBuffer over the cudaMallocHost memory. pinnedFree() frees it at once and detaches
// the ArrayBuffer (every view becomes empty, so nothing can touch freed memory); the ArrayBuffer's
// finalizer frees it only if pinnedFree() never ran (the safety net).
//
// A registry of live allocations lets pinnedCopy() check that a host range lies inside one.
#include <map>
#include <mutex>

#include "common.h"

namespace flashgraph_cuda {
namespace {

struct PinnedState {
  void* data;
  size_t bytes;
  bool freed;
};

std::mutex registryMutex;
std::map<uintptr_t, PinnedState*>& registry() {
  static auto* map = new std::map<uintptr_t, PinnedState*>();  // never destroyed: finalizers may run at exit
  return *map;
}

void finalizePinned(Napi::Env env, void* /*data*/, PinnedState* state) {
  if (!state->freed) {
    {
      std::lock_guard<std::mutex> lock(registryMutex);
      registry().erase(reinterpret_cast<uintptr_t>(state->data));
    }
    cudaFreeHost(state->data);  // errors ignored: nobody to report them to (may run at exit)
    cudaGetLastError();
    int64_t unused = 0;
    napi_adjust_external_memory(env, -static_cast<int64_t>(state->bytes), &unused);
  }
  delete state;
}

// pinnedAlloc(byteLength >= 1): { buffer: ArrayBuffer, ptr: bigint }
Napi::Value PinnedAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t bytes = static_cast<size_t>(flashgraph::napi::integerArg(info, 0, "byteLength", 1, 9007199254740991.0));
  void* data = nullptr;
  check(env, cudaMallocHost(&data, bytes), "cudaMallocHost");
  auto* state = new PinnedState{data, bytes, false};
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    registry()[reinterpret_cast<uintptr_t>(data)] = state;
  }
  Napi::ArrayBuffer buffer;
  try {
    buffer = Napi::ArrayBuffer::New(env, data, bytes, finalizePinned, state);
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(registryMutex);
      registry().erase(reinterpret_cast<uintptr_t>(data));
    }
    cudaFreeHost(data);
    delete state;
    throw;
  }
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  Napi::Object out = Napi::Object::New(env);
  out.Set("buffer", buffer);
  out.Set("ptr", toBigInt(env, data));
  return out;
}

// pinnedFree(buffer): frees now and detaches the buffer; false when it was already freed
Napi::Value PinnedFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throwArgumentError(env, "invalid_type", "buffer", "wrong type", "ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.IsDetached()) return Napi::Boolean::New(env, false);
  const uintptr_t key = reinterpret_cast<uintptr_t>(buffer.Data());
  PinnedState* state = nullptr;
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    auto it = registry().find(key);
    if (it == registry().end() || it->second->bytes != buffer.ByteLength()) {
      throwArgumentError(env, "invalid_value", "buffer", "not a pinned buffer", "an ArrayBuffer from pinnedAlloc()");
    }
    state = it->second;
  }
  check(env, cudaFreeHost(state->data), "cudaFreeHost");
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    registry().erase(key);
  }
  state->freed = true;  // the finalizer (run once the buffer is released) now only deletes state
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(state->bytes));
  buffer.Detach();
  return Napi::Boolean::New(env, true);
}

// pinnedCopy(device, hostPtr, devicePtr, byteLength, toDevice, stream): async on stream
Napi::Value PinnedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  const uintptr_t host = static_cast<uintptr_t>(bigintArg(info, 1, "hostPtr"));
  void* dev = ptrArg(info, 2, "devicePtr");
  const size_t bytes = sizeArg(info, 3, "byteLength");
  const bool toDevice = boolArg(info, 4, "toDevice");
  cudaStream_t stream = streamArg(info, 5);
  if (bytes == 0) return env.Undefined();
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    auto it = registry().upper_bound(host);
    bool inside = false;
    if (it != registry().begin()) {
      --it;
      const uintptr_t base = it->first;
      inside = host >= base && bytes <= it->second->bytes && host - base <= it->second->bytes - bytes;
    }
    if (!inside) {
      throwArgumentError(env, "out_of_range", "hostPtr", "the host range is not inside a live pinned allocation",
                         "a range inside one live pinnedAlloc() buffer");
    }
  }
  useDevice(env, device);
  void* hostPtr = reinterpret_cast<void*>(host);
  check(env,
        toDevice ? cudaMemcpyAsync(dev, hostPtr, bytes, cudaMemcpyHostToDevice, stream)
                 : cudaMemcpyAsync(hostPtr, dev, bytes, cudaMemcpyDeviceToHost, stream),
        "cudaMemcpyAsync");
  return env.Undefined();
}

}  // namespace

void registerPinned(Napi::Env env, Napi::Object exports) {
  exports.Set("pinnedAlloc", Napi::Function::New(env, PinnedAlloc, "pinnedAlloc"));
  exports.Set("pinnedFree", Napi::Function::New(env, PinnedFree, "pinnedFree"));
  exports.Set("pinnedCopy", Napi::Function::New(env, PinnedCopy, "pinnedCopy"));
}

}  // namespace flashgraph_cuda
