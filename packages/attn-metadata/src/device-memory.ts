// What the builder needs from memory: one pinned staging buffer and one device buffer of the same
// layout, one async copy between them, and views. `cuda-memory.ts` provides it with
// @flashgraph/cuda; keeping it an interface lets the builder's logic run in CPU tests.

export interface MetadataMemory<Buffer, StreamArg> {
  /** The whole staging memory as int32 (page-locked, so the step copy is async). */
  readonly staging: Int32Array;
  /** The whole device buffer. */
  readonly device: Buffer;
  /** A view of the device buffer (shares its memory, frees nothing). */
  view(byteOffset: number, byteLength: number): Buffer;
  /** Whether `stream` is being captured (its work runs only when the graph is launched). */
  isCapturing(stream: StreamArg): boolean;
  /** Blocks until the last eager step copy has read the staging memory, so it may be rewritten. */
  waitForStagingFree(): void;
  /**
   * Enqueues one async copy of staging bytes [0, byteLength) to the device buffer on `stream`;
   * outside capture it also marks the staging memory busy until the copy has run.
   */
  copyToDevice(stream: StreamArg, byteLength: number, capturing: boolean): void;
  /** Copies the whole staging memory synchronously (creation: the device starts neutral). */
  uploadAll(): void;
  dispose(): void;
}

export type MetadataMemoryFactory<Buffer, StreamArg> = (byteLength: number) => MetadataMemory<Buffer, StreamArg>;
