// Streams and events. Handles cross into JS as bigints (the interop contract).
#include "common.h"

namespace flashgraph_cuda {
namespace {

// streamCreate(device, nonBlocking, priority): bigint
Napi::Value StreamCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  const bool nonBlocking = boolArg(info, 1, "nonBlocking");
  const int32_t priority = int32Arg(info, 2, "priority");
  useDevice(env, device);
  cudaStream_t stream = nullptr;
  check(env, cudaStreamCreateWithPriority(&stream, nonBlocking ? cudaStreamNonBlocking : cudaStreamDefault, priority),
        "cudaStreamCreateWithPriority");
  return toBigInt(env, stream);
}

// streamPriorityRange(device): [least, greatest]
Napi::Value StreamPriorityRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  useDevice(env, deviceArg(info, 0));
  int least = 0, greatest = 0;
  check(env, cudaDeviceGetStreamPriorityRange(&least, &greatest), "cudaDeviceGetStreamPriorityRange");
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, least);
  out.Set(1u, greatest);
  return out;
}

Napi::Value StreamDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaStreamDestroy(streamArg(info, 0)), "cudaStreamDestroy");
  return env.Undefined();
}

Napi::Value StreamSynchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaStreamSynchronize(streamArg(info, 0)), "cudaStreamSynchronize");
  return env.Undefined();
}

// streamQuery(stream): true when all its work is done
Napi::Value StreamQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cudaError_t err = cudaStreamQuery(streamArg(info, 0));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();
    return Napi::Boolean::New(env, false);
  }
  check(env, err, "cudaStreamQuery");
  return Napi::Boolean::New(env, true);
}

Napi::Value StreamGetDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int device = -1;
  check(env, cudaStreamGetDevice(streamArg(info, 0), &device), "cudaStreamGetDevice");
  return Napi::Number::New(env, device);
}

// eventCreate(device, timing): bigint
Napi::Value EventCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  const bool timing = boolArg(info, 1, "timing");
  useDevice(env, device);
  cudaEvent_t event = nullptr;
  check(env, cudaEventCreateWithFlags(&event, timing ? cudaEventDefault : cudaEventDisableTiming),
        "cudaEventCreateWithFlags");
  return toBigInt(env, event);
}

Napi::Value EventDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaEventDestroy(eventArg(info, 0, "event")), "cudaEventDestroy");
  return env.Undefined();
}

// eventRecord(device, event, stream)
Napi::Value EventRecord(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  useDevice(env, deviceArg(info, 0));
  check(env, cudaEventRecord(eventArg(info, 1, "event"), streamArg(info, 2)), "cudaEventRecord");
  return env.Undefined();
}

// streamWaitEvent(stream, event): later work on stream waits for the event
Napi::Value StreamWaitEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaStreamWaitEvent(streamArg(info, 0), eventArg(info, 1, "event"), 0), "cudaStreamWaitEvent");
  return env.Undefined();
}

Napi::Value EventSynchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaEventSynchronize(eventArg(info, 0, "event")), "cudaEventSynchronize");
  return env.Undefined();
}

Napi::Value EventQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cudaError_t err = cudaEventQuery(eventArg(info, 0, "event"));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();
    return Napi::Boolean::New(env, false);
  }
  check(env, err, "cudaEventQuery");
  return Napi::Boolean::New(env, true);
}

// eventElapsedMs(start, end): milliseconds between the two recorded events
Napi::Value EventElapsedMs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float ms = 0;
  check(env, cudaEventElapsedTime(&ms, eventArg(info, 0, "start"), eventArg(info, 1, "end")), "cudaEventElapsedTime");
  return Napi::Number::New(env, ms);
}

}  // namespace

void registerStreams(Napi::Env env, Napi::Object exports) {
  exports.Set("streamCreate", Napi::Function::New(env, StreamCreate, "streamCreate"));
  exports.Set("streamPriorityRange", Napi::Function::New(env, StreamPriorityRange, "streamPriorityRange"));
  exports.Set("streamDestroy", Napi::Function::New(env, StreamDestroy, "streamDestroy"));
  exports.Set("streamSynchronize", Napi::Function::New(env, StreamSynchronize, "streamSynchronize"));
  exports.Set("streamQuery", Napi::Function::New(env, StreamQuery, "streamQuery"));
  exports.Set("streamGetDevice", Napi::Function::New(env, StreamGetDevice, "streamGetDevice"));
  exports.Set("streamWaitEvent", Napi::Function::New(env, StreamWaitEvent, "streamWaitEvent"));
  exports.Set("eventCreate", Napi::Function::New(env, EventCreate, "eventCreate"));
  exports.Set("eventDestroy", Napi::Function::New(env, EventDestroy, "eventDestroy"));
  exports.Set("eventRecord", Napi::Function::New(env, EventRecord, "eventRecord"));
  exports.Set("eventSynchronize", Napi::Function::New(env, EventSynchronize, "eventSynchronize"));
  exports.Set("eventQuery", Napi::Function::New(env, EventQuery, "eventQuery"));
  exports.Set("eventElapsedMs", Napi::Function::New(env, EventElapsedMs, "eventElapsedMs"));
}

}  // namespace flashgraph_cuda
