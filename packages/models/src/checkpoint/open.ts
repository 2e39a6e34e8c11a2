// openCheckpoint: a single model.safetensors or a sharded checkpoint (index + shards), every
// header validated before any tensor data is read. Tensors are read one at a time through the
// open file handles, in chunks through one reused buffer.

import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFunction, checkString, DisposedError, InvalidArgumentError } from '@flashgraph/errors';
import { CheckpointError } from '../errors.js';
import {
  checkFolderArgument,
  type FileErrorFactory,
  openRegularFile,
  readJsonTextFile,
  statRegularFile,
} from '../files.js';
import { widenToF32 } from './dtypes.js';
import { checkHeaderLength, type HeaderEntry, parseHeader } from './header.js';
import type { Checkpoint, TensorInfo } from './index.js';
import { checkShardName, INDEX_FILE, resolveInside } from './shard-names.js';

export const SINGLE_FILE = 'model.safetensors';

/** Chunk size of readFloat32 (a multiple of every dtype size). */
export const READ_CHUNK_BYTES = 4 << 20;

/** The largest chunkBytes of readChunks: one read call stays far below the 2 GiB a read may ask. */
export const MAX_CHUNK_BYTES = 1 << 30;

interface OpenFile {
  readonly name: string;
  readonly handle: FileHandle;
}

interface Located extends HeaderEntry {
  readonly file: OpenFile;
}

async function readExactly(file: OpenFile, buffer: Uint8Array, position: number, tensor: string | null): Promise<void> {
  let done = 0;
  while (done < buffer.byteLength) {
    const { bytesRead } = await file.handle.read(buffer, done, buffer.byteLength - done, position + done);
    if (bytesRead === 0) {
      throw new CheckpointError('truncated_file', file.name, tensor, 'the file ended early while reading', {
        fix: 'the file changed or was truncated after it was opened; copy it again',
      });
    }
    done += bytesRead;
  }
}

function readExactlySync(file: OpenFile, buffer: Uint8Array, position: number, tensor: string): void {
  let done = 0;
  while (done < buffer.byteLength) {
    const bytesRead = readSync(file.handle.fd, buffer, done, buffer.byteLength - done, position + done);
    if (bytesRead === 0) {
      throw new CheckpointError('truncated_file', file.name, tensor, 'the file ended early while reading', {
        fix: 'the file changed or was truncated after it was opened; copy it again',
      });
    }
    done += bytesRead;
  }
}

/** Typed errors about one file of the checkpoint (a directory or a pipe where it should be...). */
const fileError =
  (file: string): FileErrorFactory =>
  (code, problem, details) =>
    new CheckpointError(code, file, null, problem, details);

function missingFile(name: string): CheckpointError {
  return new CheckpointError('missing_file', name, null, 'the file does not exist', {
    fix: 'copy the complete checkpoint (every shard named in the index) into the model folder',
  });
}

