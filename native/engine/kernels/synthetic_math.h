// The synthetic decoder's arithmetic, shared by host and device code. It must match
// packages/engine/src/synthetic-math.ts formula for formula (that file is the CPU mirror).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define FG_HD __host__ __device__ __forceinline__
#else
#define FG_HD inline
#endif

namespace flashgraph_engine {

// Seeds of the pseudo-weight streams (SEED_KIND in synthetic-math.ts).
enum SeedKind : uint32_t {
  kEmbedToken = 1,
  kEmbedPosition = 2,
  kSeedQ = 3,
  kSeedK = 4,
  kSeedV = 5,
  kSeedO = 6,
  kLogitA = 7,
  kLogitB = 8,
};

constexpr float kQScale = 4.0f;  // Q_SCALE
constexpr float kMix = 0.5f;     // MIX
constexpr float kSoft = 0.25f;   // SOFT

// Chris Wellons' lowbias32.
FG_HD uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

FG_HD uint32_t seedOf(uint32_t kind, uint32_t layer) { return hash32((kind << 24) ^ layer); }

// A pseudo-weight in [-1, 1), a multiple of 2^-23 (exact in fp32).
FG_HD float unitWeight(uint32_t seed, uint32_t index) {
  return static_cast<float>(hash32(index ^ seed) >> 8) * (1.0f / 8388608.0f) - 1.0f;
}

}  // namespace flashgraph_engine
