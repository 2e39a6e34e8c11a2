// Optional per-CTA timestamps (%globaltimer) for latency studies of the small-batch path. Built
// only with -DFA3_TRACE (the self-test's `trace` mode); compiled out entirely otherwise, so the
// shipped kernels carry no trace code and no extra parameter.
#pragma once

#include <stdint.h>

namespace fa3 {

constexpr int kTraceSlotsPerCta = 64;  // 4 tiles x 16 points; slot 63: the CTA's exit
constexpr int kTraceTiles = 4;

#ifdef FA3_TRACE
// Set by the self-test before it launches: [grid][kTraceSlotsPerCta] and [4] (prepare).
extern unsigned long long* g_trace_forward;
extern unsigned long long* g_trace_prepare;

__device__ __forceinline__ unsigned long long trace_now() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ void trace_at(unsigned long long* buf, int slot) {
  if (buf != nullptr && threadIdx.x == 0 && slot >= 0 && slot < kTraceSlotsPerCta)
    buf[static_cast<int64_t>(blockIdx.x) * kTraceSlotsPerCta + slot] = trace_now();
}
#define FA3_TRACE_AT(buf, slot) ::fa3::trace_at((buf), (slot))
// Point `pt` (0..15) of the current tile.
#define FA3_TRACE_TILE(p, ti, pt) \
  do { if ((ti).trace_base >= 0) ::fa3::trace_at((p).trace, (ti).trace_base + (pt)); } while (0)
#else
#define FA3_TRACE_AT(buf, slot) ((void)0)
#define FA3_TRACE_TILE(p, ti, pt) ((void)0)
#endif

}  // namespace fa3
