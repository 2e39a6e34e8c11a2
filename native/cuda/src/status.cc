// status(): is there a driver and a device, and what are they. Never throws for CUDA errors:
// unavailability is data with a reason a person can act on.
#include <string>

#include "common.h"
#include "flashgraph/cuda_status.h"

namespace flashgraph_cuda {
namespace {

// status(): { available, reason?, errorName?, driverVersion, runtimeVersion, devices: [...] }
Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  int driverVersion = 0;
  int runtimeVersion = 0;
  cudaDriverGetVersion(&driverVersion);  // 0 without a driver
  cudaRuntimeGetVersion(&runtimeVersion);
  out.Set("driverVersion", driverVersion);
  out.Set("runtimeVersion", runtimeVersion);
  Napi::Array devices = Napi::Array::New(env);
  out.Set("devices", devices);

  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    const cudaError_t reported = err != cudaSuccess ? err : cudaErrorNoDevice;
    out.Set("available", false);
    out.Set("errorName", cudaGetErrorName(reported));
    out.Set("reason", flashgraph::cudaUnavailableReason(reported));
    return out;
  }
  for (int i = 0; i < count; i++) {
    cudaDeviceProp prop{};
    const cudaError_t perr = cudaGetDeviceProperties(&prop, i);
    if (perr != cudaSuccess) {
      cudaGetLastError();
      out.Set("available", false);
      out.Set("errorName", cudaGetErrorName(perr));
      out.Set("reason", std::string(cudaGetErrorName(perr)) + ": reading the properties of CUDA device " +
                            std::to_string(i) + " failed: " + cudaGetErrorString(perr));
      return out;
    }
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", i);
    d.Set("name", prop.name);
    d.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
    d.Set("multiProcessorCount", prop.multiProcessorCount);
    d.Set("totalMemory", static_cast<double>(prop.totalGlobalMem));
    d.Set("l2CacheSize", prop.l2CacheSize);
    d.Set("sharedMemoryPerBlockOptin", static_cast<double>(prop.sharedMemPerBlockOptin));
    char busId[32] = {0};
    if (cudaDeviceGetPCIBusId(busId, sizeof busId, i) == cudaSuccess) d.Set("pciBusId", busId);
    cudaGetLastError();
    devices.Set(static_cast<uint32_t>(i), d);
  }
  out.Set("available", true);
  return out;
}

}  // namespace

void registerStatus(Napi::Env env, Napi::Object exports) {
  exports.Set("status", Napi::Function::New(env, Status, "status"));
}

}  // namespace flashgraph_cuda
