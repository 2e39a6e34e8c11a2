// GemmPlan: see gemm.h. Row-major y = x @ W^T is column-major y^T = W^T' x^T: A = W stored
// [K, N] column-major (ld K) with op T, B = x^T [K, M] (ld K) with op N, C = D = y^T [N, M] (ld N).
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace flashgraph_models {
namespace {

int cudaTypeOf(ElemType t) {
  switch (t) {
    case ElemType::kBf16: return kCudaR16BF;
    case ElemType::kFp16: return kCudaR16F;
    default: return kCudaR32F;
  }
}

// One handle for the process: cublasLt handles hold no stream and no device memory of their own.
cublasLtHandle_t sharedHandle(const CublasLtApi* api, cublasStatus_t& status) {
  static cublasLtHandle_t handle = nullptr;
  static cublasStatus_t created = api->create(&handle);
  status = created;
  return handle;
}

std::string failed(const char* what, cublasStatus_t s) {
  return std::string(what) + " failed: " + cublasStatusName(s) + " (" + std::to_string(s) + ")";
}

// SMs of the current device, for the skinny kernel's split; an H100's 132 where there is no device
// (plans made on a machine without a GPU, as the CPU tests do).
int currentDeviceSms() {
  int device = 0;
  int sms = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || sms <= 0) {
    cudaGetLastError();
    return 132;
  }
  return sms;
}

}  // namespace

