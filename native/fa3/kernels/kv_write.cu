// KV-cache write: copies this step's keys and values ([numTokens, Hkv, D]) into the paged caches
// ([numPages, pageSize, Hkv, D]) at slotMapping[t] = page * pageSize + offset, 16 bytes per
// thread. Slot -1 (graph padding) and any slot outside the cache are skipped. Launched with
// programmatic dependent launch like forward (unless FLASHGRAPH_FA3_PDL=0): it may start while the
// kernel that produced the keys still runs and waits for it before reading anything.
#include "launchers.h"
#include "pdl_launch.h"
#include "ptx.h"

namespace fa3 {

__global__ void __launch_bounds__(256) kv_write_kernel(const KvWriteParams p) {
  pdl_wait();
  pdl_launch_dependents();
  const int64_t total = static_cast<int64_t>(p.num_tokens) * p.row_chunks;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t token = i / p.row_chunks;
    const int64_t c = i % p.row_chunks;
    const int slot = __ldg(p.slot_mapping + token);
    if (slot < 0 || slot >= p.num_slots) continue;
    const int64_t dst = static_cast<int64_t>(slot) * p.row_chunks + c;
    const int64_t src = token * p.row_chunks + c;
    reinterpret_cast<uint4*>(p.k_cache)[dst] = __ldg(reinterpret_cast<const uint4*>(p.key) + src);
    reinterpret_cast<uint4*>(p.v_cache)[dst] = __ldg(reinterpret_cast<const uint4*>(p.value) + src);
  }
}

cudaError_t launch_kv_write(const KvWriteParams& p, cudaStream_t stream) {
  if (p.num_tokens <= 0) return cudaSuccess;
  const int64_t total = static_cast<int64_t>(p.num_tokens) * p.row_chunks;
  const int64_t want = (total + 255) / 256;
  const int64_t cap = 2048;  // grid-stride beyond this: enough CTAs to fill any Hopper part
  const int grid = static_cast<int>(want < cap ? want : cap);
  return launch_with_pdl(kv_write_kernel, dim3(grid), dim3(256), 0, stream, p);
}

}  // namespace fa3
