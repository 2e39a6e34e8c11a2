// From the requested mode to the one the backend and runtime can run: the legacy flag, the AoT
// requirement, and vLLM-style capability downgrades (each a warning naming capability and mode).
import { hasFullDecodeGraphs, modeProperties } from './mode-properties.js';
import type { BackendCapability, ConfigIssue, ConfigWarning, GraphMode } from './types.js';

export const DEFAULT_MODE: GraphMode = 'full_and_piecewise';

export interface ModeRequest {
  mode: GraphMode;
  /** Where the mode came from; errors and warnings point there. */
  source: 'mode' | 'fullCudaGraph' | 'default';
}

/** Reads `mode` and the deprecated `fullCudaGraph`; `undefined` when they contradict. */
export function requestedMode(
  input: { mode?: GraphMode | undefined; fullCudaGraph?: boolean | undefined },
  issues: ConfigIssue[],
  warnings: ConfigWarning[],
): ModeRequest | undefined {
  const { mode, fullCudaGraph } = input;
  if (fullCudaGraph === undefined) {
    return mode === undefined ? { mode: DEFAULT_MODE, source: 'default' } : { mode, source: 'mode' };
  }
  const legacy: GraphMode = fullCudaGraph ? 'full' : 'piecewise';
  warnings.push({
    code: 'deprecated_option',
    path: 'fullCudaGraph',
    message: fullCudaGraph
      ? "fullCudaGraph is deprecated: use mode: 'full'"
      : "fullCudaGraph is deprecated: use mode: 'piecewise' (or another mode without full graphs)",
  });
  if (mode === undefined) return { mode: legacy, source: 'fullCudaGraph' };
  const contradicts = fullCudaGraph ? mode !== 'full' : modeProperties(mode).hasFullGraphs;
  if (!contradicts) return { mode, source: 'mode' };
  issues.push({
    code: 'mode_conflict',
    path: 'fullCudaGraph',
    value: fullCudaGraph,
    rule: fullCudaGraph
      ? `fullCudaGraph: true means mode 'full', which contradicts mode '${mode}'`
      : `fullCudaGraph: false means no full graphs, which contradicts mode '${mode}'`,
    fix: `remove fullCudaGraph (deprecated); mode '${mode}' alone says what to capture`,
  });
  return undefined;
}

export interface ModeContext {
  backend: BackendCapability;
  uniformDecodeQueryLen: number;
  supportsPiecewise: boolean;
}

/** The mode that will run, or `undefined` (with issues) when the request cannot be met. */
export function resolveMode(
  request: ModeRequest,
  context: ModeContext,
  issues: ConfigIssue[],
  warnings: ConfigWarning[],
): GraphMode | undefined {
  const { backend, uniformDecodeQueryLen: k, supportsPiecewise } = context;
  const support = backend.cudagraphSupport;
  const path = request.source === 'fullCudaGraph' ? 'fullCudaGraph' : 'mode';
  // The value as the user wrote it: `fullCudaGraph: true` or the mode string.
  const value = request.source === 'fullCudaGraph' ? request.mode === 'full' : request.mode;
  const eagerFallback: GraphMode = supportsPiecewise ? 'piecewise' : 'none';
  let mode = request.mode;
  const downgrade = (to: GraphMode, message: string) => {
    warnings.push({ code: 'mode_downgraded', path, message });
    mode = to;
  };

  let failed = false;
  if (mode === 'full' && !backend.aotScheduling) {
    failed = true;
    issues.push({
      code: 'aot_required',
      path,
      value,
      rule:
        "mode 'full' needs AoT scheduling (attention metadata planned on the device inside the graph, " +
        'so one graph serves any batch), but the backend declares aotScheduling: false',
      fix: "use mode 'full_and_piecewise' (full graphs for uniform decode batches) or 'piecewise', or a backend with AoT scheduling",
    });
  }
  if (support === 'never' && modeProperties(mode).hasFullGraphs) {
    if (request.source === 'default') {
      downgrade(
        eagerFallback,
        `the default mode '${mode}' captures full graphs, but the backend declares cudagraphSupport 'never'; using '${eagerFallback}'`,
      );
    } else {
      failed = true;
      issues.push({
        code: 'full_graphs_unsupported',
        path,
        value,
        rule: `mode '${mode}' captures full graphs, but the backend declares cudagraphSupport 'never'`,
        fix: supportsPiecewise
          ? "use mode 'piecewise' (graphs between attention calls, attention eager) or 'none'"
          : "use mode 'none' (the runtime declares supportsPiecewise: false)",
      });
    }
  }
  if (failed) return undefined;

  if (mode === 'full' && support !== 'always') {
    const to: GraphMode = supportsPiecewise ? 'full_and_piecewise' : 'full_decode_only';
    downgrade(
      to,
      `mode 'full' needs cudagraphSupport 'always' (full graphs for mixed prefill/decode batches), ` +
        `but the backend declares '${support}'; using '${to}': full graphs for uniform decode batches, ` +
        (supportsPiecewise ? 'piecewise graphs for the rest' : 'the rest runs eagerly'),
    );
  }
  if (hasFullDecodeGraphs(mode) && k > 1 && support === 'uniform_single_token_decode') {
    downgrade(
      eagerFallback,
      `mode '${mode}' captures full graphs of decode batches with ${k} query tokens per request ` +
        `(uniformDecodeQueryLen ${k}), but the backend declares cudagraphSupport 'uniform_single_token_decode'; ` +
        `using '${eagerFallback}'`,
    );
  }
  if (!supportsPiecewise && modeProperties(mode).piecewise) {
    const to: GraphMode = mode === 'full_and_piecewise' ? 'full_decode_only' : 'none';
    downgrade(
      to,
      `mode '${mode}' captures piecewise graphs, but the runtime declares supportsPiecewise: false; using '${to}'`,
    );
  }
  return mode;
}
