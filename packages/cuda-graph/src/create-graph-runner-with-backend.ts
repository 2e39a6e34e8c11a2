// createGraphRunnerWithBackend: the runner (capture, padding, dispatch, stats) over a caller's
// CaptureBackend instead of @flashgraph/cuda, for runtimes with their own notion of a graph.
import type { ResolvedGraphConfig } from '@flashgraph/config';
import { checkOptions } from '@flashgraph/errors';
import type { CaptureBackend, ExecHandle, GraphHandle } from './capture-backend.js';
import { RunnerCore } from './runner.js';
import type { CaptureProgress, GraphRunner } from './types.js';
import { validateBackend, validateConfig, validateMaxNumReqs, validateOnProgress } from './validate.js';

export interface GraphRunnerWithBackendOptions<S, G = GraphHandle, E = ExecHandle> {
  config: ResolvedGraphConfig;
  /** Captures, instantiates and launches the graphs; its `stream` is every step's `ctx.stream`. */
  backend: CaptureBackend<S, G, E>;
  onProgress?: (event: CaptureProgress) => void;
  /** As in `GraphRunnerOptions`: caps the padded request count of a mixed batch. */
  maxNumReqs?: number;
}

const OPTION_KEYS = ['config', 'backend', 'onProgress', 'maxNumReqs'] as const;

/**
 * The same runner as `createGraphRunner`, launching through `backend`. The runner owns what it
 * gets from the backend (graphs, execs) and calls `backend.release()` once on dispose(). Throws
 * InvalidArgumentError for bad options, before any backend call.
 */
export function createGraphRunnerWithBackend<S, G = GraphHandle, E = ExecHandle>(
  options: GraphRunnerWithBackendOptions<S, G, E>,
): GraphRunner<S> {
  const given = checkOptions('options', options ?? null, OPTION_KEYS);
  const checked = validateConfig(given.config);
  const onProgress = validateOnProgress(given.onProgress);
  const maxNumReqs = validateMaxNumReqs(given.maxNumReqs);
  validateBackend(given.backend);
  return new RunnerCore<S, G, E>({
    config: given.config as ResolvedGraphConfig,
    checked,
    backend: given.backend as CaptureBackend<S, G, E>,
    onProgress,
    maxNumReqs,
  });
}
