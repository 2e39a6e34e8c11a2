// y = x @ W^T through cuBLASLt or, for at most 8 rows, our skinny kernel; planned once and
// replayable inside CUDA graphs. x [M, K] and W [N, K] row-major (bf16 or fp16), y [M, N]
// row-major (same dtype, or fp32 for the logits), fp32 accumulation, optional bias [N] added in
// the epilogue (one rounding, as torch's addmm). Algorithms come from cuBLASLt's heuristic at
// construction (outside any capture) for a fixed list of row counts; `run` pads M up to the next
// listed count, so every call uses an algorithm chosen for exactly its shape, a preallocated
// workspace and no allocation: it can be captured. With the skinny kernel enabled, a call of
// m <= 8 rows (16-byte aligned x and W) runs it instead: the choice is made from the call's m at
// launch, so a captured graph bakes whichever kernel its m picked.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "../kernels/skinny_gemm.h"
#include "cublaslt.h"

namespace flashgraph_models {

enum class ElemType : int { kBf16 = 0, kFp16 = 1, kFp32 = 2 };

struct GemmShape {
  int n;          // output features (rows of W)
  int k;          // input features
  int maxM;       // most rows of x per call (the buffers' capacity)
  ElemType in;    // x and W
  ElemType out;   // y (and bias)
  const void* bias;  // device [n] of `out`'s dtype, or null
  bool skinny;       // use the skinny kernel for calls of m <= 8 rows where the shape allows it
};

/** Which kernel a call runs. */
enum class GemmKernel : int { kCublasLt = 0, kSkinny = 1 };

/** A call's failure: cuBLASLt's status or the skinny launch's CUDA error (both success when it ran). */
struct GemmStatus {
  cublasStatus_t cublas = kCublasSuccess;
  cudaError_t cuda = cudaSuccess;
  bool ok() const { return cublas == kCublasSuccess && cuda == cudaSuccess; }
};

/** FLASHGRAPH_MODELS_SKINNY_GEMM=1 (read once): the skinny kernel's default until it is verified on a GPU. */
bool skinnyGemmDefault();

class GemmPlan {
 public:
  /** Plans every row bucket; returns "" or the reason it cannot (no cuBLASLt, no algorithm...). */
  static std::string create(const GemmShape& shape, void* workspace, size_t workspaceBytes,
                            std::unique_ptr<GemmPlan>& out);
  ~GemmPlan();
  GemmPlan(const GemmPlan&) = delete;
  GemmPlan& operator=(const GemmPlan&) = delete;

  /**
   * The most rows a call with m rows touches: cuBLASLt computes the whole bucket (rows m..padded-1
   * of x are read, of y written); the skinny kernel exactly m.
   */
  int paddedRows(int m) const;
  /** The kernel a call of m rows with 16-byte aligned x and W runs (misaligned ones take cuBLASLt). */
  GemmKernel kernelFor(int m) const;
  /** Enqueues y = x @ W^T (+ bias) on stream for m rows (0 <= m <= maxM). */
  GemmStatus run(const void* x, const void* w, void* y, int m, cudaStream_t stream) const;
  /**
   * For W = [gate; up] (n = 2 I, no bias, output in the input dtype): act [m, I] = SiLU(x @ gate^T)
   * * (x @ up^T) in one skinny launch, bit-identical to run() then launchSiluMul. Only where
   * kernelFor(m) is the skinny kernel; cudaErrorInvalidValue otherwise (the caller runs the two).
   */
  cudaError_t runSiluMul(const void* x, const void* w, void* act, int m, cudaStream_t stream) const;
  const GemmShape& shape() const { return shape_; }
  const std::vector<int>& buckets() const { return buckets_; }
  /** Whether calls of m <= 8 take the skinny kernel (it was asked for). */
  bool skinnyEnabled() const { return skinnyEnabled_; }
  const SkinnyGemmPlan& skinnyPlan() const { return skinnyPlan_; }

 private:
  GemmPlan() = default;
  struct Bucket {
    cublasLtMatrixLayout_t b = nullptr;
    cublasLtMatrixLayout_t c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  GemmShape shape_{};
  const CublasLtApi* api_ = nullptr;
  cublasLtHandle_t handle_ = nullptr;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspaceBytes_ = 0;
  std::vector<int> buckets_;
  std::vector<Bucket> plans_;
  bool skinnyEnabled_ = false;
  // The skinny kernel's arguments for one call (siluMul off).
  SkinnyGemmArgs skinnyArgs(const void* x, const void* w, void* y, int m) const;
  SkinnyGemmPlan skinnyPlan_{};
};

/** Row counts planned for a capacity: 1, 2, 4 ... 128, then every multiple of 128, then maxM. */
std::vector<int> gemmRowBuckets(int maxM);

}  // namespace flashgraph_models
