// toBf16/fromBf16/toFp16/fromFp16 against the hardware conversions (__float2bfloat16_rn,
// __float2half_rn, __bfloat162float, __half2float): all 65536 16-bit patterns widened, and
// millions of float32 patterns narrowed (random, every tie and its neighbours, edge cases).
import { test } from 'node:test';
import { DeviceBuffer, fromBf16, fromFp16, Stream, toBf16, toFp16 } from '@flashgraph/cuda';
import { loadNative } from '../../src/native.js';
import { assertSameBits, rng, skip } from './helpers.js';

type Kind = 0 | 1 | 2 | 3;

function onDevice(kind: Kind, input: Uint32Array | Uint16Array, outBytesPerElement: number): ArrayBuffer {
  const native = loadNative().addon;
  if (!native) throw new Error('flashgraph_cuda.node did not load');
  using s = Stream.create();
  using src = DeviceBuffer.alloc(input.byteLength);
  using dst = DeviceBuffer.alloc(input.length * outBytesPerElement);
  src.write(input);
  dst.fill(0xee);
  native.convert(s.device, kind, src.ptr, dst.ptr, input.length, s.handle);
  s.synchronize();
  return dst.read(new Uint8Array(dst.byteLength)).buffer;
}

const all16 = Uint16Array.from({ length: 65536 }, (_, i) => i);

test('widening all 65536 patterns matches __bfloat162float and __half2float bit for bit', { skip }, () => {
  assertSameBits(new Uint32Array(onDevice(2, all16, 4)), new Uint32Array(fromBf16(all16).buffer), 'bf16 -> f32');
  assertSameBits(new Uint32Array(onDevice(3, all16, 4)), new Uint32Array(fromFp16(all16).buffer), 'fp16 -> f32');
});

test('narrowing matches __float2bfloat16_rn and __float2half_rn bit for bit', { skip }, () => {
  const next = rng('narrowing');
  const patterns: number[] = [];
  // Every widened 16-bit value, its float32 neighbours, and the float32 midpoints between
  // consecutive 16-bit values (the ties) with their neighbours, for both formats.
  for (const widened of [new Uint32Array(fromBf16(all16).buffer), new Uint32Array(fromFp16(all16).buffer)]) {
    const values = new Float32Array(widened.buffer);
    for (let h = 0; h < 65535; h++) {
      const w = widened[h] as number;
      patterns.push(w, (w + 1) >>> 0, (w - 1) >>> 0);
      const mid = new Uint32Array(
        new Float32Array([((values[h] as number) + (values[h + 1] as number)) / 2]).buffer,
      )[0] as number;
      patterns.push(mid, (mid + 1) >>> 0, (mid - 1) >>> 0);
    }
  }
  for (let i = 0; i < 4_000_000; i++) patterns.push(Math.floor(next() * 2 ** 32) >>> 0);
  for (let e = 0; e < 256; e++)
    for (const m of [0, 1, 0x400000, 0x7fffff, 0x8000, 0x7fff, 0x1000, 0xfff]) {
      patterns.push(((e << 23) | m) >>> 0, ((1 << 31) | (e << 23) | m) >>> 0);
    }
  const input = Uint32Array.from(patterns);
  const floats = new Float32Array(input.buffer);
  assertSameBits(new Uint16Array(onDevice(0, input, 2)), toBf16(floats), 'f32 -> bf16');
  assertSameBits(new Uint16Array(onDevice(1, input, 2)), toFp16(floats), 'f32 -> fp16');
});
