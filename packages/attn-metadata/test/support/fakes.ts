// Test doubles for the CPU tests: a simulated device memory (copies land in a plain Int32Array;
// copies on a "capturing" stream are recorded and run on launch, like graph nodes) and an
// attention that records its schedule calls.
import type { MetadataMemory } from '../../src/device-memory.js';
import type { AttentionLike, GraphConfigLike, ScheduleArgs } from '../../src/types.js';

export interface FakeBuffer {
  readonly device: Int32Array;
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface FakeStream {
  capturing: boolean;
  /** Copies recorded while capturing (byte lengths), replayed by `launch`. */
  captured: number[];
}

export function fakeStream(): FakeStream {
  return { capturing: false, captured: [] };
}

export interface FakeMemory extends MetadataMemory<FakeBuffer, FakeStream> {
  readonly deviceInt32: Int32Array;
  readonly copies: number[];
  waits: number;
  disposed: boolean;
  /** Runs the copies captured on `stream` (a graph launch). */
  launch(stream: FakeStream): void;
}

export function fakeMemory(byteLength: number): FakeMemory {
  const staging = new Int32Array(byteLength / 4);
  const device = new Int32Array(byteLength / 4).fill(0x7eadbeef); // poison: the builder must upload
  const copy = (bytes: number) => device.set(staging.subarray(0, bytes / 4));
  const memory: FakeMemory = {
    staging,
    deviceInt32: device,
    device: { device, byteOffset: 0, byteLength },
    copies: [],
    waits: 0,
    disposed: false,
    view: (byteOffset, length) => ({ device, byteOffset, byteLength: length }),
    isCapturing: (stream) => stream.capturing,
    waitForStagingFree() {
      memory.waits++;
    },
    copyToDevice(stream, bytes, capturing) {
      if (capturing !== stream.capturing) throw new Error('capturing flag disagrees with the stream');
      if (bytes % 4 !== 0 || bytes > byteLength) throw new Error(`bad copy of ${bytes} bytes`);
      memory.copies.push(bytes);
      if (stream.capturing) stream.captured.push(bytes);
      else copy(bytes);
    },
    uploadAll: () => copy(byteLength),
    dispose() {
      memory.disposed = true;
    },
    launch(stream) {
      for (const bytes of stream.captured) copy(bytes);
    },
  };
  return memory;
}

/** Reads the int32 elements of a fake device view. */
export function readView(buffer: FakeBuffer, count: number): Int32Array {
  return buffer.device.slice(buffer.byteOffset / 4, buffer.byteOffset / 4 + count);
}

export interface RecordingAttention extends AttentionLike<FakeBuffer, FakeStream> {
  readonly calls: ScheduleArgs<FakeBuffer, FakeStream>[];
}

export function recordingAttention(overrides: Partial<AttentionLike['options']> = {}): RecordingAttention {
  const calls: ScheduleArgs<FakeBuffer, FakeStream>[] = [];
  return {
    options: {
      numHeadsQ: 32,
      numHeadsKv: 8,
      headDim: 128,
      pageSize: 16,
      numPages: 4096,
      maxNumReqs: 256,
      maxNumTokens: 2048,
      maxNumPagesPerReq: 64,
      maxNumSplits: 32,
      ...overrides,
    },
    smCount: 132,
    calls,
    schedule(args) {
      calls.push({ ...args });
    },
  };
}

export function graphConfig(overrides: Partial<GraphConfigLike> = {}): GraphConfigLike {
  return {
    captureSizes: [1, 2, 4, 8, 16, 24, 32, 48, 64],
    maxCaptureSize: 64,
    maxNumSplits: 16,
    uniformDecodeQueryLen: 1,
    hasFullGraphs: true,
    fullGraphsFor: 'all',
    piecewise: false,
    maxNumSeqs: 1024,
    ...overrides,
  };
}
