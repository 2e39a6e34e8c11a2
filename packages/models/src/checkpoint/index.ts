// The checkpoint reader's public surface (contract C of the model helpers): types, openCheckpoint,
// the tensor-spec check and the writer used by the tiny models and tests.
import type { CheckpointDtype } from './dtypes.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: CheckpointDtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** The file holding it, relative to the checkpoint folder. */
  readonly file: string;
}

export interface Checkpoint {
  readonly dir: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /**
   * Raw little-endian bytes, streamed in chunks of at most chunkBytes (a multiple of 4 in
   * [4, 2^30]) through one reused buffer.
   */
  readChunks(
    name: string,
    chunkBytes: number,
    onChunk: (chunk: Uint8Array, byteOffset: number) => void | Promise<void>,
  ): Promise<void>;
  /** readChunks with synchronous reads, for `Model.load`, which the engine calls synchronously. */
  readChunksSync(name: string, chunkBytes: number, onChunk: (chunk: Uint8Array, byteOffset: number) => void): void;
  /** One tensor converted to fp32 (the only tensor of the checkpoint in the JS heap). */
  readFloat32(name: string): Promise<Float32Array>;
  /** readFloat32 with synchronous reads. */
  readFloat32Sync(name: string): Float32Array;
  close(): Promise<void>;
}

export { CHECKPOINT_DTYPES, type CheckpointDtype, DTYPE_BYTES } from './dtypes.js';
export { openCheckpoint } from './open.js';
export { checkTensorSpecs, type TensorSpec } from './specs.js';
export { type SafetensorsTensor, writeSafetensors } from './write.js';
