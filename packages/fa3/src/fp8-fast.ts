// The fp8 decode kernel's fast path (native/fa3 decode_fp8_fast.h: codes converted by the
// hardware, both MMAs in fp16, K read straight from the fp8 ring into registers): the default for
// fp8 caches since run U (H100: 1.74-1.91x bf16 and 88-99% of copy bandwidth where the standard
// path gave 1.35-1.61x; the fp8 suite and memcheck / racecheck clean on both).
// FLASHGRAPH_FA3_FP8_FAST=0 keeps the standard path. createAttention reads it, so each Attention
// keeps the choice it was created with (a test or a bench can create one of each in one process).

/** The switch that takes the decode kernel's fast fp8 path away from an fp8-cache Attention (`0`). */
export const FP8_FAST_ENV = 'FLASHGRAPH_FA3_FP8_FAST';

export function fp8FastEnabled(): boolean {
  return process.env[FP8_FAST_ENV] !== '0';
}
