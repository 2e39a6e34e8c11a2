// Stream capture and CUDA graphs: begin/end/abandon capture, instantiate, launch, upload,
// exec-update, node count, destroy.
#include <string>

#include "common.h"

namespace flashgraph_cuda {
namespace {

cudaGraph_t graphArg(const Napi::CallbackInfo& info, size_t i) {
  return reinterpret_cast<cudaGraph_t>(static_cast<uintptr_t>(bigintArg(info, i, "graph")));
}
cudaGraphExec_t execArg(const Napi::CallbackInfo& info, size_t i) {
  return reinterpret_cast<cudaGraphExec_t>(static_cast<uintptr_t>(bigintArg(info, i, "graphExec")));
}

// streamBeginCapture(device, stream, mode: 0 global | 1 thread_local | 2 relaxed)
Napi::Value StreamBeginCapture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = deviceArg(info, 0);
  cudaStream_t stream = streamArg(info, 1);
  const int32_t mode = int32Arg(info, 2, "mode", 0, 2);
  cudaStreamCaptureMode m;
  switch (mode) {
    case 0: m = cudaStreamCaptureModeGlobal; break;
    case 1: m = cudaStreamCaptureModeThreadLocal; break;
    case 2: m = cudaStreamCaptureModeRelaxed; break;
    default: m = cudaStreamCaptureModeRelaxed; break;  // int32Arg allowed 0..2 only
  }
  useDevice(env, device);
  check(env, cudaStreamBeginCapture(stream, m), "cudaStreamBeginCapture");
  return env.Undefined();
}

// streamEndCapture(stream): bigint graph
Napi::Value StreamEndCapture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cudaGraph_t graph = nullptr;
  const cudaError_t err = cudaStreamEndCapture(streamArg(info, 0), &graph);
  if (err != cudaSuccess) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    throwCuda(env, err, "cudaStreamEndCapture");
  }
  return toBigInt(env, graph);
}

// streamCaptureStatus(stream): 0 none | 1 active | 2 invalidated
Napi::Value StreamCaptureStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  check(env, cudaStreamIsCapturing(streamArg(info, 0), &status), "cudaStreamIsCapturing");
  return Napi::Number::New(env, static_cast<int>(status));
}

// streamAbandonCapture(stream): ends a capture in progress (broken or not) and destroys what it
// captured, leaving the stream usable. true when a capture was ended. Never throws for CUDA errors.
Napi::Value StreamAbandonCapture(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cudaStream_t stream = streamArg(info, 0);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) != cudaSuccess || status == cudaStreamCaptureStatusNone) {
    cudaGetLastError();
    return Napi::Boolean::New(env, false);
  }
  cudaGraph_t graph = nullptr;
  cudaStreamEndCapture(stream, &graph);
  if (graph != nullptr) cudaGraphDestroy(graph);
  cudaGetLastError();
  return Napi::Boolean::New(env, true);
}

// graphInstantiate(device, graph): bigint graphExec
Napi::Value GraphInstantiate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  useDevice(env, deviceArg(info, 0));
  cudaGraphExec_t exec = nullptr;
  check(env, cudaGraphInstantiate(&exec, graphArg(info, 1), 0), "cudaGraphInstantiate");
  return toBigInt(env, exec);
}

Napi::Value GraphDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaGraphDestroy(graphArg(info, 0)), "cudaGraphDestroy");
  return env.Undefined();
}

Napi::Value GraphNodeCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t count = 0;
  check(env, cudaGraphGetNodes(graphArg(info, 0), nullptr, &count), "cudaGraphGetNodes");
  return Napi::Number::New(env, static_cast<double>(count));
}

Napi::Value GraphExecDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaGraphExecDestroy(execArg(info, 0)), "cudaGraphExecDestroy");
  return env.Undefined();
}

// graphLaunch(graphExec, stream)
Napi::Value GraphLaunch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaGraphLaunch(execArg(info, 0), streamArg(info, 1)), "cudaGraphLaunch");
  return env.Undefined();
}

Napi::Value GraphUpload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, cudaGraphUpload(execArg(info, 0), streamArg(info, 1)), "cudaGraphUpload");
  return env.Undefined();
}

const char* updateResultText(cudaGraphExecUpdateResult r) {
  switch (r) {
    case cudaGraphExecUpdateSuccess: return "success";
    case cudaGraphExecUpdateErrorTopologyChanged: return "topology changed (nodes or edges were added or removed)";
    case cudaGraphExecUpdateErrorNodeTypeChanged: return "a node changed type";
    case cudaGraphExecUpdateErrorFunctionChanged: return "a kernel node changed function";
    case cudaGraphExecUpdateErrorParametersChanged: return "node parameters changed in an unsupported way";
    case cudaGraphExecUpdateErrorNotSupported: return "a node cannot be updated";
    case cudaGraphExecUpdateErrorUnsupportedFunctionChange: return "a kernel node changed function in an unsupported way";
    case cudaGraphExecUpdateErrorAttributesChanged: return "node attributes changed in an unsupported way";
    default: return "the update failed";
  }
}

// graphExecUpdate(graphExec, graph): { ok, result, reason? }
Napi::Value GraphExecUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cudaGraphExecUpdateResultInfo result{};
  const cudaError_t err = cudaGraphExecUpdate(execArg(info, 0), graphArg(info, 1), &result);
  Napi::Object out = Napi::Object::New(env);
  if (err == cudaSuccess) {
    out.Set("ok", true);
    out.Set("result", static_cast<int>(result.result));
    return out;
  }
  if (err != cudaErrorGraphExecUpdateFailure) throwCuda(env, err, "cudaGraphExecUpdate");
  cudaGetLastError();
  out.Set("ok", false);
  out.Set("result", static_cast<int>(result.result));
  out.Set("reason", std::string("cudaGraphExecUpdate: ") + updateResultText(result.result));
  return out;
}

}  // namespace

void registerGraphs(Napi::Env env, Napi::Object exports) {
  exports.Set("streamBeginCapture", Napi::Function::New(env, StreamBeginCapture, "streamBeginCapture"));
  exports.Set("streamEndCapture", Napi::Function::New(env, StreamEndCapture, "streamEndCapture"));
  exports.Set("streamCaptureStatus", Napi::Function::New(env, StreamCaptureStatus, "streamCaptureStatus"));
  exports.Set("streamAbandonCapture", Napi::Function::New(env, StreamAbandonCapture, "streamAbandonCapture"));
  exports.Set("graphInstantiate", Napi::Function::New(env, GraphInstantiate, "graphInstantiate"));
  exports.Set("graphDestroy", Napi::Function::New(env, GraphDestroy, "graphDestroy"));
  exports.Set("graphNodeCount", Napi::Function::New(env, GraphNodeCount, "graphNodeCount"));
  exports.Set("graphExecDestroy", Napi::Function::New(env, GraphExecDestroy, "graphExecDestroy"));
  exports.Set("graphLaunch", Napi::Function::New(env, GraphLaunch, "graphLaunch"));
  exports.Set("graphUpload", Napi::Function::New(env, GraphUpload, "graphUpload"));
  exports.Set("graphExecUpdate", Napi::Function::New(env, GraphExecUpdate, "graphExecUpdate"));
}

}  // namespace flashgraph_cuda
