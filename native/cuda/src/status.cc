// status(): is there a driver and a device, and what are they. Never throws for CUDA errors:
// unavailability is data with a reason a person can act on.
#include <cstdlib>
#include <string>

#include "common.h"

namespace flashgraph_cuda {
namespace {

std::string versionString(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

std::string unavailableReason(cudaError_t err, int driverVersion, int runtimeVersion) {
  const std::string name = cudaGetErrorName(err);
  switch (err) {
    case cudaErrorInsufficientDriver:
      if (driverVersion == 0) {
        return name + ": no NVIDIA driver was found (libcuda.so.1 could not be loaded). Install the NVIDIA driver "
               "for CUDA " + versionString(runtimeVersion) + " or newer, or run on a machine with an NVIDIA GPU; "
               "in a container, start it with GPU access (e.g. `docker run --gpus all`).";
      }
      return name + ": the NVIDIA driver supports CUDA " + versionString(driverVersion) + " but this build of "
             "flashgraph uses the CUDA " + versionString(runtimeVersion) + " runtime. Update the NVIDIA driver "
             "to one that supports CUDA " + versionString(runtimeVersion) + ".";
    case cudaErrorNoDevice: {
      const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
      return name + ": the NVIDIA driver is installed but reports no CUDA device. Check `nvidia-smi`, "
             "CUDA_VISIBLE_DEVICES (" + (visible ? std::string("currently '") + visible + "'" : std::string("unset")) +
             ") and that this container or VM was given the GPU.";
    }
    case cudaErrorDevicesUnavailable:
      return name + ": every CUDA device is busy or unavailable (another process holds an exclusive-process "
             "device?). Check `nvidia-smi -q -d COMPUTE` and the processes using the GPU.";
    case cudaErrorSystemDriverMismatch:
      return name + ": the NVIDIA user-space driver and kernel module versions differ (a driver update "
             "without a reboot?). Reboot or reinstall the driver.";
    case cudaErrorStubLibrary:
      return name + ": the CUDA toolkit's stub libcuda.so was loaded instead of the real driver. Remove "
             "the toolkit's lib64/stubs directory from LD_LIBRARY_PATH.";
    default:
      return name + ": " + cudaGetErrorString(err) + " (while counting CUDA devices).";
  }
}

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
    out.Set("reason", unavailableReason(reported, driverVersion, runtimeVersion));
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
