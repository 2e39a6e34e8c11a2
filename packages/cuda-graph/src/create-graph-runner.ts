// createGraphRunner: checks every option before any GPU work, then wires the runner to CUDA.
import type { Stream } from '@flashgraph/cuda';
import { cudaBackend, isStreamLike } from './cuda-backend.js';
import { RunnerCore } from './runner.js';
import type { GraphRunner, GraphRunnerOptions } from './types.js';
import { validateConfig, validateMaxNumReqs, validateOnProgress } from './validate.js';

/**
 * A runner that captures one CUDA graph per capture size (or piecewise graphs, per the config's
 * mode) and replays them with padding. Throws TypeError/RangeError for bad options and
 * NoCudaDeviceError without a usable device.
 */
export function createGraphRunner(options: GraphRunnerOptions): GraphRunner<Stream> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `createGraphRunner: options must be { config, stream, onProgress?, maxNumReqs? }, got ${options === null ? 'null' : typeof options}`,
    );
  }
  validateConfig(options.config);
  validateOnProgress(options.onProgress);
  const maxNumReqs = validateMaxNumReqs(options.maxNumReqs);
  const { stream } = options;
  if (typeof stream !== 'bigint' && !isStreamLike(stream)) {
    throw new TypeError(
      `createGraphRunner: stream must be a Stream from @flashgraph/cuda or a cudaStream_t handle (bigint), got ${stream === null ? 'null' : typeof stream}`,
    );
  }
  // Handles 0n (legacy default stream) and 1n (cudaStreamLegacy) can never be captured.
  if (typeof stream === 'bigint' && stream < 2n) {
    throw new RangeError(
      `createGraphRunner: stream handle ${stream}n is the legacy default stream (or negative), which CUDA cannot capture; pass a Stream from Stream.create() or its handle (>= 2n)`,
    );
  }
  return new RunnerCore({
    config: options.config,
    backend: cudaBackend(stream),
    onProgress: options.onProgress,
    maxNumReqs,
  });
}
