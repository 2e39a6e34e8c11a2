// createGraphRunnerWithBackend: the runner (capture, padding, dispatch, stats) over a caller's
// CaptureBackend instead of @flashgraph/cuda, for runtimes with their own notion of a graph.
import type { ResolvedGraphConfig } from '@flashgraph/config';
import type { CaptureBackend } from './capture-backend.js';
import { RunnerCore } from './runner.js';
import type { CaptureProgress, GraphRunner } from './types.js';
import { validateBackend, validateConfig, validateMaxNumReqs, validateOnProgress } from './validate.js';

export interface GraphRunnerWithBackendOptions<S> {
  config: ResolvedGraphConfig;
  /** Captures, instantiates and launches the graphs; its `stream` is every step's `ctx.stream`. */
  backend: CaptureBackend<S>;
  onProgress?: (event: CaptureProgress) => void;
  /** As in `GraphRunnerOptions`: caps the padded request count of a mixed batch. */
  maxNumReqs?: number;
}

/**
 * The same runner as `createGraphRunner`, launching through `backend`. The runner owns what it
 * gets from the backend (graphs, execs) and calls `backend.release()` once on dispose(). Throws
 * TypeError/RangeError for bad options, before any backend call.
 */
export function createGraphRunnerWithBackend<S>(options: GraphRunnerWithBackendOptions<S>): GraphRunner<S> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `createGraphRunnerWithBackend: options must be { config, backend, onProgress?, maxNumReqs? }, got ${options === null ? 'null' : typeof options}`,
    );
  }
  validateConfig(options.config);
  validateOnProgress(options.onProgress);
  const maxNumReqs = validateMaxNumReqs(options.maxNumReqs);
  validateBackend(options.backend);
  return new RunnerCore({
    config: options.config,
    backend: options.backend,
    onProgress: options.onProgress,
    maxNumReqs,
  });
}
