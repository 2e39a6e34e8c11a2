// The wgmma kernel's TMA tensor maps (host side). Q: a 3-d view [token][query head][D] whose box
// is one tile's packed rows of one 64-column swizzle atom (128 / g tokens x the g query heads of a
// KV head x 64 columns: packed row order, 128-byte swizzled), made when g divides 128; tokens
// past the call's q rows (ForwardParams::q_rows) read as zeros. The paged K and V caches: a 4-d view
// [pages][page slot][KV head][D] (innermost last) whose boxes are one page's share of a KV block
// of one KV head and one 64-column swizzle atom: min(page size, kBlockN) slots x 64 columns,
// written 128-byte swizzled, the layout the cp.async gather produces. A page that holds whole
// blocks gives one box per atom and block; pages smaller than a block (kBlockN a multiple of the
// page size) give one per page and atom (wgmma_load_block). On unless FLASHGRAPH_FA3_WGMMA_TMA=0
// (wgmma_tma_enabled). The driver's encoder is reached through the runtime's entry-point query,
// so nothing links libcuda.
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstring>
#include <type_traits>

#include "forward_params.h"
#include "launchers.h"

namespace fa3 {

// A kernel parameter (__grid_constant__; CUtensorMap carries its alignment): `enabled` is 0 when
// the K / V maps could not be made (then every block takes the cp.async gather), `q_enabled` when
// Q's could not (then the producer gathers Q with cp.async).
struct WgmmaTmaMaps {
  CUtensorMap k;
  CUtensorMap v;
  CUtensorMap q;
  int enabled;
  int q_enabled;
};

using TensorMapEncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                          const cuuint64_t*, const cuuint32_t*, const cuuint32_t*,
                                          CUtensorMapInterleave, CUtensorMapSwizzle, CUtensorMapL2promotion,
                                          CUtensorMapFloatOOBfill);

inline TensorMapEncodeTiled tensor_map_encoder() {
  static const TensorMapEncodeTiled fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      return static_cast<TensorMapEncodeTiled>(nullptr);
    return reinterpret_cast<TensorMapEncodeTiled>(f);
  }();
  return fn;
}

// Whether TMA boxes can carry this page size's blocks: a page holds whole blocks, or a block is
// whole pages, each whole 8-row 128-byte swizzle atoms (so each page's box lands 1 KiB aligned).
// Other page sizes (48, 80, 192 at kBlockN 128, ...) keep the cp.async gather.
template <int kBlockN>
constexpr bool tma_page_size(int page_size) {
  return page_size > 0 && (page_size % kBlockN == 0 || (kBlockN % page_size == 0 && page_size % 8 == 0));
}

// Q's map (kBlockM packed rows a box), or false: g does not divide kBlockM, or the encoder rejects
// the tensor (alignment).
template <int D, typename T, int kBlockM>
bool make_q_map(const ForwardParams& p, TensorMapEncodeTiled encode, CUtensorMap* map) {
  const int g = p.shape.num_heads_q / p.shape.num_heads_kv;
  if (g < 1 || kBlockM % g != 0 || p.q_rows < 1) return false;
  const cuuint64_t esize = sizeof(T);
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(D), static_cast<cuuint64_t>(p.shape.num_heads_q),
                              static_cast<cuuint64_t>(p.q_rows)};
  const cuuint64_t strides[2] = {D * esize, dims[1] * D * esize};  // a query head, a token
  const cuuint32_t box[3] = {64, static_cast<cuuint32_t>(g), static_cast<cuuint32_t>(kBlockM / g)};
  const cuuint32_t elem_strides[3] = {1, 1, 1};
  const CUtensorMapDataType dtype = std::is_same<T, __nv_bfloat16>::value ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                                                          : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  return encode(map, dtype, 3, const_cast<void*>(p.q), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// The maps for this call: K / V unless TMA is off, tma_page_size rejects the page size, there is
// no encoder, or the encoder rejects a cache (alignment); Q unless TMA is off or make_q_map fails.
template <int D, typename T, int kBlockM, int kBlockN>
WgmmaTmaMaps make_tma_maps(const ForwardParams& p) {
  WgmmaTmaMaps m;
  std::memset(&m, 0, sizeof m);
  if (!wgmma_tma_enabled()) return m;
  const TensorMapEncodeTiled encode = tensor_map_encoder();
  if (encode == nullptr) return m;
  m.q_enabled = make_q_map<D, T, kBlockM>(p, encode, &m.q) ? 1 : 0;
  if (!tma_page_size<kBlockN>(p.shape.page_size)) return m;
  const cuuint64_t esize = sizeof(T);
  const cuuint64_t dims[4] = {static_cast<cuuint64_t>(D), static_cast<cuuint64_t>(p.shape.page_size),
                              static_cast<cuuint64_t>(p.shape.num_heads_kv), static_cast<cuuint64_t>(p.num_pages)};
  // Byte strides of dims 1..3: a slot (all KV heads), a KV head, a page.
  const cuuint64_t strides[3] = {dims[2] * D * esize, D * esize, dims[1] * dims[2] * D * esize};
  // Box rows: one page's share of a block (the kernel's unit).
  const int box_rows = p.shape.page_size < kBlockN ? p.shape.page_size : kBlockN;
  const cuuint32_t box[4] = {64, static_cast<cuuint32_t>(box_rows), 1, 1};
  const cuuint32_t elem_strides[4] = {1, 1, 1, 1};
  const CUtensorMapDataType dtype = std::is_same<T, __nv_bfloat16>::value ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                                                          : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  for (int i = 0; i < 2; ++i) {
    void* base = const_cast<void*>(i == 0 ? p.k_cache : p.v_cache);
    if (encode(i == 0 ? &m.k : &m.v, dtype, 4, base, dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
               CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
               CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) != CUDA_SUCCESS)
      return m;  // K / V off (enabled stays 0), Q's map kept
  }
  m.enabled = 1;
  return m;
}

}  // namespace fa3