async function openSafetensors(dir: string, name: string): Promise<{ file: OpenFile; entries: HeaderEntry[] }> {
  const path = await resolveInside(dir, name, name);
  const opened = await openRegularFile(path, fileError(name));
  if (opened === null) throw missingFile(name);
  const { handle, size } = opened;
  const file = { name, handle };
  try {
    const prefix = new Uint8Array(Math.min(8, size));
    await readExactly(file, prefix, 0, null);
    const headerLength = checkHeaderLength(name, prefix, size);
    const header = new Uint8Array(headerLength);
    await readExactly(file, header, 8, null);
    return { file, entries: parseHeader(name, header, size) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function readIndex(dir: string): Promise<Map<string, string>> {
  const path = await resolveInside(dir, INDEX_FILE, INDEX_FILE);
  const text = await readJsonTextFile(path, { errorFor: fileError(INDEX_FILE) });
  if (text === null) throw missingFile(INDEX_FILE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError('index_not_json', INDEX_FILE, null, 'the shard index is not well-formed JSON', {
      cause: err,
    });
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointError('index_no_weight_map', INDEX_FILE, null, 'the shard index has no weight_map object', {
      field: 'weight_map',
      fix: 'the index must be { "weight_map": { "<tensor>": "<shard file>" } }',
    });
  }
  const map = new Map<string, string>();
  for (const [tensor, file] of Object.entries(weightMap)) map.set(tensor, checkShardName(file, tensor));
  return map;
}

// Whether the folder has the file: a stat, never an open (a named pipe's open would block). Something
// that is there but not a regular file is a typed error naming it, not a silent "absent".
async function exists(dir: string, name: string): Promise<boolean> {
  return (await statRegularFile(join(dir, name), fileError(name))) !== null;
}

/** Opens a checkpoint folder: model.safetensors, or model.safetensors.index.json and its shards. */
export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  checkFolderArgument('dir', dir, 'the model folder path');
  const sharded = await exists(dir, INDEX_FILE);
  if (!sharded && !(await exists(dir, SINGLE_FILE))) {
    throw new CheckpointError('no_checkpoint', dir, null, `neither ${SINGLE_FILE} nor ${INDEX_FILE} is in the folder`, {
      fix: 'point at a Hugging Face model folder with safetensors weights (PyTorch .bin checkpoints are not read)',
    });
  }
  const files: OpenFile[] = [];
  const located = new Map<string, Located>();
  try {
    const weightMap = sharded ? await readIndex(dir) : null;
    const names = weightMap ? [...new Set(weightMap.values())].sort() : [SINGLE_FILE];
    for (const name of names) {
      const { file, entries } = await openSafetensors(dir, name);
      files.push(file);
      for (const entry of entries) {
        const seen = located.get(entry.name);
        if (seen) {
          throw new CheckpointError('duplicate_tensor', name, entry.name, `the tensor is also in ${seen.file.name}`, {
            fix: 'each tensor must be stored once',
          });
        }
        if (weightMap && weightMap.get(entry.name) !== name) {
          throw new CheckpointError(
            'tensor_not_in_index',
            name,
            entry.name,
            `the index maps this tensor to ${JSON.stringify(weightMap.get(entry.name) ?? null)}`,
            {
              field: `weight_map.${entry.name}`,
              fix: 'the index and the shards disagree; write the checkpoint again',
            },
          );
        }
        located.set(entry.name, { ...entry, file });
      }
    }
    if (weightMap) {
      for (const [tensor, name] of weightMap) {
        if (!located.has(tensor)) {
          throw new CheckpointError(
            'missing_in_shard',
            name,
            tensor,
            `the index lists the tensor in ${name} but the shard does not hold it`,
            {
              field: `weight_map.${tensor}`,
              fix: 'the index and the shards disagree; write the checkpoint again',
            },
          );
        }
      }
    }
  } catch (err) {
    await Promise.all(files.map((f) => f.handle.close()));
    throw err;
  }
  return createCheckpoint(dir, files, located);
}

function createCheckpoint(dir: string, files: OpenFile[], located: Map<string, Located>): Checkpoint {
  const tensors = new Map<string, TensorInfo>();
  for (const [name, e] of located) {
    tensors.set(
      name,
      Object.freeze({ name, dtype: e.dtype, shape: e.shape, byteLength: e.byteLength, file: e.file.name }),
    );
  }
  let closed = false;
  let scratch: Uint8Array | null = null;
  let scratchInUse = false;
  // No chunk needs more than the largest tensor, whatever chunkBytes a caller asks for.
  let largest = 4;
  for (const e of located.values()) largest = Math.max(largest, e.byteLength);
  const checkOpen = (name: string): void => {
    if (closed) throw new DisposedError('Checkpoint', `read of '${name}' after close()`);
  };
  const find = (name: unknown): Located => {
    const tensor = checkString('name', name);
    checkOpen(tensor);
    const e = located.get(tensor);
    if (!e) {
      throw new CheckpointError('missing_tensor', dir, tensor, 'the checkpoint has no such tensor', {
        fix: 'check the tensor name (see checkpoint.tensors)',
      });
    }
    return e;
  };
  // Checked before any read: a chunkBytes left out would make an empty buffer and a read loop
  // that never advances; a huge one a failed allocation or a read larger than one call may ask.
  const checkChunkArguments = (name: unknown, chunkBytes: unknown, onChunk: unknown): number => {
    checkString('name', name);
    const allowed = `a multiple of 4 in [4, ${MAX_CHUNK_BYTES}]`;
    if (typeof chunkBytes !== 'number') {
      throw new InvalidArgumentError({ code: 'invalid_type', path: 'chunkBytes', value: chunkBytes, allowed });
    }
    if (!Number.isInteger(chunkBytes) || chunkBytes < 4 || chunkBytes > MAX_CHUNK_BYTES || chunkBytes % 4 !== 0) {
      throw new InvalidArgumentError({ code: 'out_of_range', path: 'chunkBytes', value: chunkBytes, allowed });
    }
    checkFunction('onChunk', onChunk);
    return chunkBytes;
  };
  const checkpoint: Checkpoint = Object.freeze<Checkpoint>({
    dir,
    tensors,
    async readChunks(name, chunkBytes, onChunk) {
      const bytes = checkChunkArguments(name, chunkBytes, onChunk);
      const e = find(name);
      // One buffer for the whole call (async reads may interleave, so each has its own); a fresh
      // ArrayBuffer is 4-byte aligned, so chunks can be viewed as typed arrays.
      const buffer = new Uint8Array(Math.min(bytes, Math.max(e.byteLength, 4)));
      for (let offset = 0; offset < e.byteLength; offset += buffer.byteLength) {
        checkOpen(e.name); // close() during an await of onChunk: a typed error, not a closed handle's
        const chunk = buffer.subarray(0, Math.min(buffer.byteLength, e.byteLength - offset));
        await readExactly(e.file, chunk, e.fileOffset + offset, e.name);
        await onChunk(chunk, offset);
      }
    },
    readChunksSync(name, chunkBytes, onChunk) {
      const bytes = checkChunkArguments(name, chunkBytes, onChunk);
      const e = find(name);
      // Synchronous reads cannot interleave, so they share one scratch buffer (a fresh one only
      // when onChunk itself reads): loading a model allocates one chunk, not one per tensor.
      const size = Math.min(bytes, Math.max(e.byteLength, 4));
      const scratchBytes = Math.min(bytes, largest);
      const reuse = !scratchInUse && scratch !== null && scratch.byteLength === scratchBytes;
      // The scratch is a whole chunk (or the largest tensor), so tensors of different sizes never make it grow.
      const fresh = reuse ? null : new Uint8Array(scratchInUse ? size : scratchBytes);
      if (fresh && !scratchInUse) scratch = fresh;
      const buffer = (fresh ?? (scratch as Uint8Array)).subarray(0, size);
      const owns = !scratchInUse;
      scratchInUse = true;
      try {
        for (let offset = 0; offset < e.byteLength; offset += buffer.byteLength) {
          checkOpen(e.name); // onChunk may have called close(): its handles are going away
          const chunk = buffer.subarray(0, Math.min(buffer.byteLength, e.byteLength - offset));
          readExactlySync(e.file, chunk, e.fileOffset + offset, e.name);
          onChunk(chunk, offset);
        }
      } finally {
        if (owns) scratchInUse = false;
      }
    },
    async readFloat32(name) {
      const e = find(name);
      const size = e.dtype === 'F32' ? 4 : 2;
      const out = new Float32Array(e.byteLength / size);
      await checkpoint.readChunks(name, READ_CHUNK_BYTES, (chunk, offset) =>
        widenToF32(e.dtype, chunk, out, offset / size),
      );
      return out;
    },
    readFloat32Sync(name) {
      const e = find(name);
      const size = e.dtype === 'F32' ? 4 : 2;
      const out = new Float32Array(e.byteLength / size);
      checkpoint.readChunksSync(name, READ_CHUNK_BYTES, (chunk, offset) =>
        widenToF32(e.dtype, chunk, out, offset / size),
      );
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      scratch = null;
      await Promise.all(files.map((f) => f.handle.close()));
    },
  });
  return checkpoint;
}
