// writeSafetensors: writes one safetensors file for the tiny models, tests and benchmarks.
// Tensors may be given as values or as a generator function, and are written chunk by chunk,
// so a checkpoint of any size is written without holding it in memory.

import { open } from 'node:fs/promises';
import { InvalidArgumentError } from '@flashgraph/errors';
import { type CheckpointDtype, DTYPE_BYTES, narrowFromF32 } from './dtypes.js';

export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: CheckpointDtype;
  readonly shape: readonly number[];
  /** The values (row-major), or a function filling `out` with the elements from index `start` on. */
  readonly data: Float32Array | ((start: number, out: Float32Array) => void);
}

const WRITE_CHUNK_ELEMENTS = 1 << 20;

/** Writes tensors (in the given order) to `path`; the header is padded with spaces to 8 bytes. */
export async function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsTensor[],
  metadata: Readonly<Record<string, string>> = { format: 'pt' },
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const elements = t.shape.reduce((p, d) => p * d, 1);
    if (t.data instanceof Float32Array && t.data.length !== elements) {
      throw new InvalidArgumentError({
        code: 'out_of_range',
        path: `writeSafetensors.tensors['${t.name}'].data.length`,
        value: t.data.length,
        allowed: `${elements} (the product of its shape ${JSON.stringify(t.shape)})`,
      });
    }
    const bytes = elements * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  const handle = await open(path, 'w');
  try {
    await handle.write(prefix);
    await handle.write(headerBytes);
    const values = new Float32Array(WRITE_CHUNK_ELEMENTS);
    const bytes = new Uint8Array(WRITE_CHUNK_ELEMENTS * 4);
    for (const t of tensors) {
      const elements = t.shape.reduce((p, d) => p * d, 1);
      const size = DTYPE_BYTES[t.dtype];
      for (let start = 0; start < elements; start += WRITE_CHUNK_ELEMENTS) {
        const n = Math.min(WRITE_CHUNK_ELEMENTS, elements - start);
        const chunk = values.subarray(0, n);
        if (t.data instanceof Float32Array) chunk.set(t.data.subarray(start, start + n));
        else t.data(start, chunk);
        const out = bytes.subarray(0, n * size);
        narrowFromF32(t.dtype, chunk, out);
        await handle.write(out);
      }
    }
  } finally {
    await handle.close();
  }
}
