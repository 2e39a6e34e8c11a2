// The safetensors dtypes this package reads and writes, and their conversions to and from fp32.
// Conversions work on little-endian byte chunks in place of per-element allocation: the reader
// widens a chunk straight into the tensor's Float32Array.

export type CheckpointDtype = 'BF16' | 'F16' | 'F32';

export const CHECKPOINT_DTYPES: readonly CheckpointDtype[] = Object.freeze(['BF16', 'F16', 'F32']);

export const DTYPE_BYTES: Readonly<Record<CheckpointDtype, number>> = Object.freeze({ BF16: 2, F16: 2, F32: 4 });

export function isCheckpointDtype(value: unknown): value is CheckpointDtype {
  return typeof value === 'string' && (CHECKPOINT_DTYPES as readonly string[]).includes(value);
}

const scratch = new DataView(new ArrayBuffer(4));

function f32Bits(x: number): number {
  scratch.setFloat32(0, x, true);
  return scratch.getUint32(0, true);
}

function bitsF32(bits: number): number {
  scratch.setUint32(0, bits >>> 0, true);
  return scratch.getFloat32(0, true);
}

/** fp16 bits -> fp32 value, exact (every fp16 value is an fp32 value). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

let f16Table: Float32Array | null = null;

/** All 65536 fp16 values (256 KiB, built on first use): widening a chunk is then one lookup per element. */
function f16Values(): Float32Array {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

/** fp32 -> fp16 bits, round to nearest even, overflow to infinity. */
export function f32ToF16(x: number): number {
  const bits = f32Bits(x);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) in fp16: shift the full significand, rounding to nearest even.
    if (e < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = significand & ((1 << shift) - 1);
    let value = significand >>> shift;
    if (rest > half || (rest === half && (value & 1) === 1)) value += 1;
    return sign | value;
  }
  let value = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (value & 1) === 1)) value += 1; // may carry into the exponent: correct
  return sign | value;
}

/** fp32 -> bf16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  const bits = f32Bits(x);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bits -> fp32 value (exact). */
export function bf16ToF32(b: number): number {
  return bitsF32((b & 0xffff) << 16);
}

/**
 * Widens `chunk` (whole elements of `dtype`, little-endian) into `out` starting at element
 * `outOffset`. The chunk's byteOffset must be a multiple of 4 (the reader's buffer is).
 */
export function widenToF32(dtype: CheckpointDtype, chunk: Uint8Array, out: Float32Array, outOffset: number): void {
  if (dtype === 'F32') {
    out.set(new Float32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4), outOffset);
    return;
  }
  const halves = new Uint16Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 2);
  if (dtype === 'BF16') {
    const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < halves.length; i++) outBits[outOffset + i] = (halves[i] as number) << 16;
    return;
  }
  const table = f16Values();
  for (let i = 0; i < halves.length; i++) out[outOffset + i] = table[halves[i] as number] as number;
}

/** Narrows fp32 values into `out` as little-endian bytes of `dtype` (out.byteLength = values.length x size). */
export function narrowFromF32(dtype: CheckpointDtype, values: Float32Array, out: Uint8Array): void {
  if (dtype === 'F32') {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return;
  }
  const halves = new Uint16Array(out.buffer, out.byteOffset, values.length);
  const narrow = dtype === 'BF16' ? f32ToBf16 : f32ToF16;
  for (let i = 0; i < values.length; i++) halves[i] = narrow(values[i] as number);
}
