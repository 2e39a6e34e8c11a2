// Declarations of the launchers behind the C++ API: forward (dispatch over head dim x dtype),
// prepare and the KV-cache write. Free of Node headers.
#pragma once

#include <cuda_runtime.h>

#include "forward_params.h"

namespace fa3 {

enum class DType : int { kBF16 = 0, kFP16 = 1 };

// Whether forward is launched with programmatic dependent launch (PDL): on unless the
// environment sets FLASHGRAPH_FA3_PDL=0 (read once per process).
bool pdl_enabled();

// The caller's kernel request (scheduling.h KernelRequest) from FLASHGRAPH_FA3_KERNEL
// (general | wgmma | decode; unset = auto; FLASHGRAPH_FA3_DECODE=0 alone = general, the older
// switch), read once per process; -1 for any other value (`kernel_request_value` names it).
int kernel_request();
const char* kernel_request_value();
// choose_forward_kernel (scheduling.h) with that request.
int step_kernel(int max_seqlen_q, int qheads_per_kvhead, int head_dim);
const char* kernel_name(int kernel);

// The wgmma kernel's switches (read once per process; on unless the variable is "0"):
// FLASHGRAPH_FA3_WGMMA_OVERLAP: its overlapped main loop (FA3's order: the softmax of block j + 1
// runs under block j's P V, and the two consumer warpgroups take turns at the tensor cores;
// wgmma_kernel.cuh); 0: the plain main loop.
bool wgmma_overlap_enabled();
// FLASHGRAPH_FA3_WGMMA_TMA: K / V by TMA where the page size allows (wgmma_tma.h); 0: the
// cp.async gather for every block.
bool wgmma_tma_enabled();
// The defaults since run V (read once per process): FLASHGRAPH_FA3_WGMMA_LEAN (on unless 0): the
// lean variant of the overlapped main loop (wgmma_kernel.cuh WgmmaVariant: producer warp 0 alone
// on TMA blocks, sleeping waits, one word per stage instead of the page ids); ignored with
// OVERLAP=0.
bool wgmma_lean_enabled();
// FLASHGRAPH_FA3_WGMMA_STAGES (3 unless 2; with the lean variant): three K / V stages at D = 128.
bool wgmma_deep_ring_enabled();

// Whether forward_kernel_list.h instantiates (kernel, head dim, dtype) for a cache of that dtype
// (FA3_FORWARD_KERNELS) or of fp8 e4m3 (kv_fp8: FA3_FP8_KV_KERNELS).
bool forward_instantiated(int kernel, int head_dim, DType dtype, bool kv_fp8);
// Launches that instantiation (same arguments, same results for every kernel);
// cudaErrorInvalidValue for one the list lacks (callers check forward_instantiated first).
cudaError_t dispatch_forward(const ForwardParams& p, int kernel, int head_dim, DType dtype, bool kv_fp8,
                             int sm_count, cudaStream_t stream);

struct PrepareParams {
  const int* cu_seqlens_q;
  const int* seq_lens;
  int num_reqs;
  int split_bound;  // min(numSplitsBound, maxNumSplits) >= 1
  int sm_count;
  SchedShape shape;
  TileShape tile;  // of the kernel the step runs (choose_forward_kernel)
  int kernel;      // that kernel (use_request_order: decode steps keep the request order)
  int* splits;
  int* tile_offsets;  // by position in `order`
  int* order;         // position -> request (scheduling.h: longest tiles first)
  int* counters;
  int64_t num_counters;  // header + group counters
#ifdef FA3_TRACE
  unsigned long long* trace;  // [4]
#endif
};
cudaError_t launch_prepare(const PrepareParams& p, cudaStream_t stream);

struct KvWriteParams {
  const void* key;
  const void* value;
  void* k_cache;
  void* v_cache;
  const int* slot_mapping;
  int num_tokens;
  int64_t num_slots;     // numPages * pageSize
  int row_chunks;        // Hkv * D / 8 (16-byte chunks of key / value per token)
  // fp8 e4m3 caches: each 8-element chunk is quantized (x / descale[head], saturated) into 8 bytes.
  bool kv_fp8;
  DType dtype;           // of key / value
  int head_chunks;       // D / 8: chunk c belongs to KV head c / head_chunks
  const float* k_descale;  // [Hkv] or nullptr (1)
  const float* v_descale;
};
cudaError_t launch_kv_write(const KvWriteParams& p, cudaStream_t stream);

}  // namespace fa3