bool skinnyGemmDefault() {
  static const bool on = [] {
    const char* v = std::getenv("FLASHGRAPH_MODELS_SKINNY_GEMM");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return on;
}

std::vector<int> gemmRowBuckets(int maxM) {
  std::vector<int> out;
  for (int m = 1; m < maxM && m <= 128; m *= 2) out.push_back(m);
  for (int m = 256; m < maxM; m += 128) out.push_back(m);
  if (maxM > 0) out.push_back(maxM);
  return out;
}

std::string GemmPlan::create(const GemmShape& shape, void* workspace, size_t workspaceBytes,
                             std::unique_ptr<GemmPlan>& out) {
  const CublasLtLibrary& lib = cublasLtLibrary();
  if (lib.api == nullptr) return lib.reason;
  if (shape.n <= 0 || shape.k <= 0 || shape.maxM <= 0) return "GEMM sizes must be positive";
  if (shape.in == ElemType::kFp32) return "GEMM inputs must be bf16 or fp16";
  if (shape.out != ElemType::kFp32 && shape.out != shape.in) return "GEMM output must be fp32 or the input dtype";
  std::unique_ptr<GemmPlan> plan(new GemmPlan());
  plan->shape_ = shape;
  plan->api_ = lib.api;
  plan->workspace_ = workspace;
  plan->workspaceBytes_ = workspaceBytes;
  const CublasLtApi& api = *lib.api;
  cublasStatus_t s = kCublasSuccess;
  plan->handle_ = sharedHandle(lib.api, s);
  if (s != kCublasSuccess) return failed("cublasLtCreate", s);
  if ((s = api.matmulDescCreate(&plan->desc_, kCublasCompute32F, kCudaR32F)) != kCublasSuccess)
    return failed("cublasLtMatmulDescCreate", s);
  const int32_t opT = kCublasOpT;
  const int32_t opN = kCublasOpN;
  api.matmulDescSetAttribute(plan->desc_, kDescTransA, &opT, sizeof opT);
  api.matmulDescSetAttribute(plan->desc_, kDescTransB, &opN, sizeof opN);
  if (shape.bias != nullptr) {
    const uint32_t epilogue = kEpilogueBias;
    api.matmulDescSetAttribute(plan->desc_, kDescEpilogue, &epilogue, sizeof epilogue);
    if ((s = api.matmulDescSetAttribute(plan->desc_, kDescBiasPointer, &shape.bias, sizeof shape.bias)) !=
        kCublasSuccess)
      return failed("setting the bias pointer", s);
  }
  const int inType = cudaTypeOf(shape.in);
  const int outType = cudaTypeOf(shape.out);
  if ((s = api.matrixLayoutCreate(&plan->a_, inType, shape.k, shape.n, shape.k)) != kCublasSuccess)
    return failed("cublasLtMatrixLayoutCreate(A)", s);
  cublasLtMatmulPreference_t pref = nullptr;
  if ((s = api.preferenceCreate(&pref)) != kCublasSuccess) return failed("cublasLtMatmulPreferenceCreate", s);
  const uint64_t maxWorkspace = workspaceBytes;
  api.preferenceSetAttribute(pref, kPrefMaxWorkspaceBytes, &maxWorkspace, sizeof maxWorkspace);
  std::string error;
  plan->buckets_ = gemmRowBuckets(shape.maxM);
  for (int m : plan->buckets_) {
    Bucket b;
    if ((s = api.matrixLayoutCreate(&b.b, inType, shape.k, m, shape.k)) != kCublasSuccess ||
        (s = api.matrixLayoutCreate(&b.c, outType, shape.n, m, shape.n)) != kCublasSuccess) {
      plan->plans_.push_back(b);
      error = failed("cublasLtMatrixLayoutCreate", s);
      break;
    }
    cublasLtMatmulHeuristicResult_t result{};
    int returned = 0;
    s = api.algoGetHeuristic(plan->handle_, plan->desc_, plan->a_, b.b, b.c, b.c, pref, 1, &result, &returned);
    plan->plans_.push_back(b);
    if (s != kCublasSuccess || returned == 0) {
      error = "cuBLASLt has no algorithm for " + std::to_string(m) + "x" + std::to_string(shape.n) + "x" +
              std::to_string(shape.k) + (s != kCublasSuccess ? std::string(": ") + cublasStatusName(s) : "");
      break;
    }
    plan->plans_.back().algo = result.algo;
  }
  api.preferenceDestroy(pref);
  if (!error.empty()) return error;
  if (shape.skinny) {
    // The kernel's one shape rule (k a multiple of 8) is every Gemm's rule (the addon checks it
    // first), so a requested skinny kernel always applies.
    const char* problem = skinnyGemmShapeProblem(shape.n, shape.k);
    if (problem[0] != '\0') return problem;
    plan->skinnyEnabled_ = true;
    plan->skinnyPlan_ = skinnyGemmPlan(shape.n, shape.k, currentDeviceSms());
  }
  out = std::move(plan);
  return "";
}

GemmPlan::~GemmPlan() {
  if (api_ == nullptr) return;
  for (Bucket& b : plans_) {
    if (b.b) api_->matrixLayoutDestroy(b.b);
    if (b.c) api_->matrixLayoutDestroy(b.c);
  }
  if (a_) api_->matrixLayoutDestroy(a_);
  if (desc_) api_->matmulDescDestroy(desc_);
}

GemmKernel GemmPlan::kernelFor(int m) const {
  return skinnyEnabled_ && m >= 1 && m <= kSkinnyMaxRows ? GemmKernel::kSkinny : GemmKernel::kCublasLt;
}

int GemmPlan::paddedRows(int m) const {
  if (m <= 0) return 0;
  const auto it = std::lower_bound(buckets_.begin(), buckets_.end(), m);
  return it == buckets_.end() ? -1 : *it;
}

SkinnyGemmArgs GemmPlan::skinnyArgs(const void* x, const void* w, void* y, int m) const {
  SkinnyGemmArgs args{};
  args.x = x;
  args.w = w;
  args.bias = shape_.bias;
  args.y = y;
  args.m = m;
  args.n = shape_.n;
  args.k = shape_.k;
  args.inType = static_cast<int>(shape_.in);
  args.outType = static_cast<int>(shape_.out);
  args.plan = skinnyPlan_;
  return args;
}

cudaError_t GemmPlan::runSiluMul(const void* x, const void* w, void* act, int m, cudaStream_t stream) const {
  if (m < 1 || m > shape_.maxM || kernelFor(m) != GemmKernel::kSkinny) return cudaErrorInvalidValue;
  SkinnyGemmArgs args = skinnyArgs(x, w, act, m);  // a bias must be null: the launcher refuses one here
  args.siluMul = true;
  return launchSkinnyGemm(args, stream);
}

GemmStatus GemmPlan::run(const void* x, const void* w, void* y, int m, cudaStream_t stream) const {
  GemmStatus status;
  if (m < 0 || m > shape_.maxM) {
    status.cublas = 7;  // CUBLAS_STATUS_INVALID_VALUE
    return status;
  }
  if (m == 0) return status;
  if (kernelFor(m) == GemmKernel::kSkinny && skinnyGemmAligned(x, w)) {
    status.cuda = launchSkinnyGemm(skinnyArgs(x, w, y, m), stream);
    return status;
  }
  const size_t i = std::lower_bound(buckets_.begin(), buckets_.end(), m) - buckets_.begin();
  const Bucket& b = plans_[i];
  const float alpha = 1.0f;
  const float beta = 0.0f;
  status.cublas = api_->matmul(handle_, desc_, &alpha, w, a_, x, b.b, &beta, y, b.c, y, b.c, &b.algo, workspace_,
                               workspaceBytes_, stream);
  return status;
}

}  // namespace flashgraph_models
