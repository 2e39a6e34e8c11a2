// The fp8 decode kernel's fast path (native/fa3 decode_fp8_fast.h: codes converted by the
// hardware, both MMAs in fp16, K read straight from the fp8 ring into registers): opt-in with
// FLASHGRAPH_FA3_FP8_FAST=1 until a device run has checked and timed it. createAttention reads
// it, so each Attention keeps the choice it was created with (a test or a bench can create one of
// each in one process).

/** The switch that gives an fp8-cache Attention the decode kernel's fast fp8 path. */
export const FP8_FAST_ENV = 'FLASHGRAPH_FA3_FP8_FAST';

export function fp8FastEnabled(): boolean {
  return process.env[FP8_FAST_ENV] === '1';
}
