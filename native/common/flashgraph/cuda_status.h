// Why CUDA is unavailable, in words a person can act on. No Node header: kernels-side code (a
// device_status() in an addon's C++ API) can include it as well as the N-API glue.
//
// cudart reports "no driver at all" and "a driver too old for this runtime" with one code,
// cudaErrorInsufficientDriver ("CUDA driver version is insufficient for CUDA runtime version");
// only cudaDriverGetVersion() tells them apart (it gives 0 when libcuda.so.1 is missing). Every
// addon's status goes through cudaUnavailableReason() so they all tell the user the same thing.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

namespace flashgraph {

inline std::string cudaVersionString(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

// `err`: what cudaGetDeviceCount (or the first runtime call) returned; cudaSuccess with no
// device means cudaErrorNoDevice. Starts with the CUDA error name.
inline std::string cudaUnavailableReason(cudaError_t err) {
  if (err == cudaSuccess) err = cudaErrorNoDevice;
  int driverVersion = 0;
  int runtimeVersion = 0;
  cudaDriverGetVersion(&driverVersion);  // 0 without a driver
  cudaRuntimeGetVersion(&runtimeVersion);
  cudaGetLastError();
  const std::string name = cudaGetErrorName(err);
  switch (err) {
    case cudaErrorInsufficientDriver:
      if (driverVersion == 0) {
        return name + ": no NVIDIA driver was found (libcuda.so.1 could not be loaded). Install the NVIDIA driver "
               "for CUDA " + cudaVersionString(runtimeVersion) + " or newer, or run on a machine with an NVIDIA GPU; "
               "in a container, start it with GPU access (e.g. `docker run --gpus all`).";
      }
      return name + ": the NVIDIA driver supports CUDA " + cudaVersionString(driverVersion) + " but this build of "
             "flashgraph uses the CUDA " + cudaVersionString(runtimeVersion) + " runtime. Update the NVIDIA driver "
             "to one that supports CUDA " + cudaVersionString(runtimeVersion) + ".";
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

}  // namespace flashgraph
