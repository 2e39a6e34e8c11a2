// createGraphRunner: checks every option before any GPU work, then wires the runner to CUDA.
import type { Stream } from '@flashgraph/cuda';
import { checkOptions, InvalidArgumentError } from '@flashgraph/errors';
import { cudaBackend, isStreamLike } from './cuda-backend.js';
import { RunnerCore } from './runner.js';
import type { GraphRunner, GraphRunnerOptions } from './types.js';
import { validateConfig, validateMaxNumReqs, validateOnProgress } from './validate.js';

const OPTION_KEYS = ['config', 'stream', 'onProgress', 'maxNumReqs'] as const;

/**
 * A runner that captures one CUDA graph per capture size (or piecewise graphs, per the config's
 * mode) and replays them with padding. Throws InvalidArgumentError for bad options and
 * NoCudaDeviceError without a usable device.
 */
export function createGraphRunner(options: GraphRunnerOptions): GraphRunner<Stream> {
  const given = checkOptions('options', options ?? null, OPTION_KEYS);
  const checked = validateConfig(given.config);
  const onProgress = validateOnProgress(given.onProgress);
  const maxNumReqs = validateMaxNumReqs(given.maxNumReqs);
  const stream = given.stream;
  if (typeof stream !== 'bigint' && !isStreamLike(stream)) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'options.stream',
      value: stream,
      allowed: 'a Stream from @flashgraph/cuda or a cudaStream_t handle (bigint)',
    });
  }
  // Handles 0n (legacy default stream) and 1n (cudaStreamLegacy) can never be captured.
  if (typeof stream === 'bigint' && (stream < 2n || stream >= 2n ** 64n)) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: 'options.stream',
      value: stream,
      allowed: 'a stream handle in [2n, 2n ** 64n)',
      problem: 'the legacy default stream (or not a handle), which CUDA cannot capture',
      fix: 'Pass a Stream from Stream.create() or its handle.',
    });
  }
  return new RunnerCore({
    config: given.config as GraphRunnerOptions['config'],
    checked,
    backend: cudaBackend(stream),
    onProgress,
    maxNumReqs,
  });
}
