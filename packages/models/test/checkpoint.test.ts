// The safetensors reader and writer: dtype conversions, chunked reads, shards.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../src/checkpoint/dtypes.js';
import { openCheckpoint, writeSafetensors } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-checkpoint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('dtype conversions', () => {
  it('fp16: exact values, rounding to nearest even, subnormals, overflow, NaN', () => {
    for (const x of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24, 1 + 2 ** -10]) {
      expect(f16ToF32(f32ToF16(x))).toBe(x);
    }
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f16ToF32(f32ToF16(1 + 2 ** -11))).toBe(1); // tie rounds to even
    expect(f16ToF32(f32ToF16(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie rounds to even (up)
    expect(f16ToF32(f32ToF16(70000))).toBe(Number.POSITIVE_INFINITY);
    expect(f16ToF32(f32ToF16(2 ** -26))).toBe(0);
    expect(f16ToF32(f32ToF16(Number.NaN))).toBeNaN();
    // Every fp16 bit pattern survives fp16 -> fp32 -> fp16 (NaNs stay NaN).
    for (let h = 0; h < 65536; h++) {
      const x = f16ToF32(h);
      if (Number.isNaN(x)) expect(Number.isNaN(f16ToF32(f32ToF16(x)))).toBe(true);
      else expect(f32ToF16(x)).toBe(h);
    }
  });

  it('bf16: round to nearest even, every pattern round-trips', () => {
    expect(bf16ToF32(f32ToBf16(1 + 2 ** -8))).toBe(1);
    expect(bf16ToF32(f32ToBf16(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(bf16ToF32(f32ToBf16(1 + 2 ** -8 + 2 ** -20))).toBe(1 + 2 ** -7);
    for (let b = 0; b < 65536; b++) {
      const x = bf16ToF32(b);
      if (Number.isNaN(x)) expect(Number.isNaN(bf16ToF32(f32ToBf16(x)))).toBe(true);
      else expect(f32ToBf16(x)).toBe(b);
    }
  });
});

describe('writeSafetensors + openCheckpoint', () => {
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 100);
  const path = join(root, 'model.safetensors');

  it('writes an 8-byte aligned header and reads every dtype back', async () => {
    await writeSafetensors(path, [
      { name: 'f32', dtype: 'F32', shape: [10, 100], data: values },
      { name: 'bf16', dtype: 'BF16', shape: [1000], data: values },
      {
        name: 'f16',
        dtype: 'F16',
        shape: [4, 250],
        data: (start, out) => out.set(values.subarray(start, start + out.length)),
      },
      { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    ]);
    const bytes = readFileSync(path);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const ckpt = await openCheckpoint(root);
    expect([...ckpt.tensors.keys()].sort()).toEqual(['bf16', 'empty', 'f16', 'f32']);
    expect(ckpt.tensors.get('bf16')).toMatchObject({
      dtype: 'BF16',
      shape: [1000],
      byteLength: 2000,
      file: 'model.safetensors',
    });
    expect(await ckpt.readFloat32('f32')).toEqual(values);
    const bf16 = await ckpt.readFloat32('bf16');
    const f16 = ckpt.readFloat32Sync('f16');
    for (let i = 0; i < values.length; i++) {
      expect(bf16[i]).toBe(bf16ToF32(f32ToBf16(values[i]!)));
      expect(f16[i]).toBe(f16ToF32(f32ToF16(values[i]!)));
    }
    expect(await ckpt.readFloat32('empty')).toHaveLength(0);
    await ckpt.close();
  });

  it('readChunks streams the exact bytes through one buffer of at most chunkBytes', async () => {
    const ckpt = await openCheckpoint(root);
    const seen: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    await ckpt.readChunks('f32', 12, async (chunk, offset) => {
      expect(chunk.byteLength).toBeLessThanOrEqual(12);
      expect(offset).toBe(seen.reduce((n, c) => n + c.byteLength, 0));
      buffers.add(chunk.buffer);
      seen.push(chunk.slice());
    });
    expect(buffers.size).toBe(1);
    const joined = Buffer.concat(seen);
    expect(new Float32Array(joined.buffer, joined.byteOffset, 1000)).toEqual(values);
    const sync: number[] = [];
    ckpt.readChunksSync('bf16', 1024, (chunk) => sync.push(chunk.byteLength));
    expect(sync).toEqual([1024, 976]);
    await expect(ckpt.readChunks('f32', 6, () => {})).rejects.toMatchObject({
      code: 'out_of_range',
      path: 'chunkBytes',
    });
    await expect(ckpt.readFloat32('nope')).rejects.toMatchObject({ code: 'missing_tensor', tensor: 'nope' });
    await ckpt.close();
    await expect(ckpt.readFloat32('f32')).rejects.toMatchObject({ code: 'disposed' });
  });
  it('every read method checks its arguments before reading (no endless loop, no raw error)', async () => {
    const ckpt = await openCheckpoint(root);
    let calls = 0;
    const count = () => {
      calls++;
    };
    const bad: [unknown, unknown, unknown, string, string][] = [
      // Left out, chunkBytes made an empty buffer and a loop that never advanced.
      ['f32', undefined, count, 'chunkBytes', 'invalid_type'],
      ['f32', '16', count, 'chunkBytes', 'invalid_type'],
      ['f32', 0, count, 'chunkBytes', 'out_of_range'],
      ['f32', Number.NaN, count, 'chunkBytes', 'out_of_range'],
      ['f32', 1.5, count, 'chunkBytes', 'out_of_range'],
      ['f32', -4, count, 'chunkBytes', 'out_of_range'],
      ['f32', 2 ** 40, count, 'chunkBytes', 'out_of_range'],
      ['f32', 2 ** 30 + 4, count, 'chunkBytes', 'out_of_range'],
      ['f32', 16, undefined, 'onChunk', 'invalid_type'],
      ['f32', 16, 'print', 'onChunk', 'invalid_type'],
      [7, 16, count, 'name', 'invalid_type'],
      [undefined, 16, count, 'name', 'invalid_type'],
    ];
    for (const [name, chunkBytes, onChunk, path, code] of bad) {
      const args = [name, chunkBytes, onChunk] as Parameters<typeof ckpt.readChunksSync>;
      await expect(ckpt.readChunks(...args), path).rejects.toMatchObject({ code, path });
      expect(() => ckpt.readChunksSync(...args), path).toThrow(expect.objectContaining({ code, path }));
    }
    await expect(ckpt.readFloat32({} as never)).rejects.toMatchObject({ code: 'invalid_type', path: 'name' });
    expect(() => ckpt.readFloat32Sync(null as never)).toThrow(expect.objectContaining({ code: 'invalid_type' }));
    expect(calls).toBe(0);
    // The largest chunk allowed reads a small tensor with a buffer of the tensor's size.
    const sizes: number[] = [];
    ckpt.readChunksSync('bf16', 2 ** 30, (chunk) => sizes.push(chunk.buffer.byteLength));
    await ckpt.readChunks('bf16', 2 ** 30, (chunk) => void sizes.push(chunk.buffer.byteLength));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4000);
    await ckpt.close();
  });

  it('close() while a read awaits its onChunk: the read stops with a typed error', async () => {
    const ckpt = await openCheckpoint(root);
    let chunks = 0;
    const read = ckpt.readChunks('f32', 64, async () => {
      if (++chunks === 2) await ckpt.close();
    });
    await expect(read).rejects.toMatchObject({ code: 'disposed' });
    expect(chunks).toBe(2);
    const sync = await openCheckpoint(root);
    expect(() =>
      sync.readChunksSync('f32', 64, () => {
        void sync.close();
      }),
    ).toThrow(expect.objectContaining({ code: 'disposed' }));
  });
});
