// Plain C++ API of the synthetic decoder's kernels (no Node headers). Every launcher enqueues on
// `stream` (capturable), checks its arguments and returns a CUDA error code; none aborts.
// Layouts (row-major, T = rows): hidden [T, hiddenSize], q/attnOut [T, qSize], k/v [T, kvSize],
// all of `dtype`; tokenIds/positions int32 [T]; sampleRows/sampled int32 [numReqs].
#pragma once
#include <cstdint>
#include <cuda_runtime.h>

namespace flashgraph_engine {

enum class Dtype : int { kBf16 = 0, kFp16 = 1 };

struct Dims {
  int hiddenSize;
  int qSize;     // numHeadsQ * headDim
  int kvSize;    // numHeadsKv * headDim
  int headDim;
  int vocabSize;
  Dtype dtype;
};

// hidden[t] = embedding of (tokenIds[t], positions[t]).
cudaError_t launchEmbed(const Dims& d, const int32_t* tokenIds, const int32_t* positions, void* hidden,
                        int numTokens, cudaStream_t stream);

// q, k, v of `layer` from hidden.
cudaError_t launchProject(const Dims& d, int layer, const void* hidden, void* q, void* k, void* v,
                          int numTokens, cudaStream_t stream);

// hidden = soft(hidden + attnOut * wo) of `layer`.
cudaError_t launchResidual(const Dims& d, int layer, void* hidden, const void* attnOut, int numTokens,
                           cudaStream_t stream);

// sampled[r] = argmax of the logit function of hidden[sampleRows[r]], or -1 where the row is
// negative or >= numTokens. One block per request.
cudaError_t launchSample(const Dims& d, const void* hidden, const int32_t* sampleRows, int32_t* sampled,
                         int numReqs, int numTokens, cudaStream_t stream);

}  // namespace flashgraph_engine
