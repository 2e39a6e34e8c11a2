// The fp8 decode kernel's deep ring (native/fa3 decode_kernel.cuh: K and V dequantized in turn
// into one chunk buffer, so each warp keeps twice the chunks, as many bytes as a bf16 cache, in
// flight): opt-in with FLASHGRAPH_FA3_FP8_DEEP=1 until a device run has checked and timed it.
// createAttention reads it, so each Attention keeps the choice it was created with (a test or a
// bench can create one of each in one process).

/** The switch that gives an fp8-cache Attention the decode kernel's deep ring. */
export const FP8_DEEP_ENV = 'FLASHGRAPH_FA3_FP8_DEEP';

export function fp8DeepEnabled(): boolean {
  return process.env[FP8_DEEP_ENV] === '1';
}
