// float32 <-> bfloat16 / float16 conversions on bit patterns, matching the CUDA conversions
// __float2bfloat16_rn, __float2half_rn, __bfloat162float and __half2float exactly (they mirror
// the host code paths of cuda_bf16.hpp / cuda_fp16.hpp, which match the hardware):
// - round to nearest, ties to even; overflow rounds to +-Infinity; subnormals are kept (no FTZ);
// - NaN -> the canonical NaN 0x7FFF (sign and payload dropped) when narrowing; a bf16 NaN widens
//   with its payload (a shift), an fp16 NaN widens to the canonical 0x7FFFFFFF.
import { wrongObject } from './validate.js';

// ArrayBuffer.isView first: it reads no property, so a proxy (never a view) fails here without
// `instanceof` running its getPrototypeOf trap.
function float32Bits(src: unknown, name: string): Uint32Array {
  if (!ArrayBuffer.isView(src) || !(src instanceof Float32Array)) throw wrongObject(name, src, 'Float32Array');
  return new Uint32Array(src.buffer, src.byteOffset, src.length);
}

function uint16Input(src: unknown, name: string): Uint16Array {
  if (!ArrayBuffer.isView(src) || !(src instanceof Uint16Array)) {
    throw wrongObject(name, src, 'Uint16Array of 16-bit patterns');
  }
  return src;
}

/** float32 bit pattern -> bfloat16 bit pattern (__float2bfloat16_rn). */
export function float32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) >>> 0 > 0x7f800000) return 0x7fff;
  // Adding 0x7fff plus the kept lowest bit rounds to nearest even; Inf and overflow fall out of it.
  return ((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/** float32 bit pattern -> float16 bit pattern (__float2half_rn). */
export function float32BitsToFp16(x: number): number {
  const u = (x & 0x7fffffff) >>> 0;
  const sign = (x >>> 16) & 0x8000;
  let result: number;
  let remainder: number;
  if (u >= 0x7f800000) {
    return u === 0x7f800000 ? sign | 0x7c00 : 0x7fff;
  } else if (u > 0x477fefff) {
    // |x| >= 65520: rounds to infinity
    return sign | 0x7c00;
  } else if (u >= 0x38800000) {
    // normal half
    remainder = (u << 19) >>> 0;
    result = sign | ((u - 0x38000000) >>> 13);
  } else if (u < 0x33000001) {
    // rounds to zero (|x| <= 2^-25, half of the smallest subnormal: ties to the even zero)
    return sign;
  } else {
    // subnormal half
    const exponent = u >>> 23;
    const shift = 0x7e - exponent;
    const mantissa = (u & 0x7fffff) | 0x800000;
    remainder = (mantissa << (32 - shift)) >>> 0;
    result = sign | (mantissa >>> shift);
  }
  if (remainder > 0x80000000 || (remainder === 0x80000000 && (result & 1) !== 0)) result += 1;
  return result;
}

/** bfloat16 bit pattern -> float32 bit pattern (__bfloat162float: exact, NaN payload kept). */
export function bf16ToFloat32Bits(h: number): number {
  return (h << 16) >>> 0;
}

/** float16 bit pattern -> float32 bit pattern (__half2float: exact; NaN -> 0x7FFFFFFF). */
export function fp16ToFloat32Bits(h: number): number {
  const sign = (h >>> 15) & 1;
  let exponent = (h >>> 10) & 0x1f;
  let mantissa = (h & 0x3ff) << 13;
  if (exponent === 0x1f) {
    if (mantissa !== 0) return 0x7fffffff;
    return ((sign << 31) | 0x7f800000) >>> 0;
  }
  if (exponent === 0) {
    if (mantissa === 0) return (sign << 31) >>> 0;
    // subnormal half: normalize into a float32 normal
    exponent = 0x71;
    let msb: number;
    do {
      msb = mantissa & 0x400000;
      mantissa <<= 1;
      exponent -= 1;
    } while (msb === 0);
    mantissa &= 0x7fffff;
  } else {
    exponent += 0x70;
  }
  return ((sign << 31) | (exponent << 23) | mantissa) >>> 0;
}

/** Float32Array -> bfloat16 bit patterns (round to nearest even, like __float2bfloat16_rn). */
export function toBf16(src: Float32Array): Uint16Array {
  const bits = float32Bits(src, 'src');
  const out = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToBf16(bits[i] as number);
  return out;
}

/** bfloat16 bit patterns -> Float32Array (exact). */
export function fromBf16(src: Uint16Array): Float32Array {
  const input = uint16Input(src, 'src');
  const out = new Float32Array(input.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < input.length; i++) bits[i] = bf16ToFloat32Bits(input[i] as number);
  return out;
}

/** Float32Array -> float16 bit patterns (round to nearest even, like __float2half_rn). */
export function toFp16(src: Float32Array): Uint16Array {
  const bits = float32Bits(src, 'src');
  const out = new Uint16Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToFp16(bits[i] as number);
  return out;
}

/** float16 bit patterns -> Float32Array (exact). */
export function fromFp16(src: Uint16Array): Float32Array {
  const input = uint16Input(src, 'src');
  const out = new Float32Array(input.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < input.length; i++) bits[i] = fp16ToFloat32Bits(input[i] as number);
  return out;
}
