// cuBLASLt, loaded at run time. The build machine has no cuBLAS headers and a user's machine may
// have no cuBLAS at all, so the addon never links it: it declares the few entry points and enum
// values it uses (values from NVIDIA's cublasLt.h / library_types.h, stable since CUDA 11) and
// resolves them with dlopen/dlsym the first time they are needed. Without the library every
// other part of the addon still works and `cublasLtLibrary()` says why and what to install.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <cuda_runtime.h>

namespace flashgraph_models {

// --- the declared subset of cublasLt.h ---
using cublasStatus_t = int;
constexpr cublasStatus_t kCublasSuccess = 0;
using cublasLtHandle_t = void*;
using cublasLtMatmulDesc_t = void*;
using cublasLtMatrixLayout_t = void*;
using cublasLtMatmulPreference_t = void*;

struct cublasLtMatmulAlgo_t {
  uint64_t data[8];
};
struct cublasLtMatmulHeuristicResult_t {
  cublasLtMatmulAlgo_t algo;
  size_t workspaceSize;
  cublasStatus_t state;
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(cublasLtMatmulHeuristicResult_t) == 96, "layout of cublasLtMatmulHeuristicResult_t");

// cudaDataType_t (library_types.h)
constexpr int kCudaR32F = 0;
constexpr int kCudaR16F = 2;
constexpr int kCudaR16BF = 14;
// cublasComputeType_t
constexpr int kCublasCompute32F = 68;
// cublasOperation_t
constexpr int32_t kCublasOpN = 0;
constexpr int32_t kCublasOpT = 1;
// cublasLtMatmulDescAttributes_t
constexpr int kDescTransA = 3;
constexpr int kDescTransB = 4;
constexpr int kDescEpilogue = 7;
constexpr int kDescBiasPointer = 8;
// cublasLtEpilogue_t
constexpr uint32_t kEpilogueDefault = 1;
constexpr uint32_t kEpilogueBias = 4;
// cublasLtMatmulPreferenceAttributes_t
constexpr int kPrefMaxWorkspaceBytes = 1;

struct CublasLtApi {
  cublasStatus_t (*create)(cublasLtHandle_t*);
  cublasStatus_t (*destroy)(cublasLtHandle_t);
  size_t (*getVersion)();
  cublasStatus_t (*matmulDescCreate)(cublasLtMatmulDesc_t*, int computeType, int scaleType);
  cublasStatus_t (*matmulDescDestroy)(cublasLtMatmulDesc_t);
  cublasStatus_t (*matmulDescSetAttribute)(cublasLtMatmulDesc_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*matrixLayoutCreate)(cublasLtMatrixLayout_t*, int type, uint64_t rows, uint64_t cols, int64_t ld);
  cublasStatus_t (*matrixLayoutDestroy)(cublasLtMatrixLayout_t);
  cublasStatus_t (*preferenceCreate)(cublasLtMatmulPreference_t*);
  cublasStatus_t (*preferenceDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*preferenceSetAttribute)(cublasLtMatmulPreference_t, int attr, const void* buf, size_t size);
  cublasStatus_t (*algoGetHeuristic)(cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t,
                                     cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                                     cublasLtMatmulPreference_t, int requested,
                                     cublasLtMatmulHeuristicResult_t* results, int* returned);
  cublasStatus_t (*matmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void* alpha, const void* A,
                           cublasLtMatrixLayout_t, const void* B, cublasLtMatrixLayout_t, const void* beta,
                           const void* C, cublasLtMatrixLayout_t, void* D, cublasLtMatrixLayout_t,
                           const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspaceBytes,
                           cudaStream_t stream);
};

/** Where cuBLASLt was looked for and what was found. */
struct CublasLtLibrary {
  const CublasLtApi* api;      // null when not found
  std::string path;            // the file loaded
  size_t version;              // cublasLtGetVersion(), e.g. 130100
  std::string reason;          // why api is null
  std::vector<std::string> tried;  // every candidate, with the outcome
};

/** Loads once (thread-safe); later calls return the same result. Never throws. */
const CublasLtLibrary& cublasLtLibrary();

/** The advice printed when cuBLASLt is missing. */
const char* cublasLtInstallHint();

const char* cublasStatusName(cublasStatus_t status);

}  // namespace flashgraph_models
