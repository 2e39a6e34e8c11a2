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

// The decode kernel (decode_kernel.cuh) runs a step when decode_kernel_fits (scheduling.h:
// maxSeqlenQ x G <= 16, as the host states it) unless FLASHGRAPH_FA3_DECODE=0 (read once per
// process; for comparisons). It stays exact if the device data has longer queries.
bool decode_kernel_enabled();
bool use_decode_kernel(int max_seqlen_q, int qheads_per_kvhead);

// decode: launch decode_kernel instead of forward_kernel (same arguments, same results).
cudaError_t dispatch_forward(const ForwardParams& p, int head_dim, DType dtype, bool decode, int sm_count,
                             cudaStream_t stream);

struct PrepareParams {
  const int* cu_seqlens_q;
  const int* seq_lens;
  int num_reqs;
  int split_bound;  // min(numSplitsBound, maxNumSplits) >= 1
  int sm_count;
  SchedShape shape;
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
  int row_chunks;        // Hkv * D / 8 (16-byte chunks per token)
};
cudaError_t launch_kv_write(const KvWriteParams& p, cudaStream_t stream);

}  // namespace fa3
