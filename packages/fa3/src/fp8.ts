// The fp8 e4m3 format of the KV cache (OCP "E4M3FN", as CUDA's __nv_fp8_e4m3 and PyTorch's
// float8_e4m3fn): 1 sign bit, 4 exponent bits (bias 7), 3 mantissa bits, no infinities, NaN =
// S.1111.111, largest finite 448, subnormals m x 2^-9. The one CPU definition of the rounding the
// KV write kernel does (native/fa3/kernels/kv_write.cu: fp32 x / scale, then cvt.rn.satfinite).
import { InvalidArgumentError } from '@flashgraph/errors';
import { argPath, checkArgInt, checkArgNumber } from './validate.js';

/** Largest finite e4m3 value; quantization saturates to +-448. */
export const E4M3_MAX = 448;

/** The NaN code the quantizer writes (0x7f; 0xff decodes to NaN too). */
export const E4M3_NAN = 0x7f;

const SUBNORMAL_STEP = 2 ** -9;
const MIN_NORMAL = 2 ** -6;

/** The value of an e4m3 code (0..255): exact in fp16, bf16, fp32 and float64. */
export function decodeE4m3(code: number): number {
  if (!Number.isInteger(code) || code < 0 || code > 255) checkArgInt('decodeE4m3', 'code', code, 0, 255);
  const sign = code & 0x80 ? -1 : 1;
  const exp = (code >> 3) & 0xf;
  const mant = code & 0x7;
  if (exp === 0xf && mant === 0x7) return Number.NaN;
  if (exp === 0) return sign * mant * SUBNORMAL_STEP;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/** decodeE4m3 of every code, indexed by code (the references' dequantization table). */
export const E4M3_VALUES: Float64Array = Float64Array.from({ length: 256 }, (_, c) => decodeE4m3(c));

function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The e4m3 code of `value / scale`, as the KV write kernel computes it: the quotient rounded to
 * fp32 (an IEEE division), then to e4m3 by round-to-nearest-even with saturation: |x| >= 448 (and
 * +-Infinity) gives +-448, NaN gives 0x7f, -0 keeps its sign. `scale` defaults to 1.
 */
export function encodeE4m3(value: number, scale = 1): number {
  // Any number quantizes (NaN and +-Infinity included, as the kernel does); the scale divides, so
  // it must be a finite positive number (0 would saturate everything, a negative one flip signs).
  if (typeof value !== 'number') {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: argPath('encodeE4m3', 'value'),
      value,
      allowed: 'number',
    });
  }
  if (typeof scale !== 'number' || !(scale > 0) || !Number.isFinite(scale)) {
    checkArgNumber('encodeE4m3', 'scale', scale, 0, true);
  }
  const x = Math.fround(value / scale);
  if (Number.isNaN(x)) return E4M3_NAN;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (a >= E4M3_MAX) return sign | 0x7e;
  // Subnormals (and the rounding up into the smallest normal, code 0x08): steps of 2^-9.
  if (a < MIN_NORMAL) return sign | roundHalfEven(a / SUBNORMAL_STEP);
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  let q = roundHalfEven((a / 2 ** e - 1) * 8);
  if (q === 8) {
    q = 0;
    e++;
  }
  // a < 448 keeps e <= 8 and, at e = 8, q <= 6: never the NaN code.
  return sign | ((e + 7) << 3) | q;
}
