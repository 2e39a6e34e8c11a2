// `status()` of an addon that needs nothing but the CUDA driver: { available, deviceCount, reason? }.
// Never throws: no driver or no device is a reason, worded by cudaUnavailableReason like every
// other addon's status. Header-only; include after <napi.h>.
#pragma once
#include <cuda_runtime.h>
#include <napi.h>

#include "flashgraph/cuda_status.h"

namespace flashgraph {
namespace napi {

inline Napi::Value driverStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    out.Set("available", false);
    out.Set("deviceCount", 0);
    out.Set("reason", cudaUnavailableReason(err));  // clears the runtime's last-error slot
    return out;
  }
  out.Set("available", count > 0);
  out.Set("deviceCount", count);
  if (count == 0) out.Set("reason", "no CUDA device is visible");
  return out;
}

}  // namespace napi
}  // namespace flashgraph
