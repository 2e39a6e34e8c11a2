// The CPU backend's graph runner: @flashgraph/cuda-graph's runner (padding, route per mode,
// capture order, stats) over a CaptureBackend whose "graphs" are the closures CpuStreamImpl
// recorded during a capture, replayed in order.
import type { ResolvedGraphConfig } from '@flashgraph/config';
import {
  type CaptureBackend,
  type CaptureProgress,
  createGraphRunnerWithBackend,
  type GraphRunner,
} from '@flashgraph/cuda-graph';
import { type CpuGraph, CpuStreamImpl } from './cpu-stream.js';
import type { CpuStream } from './model.js';

const NO_GRAPH_MEMORY = Object.freeze({ usedBytes: 0, highBytes: 0, reservedBytes: 0 });

/** Kernels run synchronously on the CPU, so there is nothing to wait for, upload or free. */
export function cpuCaptureBackend(stream: CpuStreamImpl = new CpuStreamImpl()): CaptureBackend<CpuStream> {
  return {
    stream,
    beginCapture: () => stream.beginCapture(),
    endCapture: () => stream.endCapture(),
    isCapturing: () => stream.isCapturing(),
    synchronize: () => {},
    // A recorded closure list is already executable.
    instantiate: (graph) => graph,
    disposeGraph: () => {},
    upload: () => {},
    launch: (exec) => CpuStreamImpl.replay(exec as CpuGraph),
    disposeExec: () => {},
    graphMemory: () => NO_GRAPH_MEMORY,
    release: () => {},
  };
}

export function createCpuGraphRunner(
  config: ResolvedGraphConfig,
  maxNumReqs: number,
  onProgress?: (event: CaptureProgress) => void,
): GraphRunner<CpuStream> {
  return createGraphRunnerWithBackend({ config, backend: cpuCaptureBackend(), maxNumReqs, onProgress });
}
