// Argument readers for flashgraph's Node addons. The TypeScript layer checks every argument
// first; these re-check what memory and type safety need, so a direct caller gets a typed error
// instead of a crash. Every error carries the fields of a FlashgraphError (docs/architecture.md,
// "Native error contract"): `code` (`invalid_type`, `out_of_range` or `invalid_value`), `path`
// (the argument, or `options.<key>`), `allowed` (the range), and a message
// `<addon>: <path>: <problem> (allowed <allowed>)`.
//
// Header-only: an addon includes it (flashgraph.cmake puts native/common on the include path)
// and calls flashgraph::napi::sizeArg(info, 1, "byteLength") and friends.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
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

// The readers of one value: `path` names it in the error (an argument, or `options.<key>` for a
// property of an options object). The *Arg readers below apply them to info[i].
inline uint64_t bigintValue(Napi::Env env, const Napi::Value& value, const std::string& path) {
  if (!value.IsBigInt()) throwArgumentError(env, "invalid_type", path, "wrong type", "bigint");
  bool lossless = false;
  const uint64_t v = value.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throwArgumentError(env, "out_of_range", path, "out of range", "bigint in [0, 2^64 - 1]");
  return v;
}

// An integer number in [min, max] (doubles hold integers exactly up to 2^53).
inline double integerValue(Napi::Env env, const Napi::Value& value, const std::string& path, double min, double max) {
  const std::string allowed = "integer in [" + std::to_string(static_cast<int64_t>(min)) + ", " +
                              std::to_string(static_cast<int64_t>(max)) + "]";
  if (!value.IsNumber()) throwArgumentError(env, "invalid_type", path, "wrong type", allowed);
  const double v = value.As<Napi::Number>().DoubleValue();
  // NaN fails both comparisons; the cast round trip rejects fractions.
  if (!(v >= min && v <= max) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throwArgumentError(env, "out_of_range", path, "out of range", allowed);
  }
  return v;
}

inline double numberValue(Napi::Env env, const Napi::Value& value, const std::string& path) {
  if (!value.IsNumber()) throwArgumentError(env, "invalid_type", path, "wrong type", "number");
  return value.As<Napi::Number>().DoubleValue();
}

inline bool boolValue(Napi::Env env, const Napi::Value& value, const std::string& path) {
  if (!value.IsBoolean()) throwArgumentError(env, "invalid_type", path, "wrong type", "boolean");
  return value.As<Napi::Boolean>().Value();
}

// An object holding named arguments (not an array or a function).
inline Napi::Object objectValue(Napi::Env env, const Napi::Value& value, const std::string& path) {
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) {
    throwArgumentError(env, "invalid_type", path, "wrong type", "an options object");
  }
  return value.As<Napi::Object>();
}

// A host Int32Array the addon reads `minLength` elements of: a shorter one is `out_of_range`, so
// the C++ code behind it never reads past its end.
inline Napi::Int32Array int32ArrayValue(Napi::Env env, const Napi::Value& value, const std::string& path,
                                        size_t minLength) {
  const std::string allowed = "Int32Array of length >= " + std::to_string(minLength);
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throwArgumentError(env, "invalid_type", path, "wrong type", allowed);
  }
  Napi::Int32Array array = value.As<Napi::Int32Array>();
  if (array.ElementLength() < minLength) {
    throwArgumentError(env, "out_of_range", path, "too short: length " + std::to_string(array.ElementLength()),
                       allowed);
  }
  return array;
}

// One string out of `choices` (e.g. a dtype name): its index in `choices`. A non-string is
// `invalid_type`, any other string `invalid_value`; `allowed` lists the choices ('a', 'b' or 'c').
inline size_t choiceValue(Napi::Env env, const Napi::Value& value, const std::string& path,
                          std::initializer_list<const char*> choices) {
  std::string allowed;
  size_t i = 0;
  for (const char* choice : choices) {
    allowed += std::string(i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + "'" + choice + "'";
    ++i;
  }
  if (!value.IsString()) throwArgumentError(env, "invalid_type", path, "wrong type", allowed);
  const std::string s = value.As<Napi::String>().Utf8Value();
  i = 0;
  for (const char* choice : choices) {
    if (s == choice) return i;
    ++i;
  }
  throwArgumentError(env, "invalid_value", path, "unknown value", allowed);
}

inline uint64_t bigintArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return bigintValue(info.Env(), info[i], name);
}

inline void* pointerArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(bigintArg(info, i, name)));
}

// A device pointer a kernel dereferences: 0n is rejected (`invalid_value`) before any launch.
inline void* nonNullPointerArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  void* p = pointerArg(info, i, name);
  if (p == nullptr) throwArgumentError(info.Env(), "invalid_value", name, "a null pointer", "a nonzero bigint (a device pointer)");
  return p;
}

// The same, as the integer the addons' launch structs hold.
inline uint64_t nonNullArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(nonNullPointerArg(info, i, name)));
}

// A pointer read as a bigint, typed for the kernel that takes it.
template <typename P>
P* ptr(uint64_t v) {
  return reinterpret_cast<P*>(static_cast<uintptr_t>(v));
}

inline double integerArg(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max) {
  return integerValue(info.Env(), info[i], name, min, max);
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
  return numberValue(info.Env(), info[i], name);
}

inline bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return boolValue(info.Env(), info[i], name);
}

// An options object (the constructors of the kernel classes take one).
inline Napi::Object objectArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return objectValue(info.Env(), info[i], name);
}

// Properties of an options object, named `options.<key>` in errors.
inline std::string optionPath(const char* key) { return std::string("options.") + key; }

inline int32_t int32Prop(const Napi::Object& o, const char* key, int32_t min, int32_t max) {
  return static_cast<int32_t>(integerValue(o.Env(), o.Get(key), optionPath(key), min, max));
}

inline double integerProp(const Napi::Object& o, const char* key, double min, double max) {
  return integerValue(o.Env(), o.Get(key), optionPath(key), min, max);
}

inline double numberProp(const Napi::Object& o, const char* key) {
  return numberValue(o.Env(), o.Get(key), optionPath(key));
}

// A bigint property; with `optional`, undefined or null reads as 0.
inline uint64_t bigintProp(const Napi::Object& o, const char* key, bool optional) {
  const Napi::Value v = o.Get(key);
  if (optional && (v.IsUndefined() || v.IsNull())) return 0;
  return bigintValue(o.Env(), v, optionPath(key));
}

// An error with a FlashgraphError `code` that is neither an argument nor a CUDA runtime error (a
// disposed object, a library status): message `<addon>: <path>: <problem>`, fields `code` and
// `path`. Returned, so the caller can add fields (e.g. a library status) before throwing it.
inline Napi::Error codedError(Napi::Env env, const char* code, const std::string& path, const std::string& problem) {
  Napi::Error error = Napi::Error::New(env, std::string(FLASHGRAPH_ADDON_NAME) + ": " + path + ": " + problem);
  error.Set("code", Napi::String::New(env, code));
  error.Set("path", Napi::String::New(env, path));
  return error;
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
