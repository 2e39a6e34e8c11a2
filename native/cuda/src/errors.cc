// CUDA error -> JS Error, and the argument readers shared by every file of the addon.
#include <string>

#include "common.h"

namespace flashgraph_cuda {

void throwCuda(Napi::Env env, cudaError_t err, const char* call) {
  // Clear the last-error slot so a later call does not report this failure again. Sticky errors
  // (a kernel fault) stay: they need a process restart, and every later call reports them.
  cudaGetLastError();
  const char* name = cudaGetErrorName(err);
  const char* text = cudaGetErrorString(err);
  Napi::Error error = Napi::Error::New(env, std::string(name) + ": " + call + " failed: " + text);
  error.Set("cudaCode", Napi::Number::New(env, static_cast<double>(err)));
  error.Set("cudaName", Napi::String::New(env, name));
  error.Set("cudaCall", Napi::String::New(env, call));
  throw error;
}

void useDevice(Napi::Env env, int device) {
  int current = -1;
  check(env, cudaGetDevice(&current), "cudaGetDevice");
  if (current != device) check(env, cudaSetDevice(device), "cudaSetDevice");
}

static std::string argName(const char* name) { return std::string("flashgraph_cuda: ") + name; }

uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), argName(name) + " must be a bigint");
  bool lossless = false;
  const uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), argName(name) + " must be in [0, 2^64)");
  return v;
}

size_t sizeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), argName(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 9007199254740991.0) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw Napi::RangeError::New(info.Env(), argName(name) + " must be an integer in [0, 2^53)");
  }
  return static_cast<size_t>(v);
}

int32_t int32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), argName(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw Napi::RangeError::New(info.Env(), argName(name) + " must be an int32");
  }
  return static_cast<int32_t>(v);
}

double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), argName(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), argName(name) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

int deviceArg(const Napi::CallbackInfo& info, size_t i) {
  const int32_t d = int32Arg(info, i, "device");
  if (d < 0) throw Napi::RangeError::New(info.Env(), argName("device") + " must be >= 0");
  return d;
}

}  // namespace flashgraph_cuda
