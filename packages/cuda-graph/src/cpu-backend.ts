// The CPU capture backend: the runner (padding, route per mode, capture order, stats) over graphs
// that are the closures a CpuStream recorded during a capture, replayed in order. For runtimes
// and tests without a GPU; it honours the same capture/replay contract as CUDA.
import type { ResolvedGraphConfig } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import type { CaptureBackend } from './capture-backend.js';
import { type CpuGraph, CpuStream } from './cpu-stream.js';
import { createGraphRunnerWithBackend } from './create-graph-runner-with-backend.js';
import type { CaptureProgress, GraphMemory, GraphRunner } from './types.js';

const NO_GRAPH_MEMORY: GraphMemory = Object.freeze({ usedBytes: 0, highBytes: 0, reservedBytes: 0 });

/**
 * A CaptureBackend over a CpuStream (a new one by default). Kernels run synchronously on the CPU,
 * so there is nothing to wait for, upload or free; a recorded closure list is already executable.
 */
export function cpuCaptureBackend(stream: CpuStream = new CpuStream()): CaptureBackend<CpuStream, CpuGraph, CpuGraph> {
  if (!isCpuStream(stream)) {
    throw new InvalidArgumentError({ code: 'invalid_type', path: 'stream', value: stream, allowed: 'a CpuStream' });
  }
  return {
    stream,
    beginCapture: () => stream.beginCapture(),
    endCapture: () => stream.endCapture(),
    isCapturing: () => stream.isCapturing(),
    synchronize: () => {},
    instantiate: (graph) => graph,
    disposeGraph: () => {},
    upload: () => {},
    launch: (exec) => CpuStream.replay(exec),
    disposeExec: () => {},
    graphMemory: () => NO_GRAPH_MEMORY,
    release: () => {},
  };
}

/**
 * A graph runner on the CPU: `createGraphRunnerWithBackend` with `cpuCaptureBackend()`. Steps
 * launch closures with `ctx.stream.launch(kernel)`; `maxNumReqs` and `onProgress` as in
 * `GraphRunnerOptions`.
 */
export function createCpuGraphRunner(
  config: ResolvedGraphConfig,
  maxNumReqs?: number,
  onProgress?: (event: CaptureProgress) => void,
): GraphRunner<CpuStream> {
  return createGraphRunnerWithBackend({
    config,
    backend: cpuCaptureBackend(),
    ...(maxNumReqs === undefined ? {} : { maxNumReqs }),
    ...(onProgress === undefined ? {} : { onProgress }),
  });
}

// `instanceof` runs a proxy's getPrototypeOf trap: one that throws is no CpuStream either.
function isCpuStream(value: unknown): value is CpuStream {
  try {
    return value instanceof CpuStream;
  } catch {
    return false;
  }
}
