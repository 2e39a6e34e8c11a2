// The real CaptureBackend: a thin adapter over @flashgraph/cuda's Stream, Graph and GraphExec.
import { cudaStatus, deviceGraphMemory, type Graph, type GraphExec, NoCudaDeviceError, Stream } from '@flashgraph/cuda';
import type { CaptureBackend } from './capture-backend.js';

/** Structural check, so a Stream from a second copy of @flashgraph/cuda (ESM + CJS) is accepted. */
export function isStreamLike(value: unknown): value is Stream {
  if (value === null || typeof value !== 'object') return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s.handle === 'bigint' &&
    typeof s.beginCapture === 'function' &&
    typeof s.endCapture === 'function' &&
    typeof s.isCapturing === 'function' &&
    typeof s.synchronize === 'function'
  );
}

export function cudaBackend(streamOrHandle: Stream | bigint): CaptureBackend<Stream, Graph, GraphExec> {
  const status = cudaStatus();
  if (!status.available) {
    throw new NoCudaDeviceError(
      `${status.reason ?? 'CUDA is unavailable'} (createGraphRunner captures CUDA graphs and needs a usable device)`,
    );
  }
  const owned = typeof streamOrHandle === 'bigint';
  // A raw handle is wrapped without ownership: disposing the wrapper does not destroy the stream.
  const stream = owned ? Stream.fromHandle(streamOrHandle) : streamOrHandle;
  const device = stream.device;
  return {
    stream,
    beginCapture: () => stream.beginCapture('thread_local'),
    endCapture: () => stream.endCapture(),
    isCapturing: () => stream.isCapturing(),
    synchronize: () => stream.synchronize(),
    instantiate: (graph) => graph.instantiate(),
    disposeGraph: (graph) => graph.dispose(),
    upload: (exec) => exec.upload(stream),
    launch: (exec) => exec.launch(stream),
    disposeExec: (exec) => exec.dispose(),
    graphMemory: () => deviceGraphMemory(device),
    release: () => {
      if (owned) stream.dispose();
    },
  };
}
