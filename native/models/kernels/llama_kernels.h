// Plain C++ API of the Llama-family kernels (no Node headers). Every launcher enqueues on
// `stream` (capturable, no allocation), checks its arguments and returns a CUDA error code; none
// aborts. Activations are `dtype` (bf16 or fp16), row-major; T = rows, H = hiddenSize.
// Rounding follows transformers' bf16 modules step by step (each torch op rounds its result to
// the activation dtype), so greedy tokens can be compared with transformers exactly.
#pragma once
#include <cstdint>
#include <cuda_runtime.h>

namespace flashgraph_models {

enum class Dtype : int { kBf16 = 0, kFp16 = 1 };

struct LlamaDims {
  int hiddenSize;
  int numHeadsQ;
  int numHeadsKv;
  int headDim;        // even, <= 256
  int intermediateSize;
  int vocabSize;
  float rmsNormEps;
  Dtype dtype;
};

// out[t] = table[tokenIds[t]] ([V, H] table); ids outside [0, V) give a zero row.
cudaError_t launchEmbed(const LlamaDims& d, const void* table, const int32_t* tokenIds, void* out, int numTokens,
                        cudaStream_t stream);

// With delta: x[t] = x[t] + delta[t] (rounded, in place: the residual stream). Then
// out[t] = RMSNorm(x[t]) * weight. delta may be null (the first layer).
cudaError_t launchAddRmsNorm(const LlamaDims& d, void* x, const void* delta, const void* weight, void* out,
                             int numTokens, cudaStream_t stream);

// From qkv [T, (Hq + 2 Hkv) * D] (the fused projection, bias already added): per-head RMSNorm of
// q and k when qNorm/kNorm are given (Qwen3), rotate-half RoPE of q and k at positions[t] with
// angle invFreq[i] * position (fp32 invFreq [D/2], scaling already applied), written to
// q [T, Hq, D] and k [T, Hkv, D]; v copied to v [T, Hkv, D].
cudaError_t launchQkvRope(const LlamaDims& d, const void* qkv, const void* qNorm, const void* kNorm,
                          const float* invFreq, const int32_t* positions, void* q, void* k, void* v, int numTokens,
                          cudaStream_t stream);

// out[t] = silu(gateUp[t, :I]) * gateUp[t, I:] (gateUp [T, 2I], out [T, I]).
cudaError_t launchSiluMul(const LlamaDims& d, const void* gateUp, void* out, int numTokens, cudaStream_t stream);

// For each request r: row = sampleRows[r]; out[r] = RMSNorm(x[row] + delta[row]) * weight (the
// last layer's residual add and the final norm, only for the rows that sample); a zero row where
// row is outside [0, numTokens). x is not modified.
cudaError_t launchGatherFinalNorm(const LlamaDims& d, const void* x, const void* delta, const void* weight,
                                  const int32_t* sampleRows, void* out, int numReqs, int numTokens,
                                  cudaStream_t stream);

// dst[i] = src[i] converted (types 0 bf16, 1 fp16, 2 fp32), round to nearest even.
cudaError_t launchConvert(const void* src, int srcType, void* dst, int dstType, long long count, cudaStream_t stream);

}  // namespace flashgraph_models
