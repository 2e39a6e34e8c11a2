// Argument readers for flashgraph's Node addons. The TypeScript layer checks every argument
// first; these re-check what memory and type safety need, so a direct caller gets a typed error
// instead of a crash. Every error carries the fields of a FlashgraphError (docs/architecture.md,
// "Native error contract"): `code` (`invalid_type` or `out_of_range`), `path` (the argument),
// `allowed` (the range), and a message `<addon>: <path>: <problem> (allowed <allowed>)`.
//
// Header-only: an addon includes it (flashgraph.cmake puts native/common on the include path)
// and calls flashgraph::napi::sizeArg(info, 1, "byteLength") and friends.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

#ifndef FLASHGRAPH_ADDON_NAME
#define FLASHGRAPH_ADDON_NAME "flashgraph"
#endif

namespace flashgraph {
namespace napi {

// `code` is one of the InvalidArgumentError codes of @flashgraph/errors.
[[noreturn]] inline void throwArgumentError(Napi::Env env, const char* code, const std::string& path,
                                            const std::string& problem, const std::string& allowed) {
  const std::string message = std::string(FLASHGRAPH_ADDON_NAME) + ": " + path + ": " + problem + " (allowed " +
                              allowed + ")";
  auto fill = [&](Napi::Error error) {
    error.Set("code", Napi::String::New(env, code));
    error.Set("path", Napi::String::New(env, path));
    error.Set("allowed", Napi::String::New(env, allowed));
    return error;
  };
  if (std::string(code) == "invalid_type") throw fill(Napi::TypeError::New(env, message));
  throw fill(Napi::RangeError::New(env, message));
}

inline uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBigInt()) throwArgumentError(info.Env(), "invalid_type", name, "wrong type", "bigint");
  bool lossless = false;
  const uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throwArgumentError(info.Env(), "out_of_range", name, "out of range", "bigint in [0, 2^64 - 1]");
  return v;
}

inline void* pointerArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(bigintArg(info, i, name)));
}

// An integer number in [min, max] (doubles hold integers exactly up to 2^53).
inline double integerArg(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max) {
  const std::string allowed = "integer in [" + std::to_string(static_cast<int64_t>(min)) + ", " +
                              std::to_string(static_cast<int64_t>(max)) + "]";
  if (!info[i].IsNumber()) throwArgumentError(info.Env(), "invalid_type", name, "wrong type", allowed);
  const double v = info[i].As<Napi::Number>().DoubleValue();
  // NaN fails both comparisons; the cast round trip rejects fractions.
  if (!(v >= min && v <= max) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throwArgumentError(info.Env(), "out_of_range", name, "out of range", allowed);
  }
  return v;
}

// A byte or element count: an integer in [0, 2^53 - 1].
inline size_t sizeArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return static_cast<size_t>(integerArg(info, i, name, 0, 9007199254740991.0));
}

inline int32_t int32Arg(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t min = INT32_MIN,
                        int32_t max = INT32_MAX) {
  return static_cast<int32_t>(integerArg(info, i, name, min, max));
}

inline double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throwArgumentError(info.Env(), "invalid_type", name, "wrong type", "number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throwArgumentError(info.Env(), "invalid_type", name, "wrong type", "boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// A device index: an int32 >= 0 (the TypeScript layer checks it against the device count).
inline int deviceArg(const Napi::CallbackInfo& info, size_t i) { return int32Arg(info, i, "device", 0); }

// The bytes of a TypedArray (or DataView): pointer and length; {nullptr, 0} when empty.
struct HostBytes {
  void* data;
  size_t bytes;
};

inline HostBytes hostBytesArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info[i].IsTypedArray()) {
    Napi::TypedArray view = info[i].As<Napi::TypedArray>();
    if (view.ByteLength() == 0) return {nullptr, 0};
    return {static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset(), view.ByteLength()};
  }
  if (info[i].IsDataView()) {
    Napi::DataView view = info[i].As<Napi::DataView>();
    if (view.ByteLength() == 0) return {nullptr, 0};
    return {static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset(), view.ByteLength()};
  }
  throwArgumentError(info.Env(), "invalid_type", name, "wrong type", "TypedArray or DataView");
}

}  // namespace napi
}  // namespace flashgraph
