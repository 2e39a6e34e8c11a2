// The device sampler: contract B of the engine <-> model contract (packages/engine/src/model.ts,
// mirrored by src/sampling/cpu-sampler.ts). Plain C++ API, no Node headers. One launch on
// `stream`, capturable, no allocation; it returns a CUDA error code and never aborts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime.h>

namespace flashgraph_engine {

// Per-request statistics the sampler leaves in its workspace (4 floats per request slot):
// the row's largest logit, its logsumexp, the number of tokens kept after top-k/top-p, and the
// kept tokens' total weight. Tests read them; the engine needs only that the bytes exist.
constexpr size_t kSamplerStatsPerRequest = 4;

size_t samplerWorkspaceBytes(int vocabSize, int maxNumReqs);

// For r < numReqs: sampleRows[r] < 0 gives sampled[r] = -1, logprobs[r] = 0; otherwise row r of
// logits (fp32 [numReqs, vocabSize]) is sampled with slot r's parameters from `params` (struct of
// arrays over maxNumReqs slots: f32 temperature, i32 topK, f32 topP, u32 seed, i32 position,
// i32 reserved) and logprobs[r] = logits[r, token] - logsumexp(logits[r]).
cudaError_t launchSample(const float* logits, const void* params, const int32_t* sampleRows, int32_t* sampled,
                         float* logprobs, void* workspace, int vocabSize, int numReqs, int maxNumReqs,
                         cudaStream_t stream);

}  // namespace flashgraph_engine
