// MetadataMemory on @flashgraph/cuda: one pinned staging buffer, one device buffer, one event that
// tells when the last eager step copy has read the staging memory.
import { DeviceBuffer, Event, PinnedHostBuffer, Stream } from '@flashgraph/cuda';
import type { MetadataMemory } from './device-memory.js';
import { MetadataError } from './errors.js';

export type StreamArg = Stream | bigint;

export function allocateCudaMemory(byteLength: number): MetadataMemory<DeviceBuffer, StreamArg> {
  const pinned = PinnedHostBuffer.alloc(byteLength);
  let device: DeviceBuffer | undefined;
  let event: Event | undefined;
  try {
    device = DeviceBuffer.alloc(byteLength);
    event = Event.create({ timing: false });
  } catch (err) {
    device?.dispose();
    pinned.dispose();
    throw err;
  }
  return new CudaMemory(pinned, device, event);
}

class CudaMemory implements MetadataMemory<DeviceBuffer, StreamArg> {
  readonly staging: Int32Array;
  private copyPending = false;
  // A bigint stream is wrapped once (not owned) and reused while the caller keeps passing it.
  private wrapped: Stream | undefined;

  constructor(
    private readonly pinned: PinnedHostBuffer,
    readonly device: DeviceBuffer,
    private readonly event: Event,
  ) {
    this.staging = pinned.int32(0, pinned.byteLength / 4);
  }

  private stream(stream: StreamArg): Stream {
    if (stream instanceof Stream) return stream;
    if (typeof stream !== 'bigint') {
      throw new MetadataError(
        'invalid_stream',
        'options.stream',
        stream,
        'a Stream of @flashgraph/cuda or a bigint cudaStream_t',
        'not a stream',
      );
    }
    if (this.wrapped === undefined || this.wrapped.handle !== stream) {
      this.wrapped = Stream.fromHandle(stream, { device: this.device.device });
    }
    return this.wrapped;
  }

  view(byteOffset: number, byteLength: number): DeviceBuffer {
    return this.device.view(byteOffset, byteLength);
  }

  isCapturing(stream: StreamArg): boolean {
    return this.stream(stream).isCapturing();
  }

  waitForStagingFree(): void {
    if (!this.copyPending) return;
    this.event.synchronize();
    this.copyPending = false;
  }

  copyToDevice(stream: StreamArg, byteLength: number, capturing: boolean): void {
    const s = this.stream(stream);
    this.pinned.copyToDevice(this.device, { stream: s, byteLength });
    if (!capturing) {
      this.event.record(s);
      this.copyPending = true;
    }
  }

  uploadAll(): void {
    this.device.write(this.pinned.bytes);
  }

  dispose(): void {
    // The last step copy may still be reading the pinned memory.
    if (this.copyPending) this.event.synchronize();
    this.event.dispose();
    this.device.dispose();
    this.pinned.dispose();
  }
}
