// The capture plan `flashgraph plan` prints: a resolved graph config plus what it costs (padding
// waste over a uniform batch-size distribution, eager share, split-KV workspace).
import {
  estimateSplitWorkspaceBytes,
  fa3BackendCapability,
  type GraphConfigContext,
  type GraphConfigInput,
  padToCaptureSize,
  type ResolvedGraphConfig,
  resolveGraphConfig,
} from '@flashgraph/config';

/** The model shape that sizes the split-KV workspace. */
export interface PlanModelShape {
  numHeadsQ: number;
  headDim: number;
  /** Tokens the attention workspace is sized for; default maxNumBatchedTokens (eager steps too). */
  maxNumTokens?: number;
}

export interface PaddingStats {
  /** Batch sizes 1..maxCaptureSize, each equally likely (0 when nothing is captured). */
  batchSizes: number;
  /** Mean padding tokens per step over those batch sizes. */
  meanWasteTokens: number;
  /** Padding tokens over all replayed tokens. */
  wasteFraction: number;
  /** Largest padding of one step, and the smallest batch size that sees it. */
  worstWasteTokens: number;
  worstAt: number;
  /** Share of batch sizes 1..maxNumBatchedTokens above the max capture size (they run eagerly). */
  eagerFraction: number;
}

export interface CapturePlan {
  config: ResolvedGraphConfig;
  context: Required<GraphConfigContext>;
  padding: PaddingStats;
  splitWorkspace: { bytes: number; maxNumSplits: number; numHeadsQ: number; maxNumTokens: number; headDim: number };
}

/** Fills the context defaults so the plan shows what was assumed. */
function fullContext(context: GraphConfigContext): Required<GraphConfigContext> {
  return {
    maxNumSeqs: context.maxNumSeqs,
    maxNumBatchedTokens: context.maxNumBatchedTokens,
    uniformDecodeQueryLen: context.uniformDecodeQueryLen ?? 1,
    backend: context.backend ?? { ...fa3BackendCapability },
    supportsPiecewise: context.supportsPiecewise ?? true,
  };
}

/** Padding of every batch size 1..max under the config's table (exact, no sampling). */
export function paddingStats(config: ResolvedGraphConfig, maxNumBatchedTokens: number): PaddingStats {
  const max = config.maxCaptureSize;
  let waste = 0;
  let replayed = 0;
  let worstWasteTokens = 0;
  let worstAt = 0;
  for (let n = 1; n <= max; n++) {
    const padded = padToCaptureSize(config, n)!;
    waste += padded - n;
    replayed += padded;
    if (padded - n > worstWasteTokens) {
      worstWasteTokens = padded - n;
      worstAt = n;
    }
  }
  return {
    batchSizes: max,
    meanWasteTokens: max === 0 ? 0 : waste / max,
    wasteFraction: replayed === 0 ? 0 : waste / replayed,
    worstWasteTokens,
    worstAt,
    eagerFraction: Math.max(0, maxNumBatchedTokens - max) / maxNumBatchedTokens,
  };
}

/**
 * Resolves `input` against `context` (throws the library's ConfigError) and computes what the
 * plan costs. `shape` errors are TypeError/RangeError from estimateSplitWorkspaceBytes.
 */
export function buildCapturePlan(
  input: GraphConfigInput,
  context: GraphConfigContext,
  shape: PlanModelShape,
): CapturePlan {
  const config = resolveGraphConfig(input, context);
  const full = fullContext(context);
  const maxNumTokens = shape.maxNumTokens ?? full.maxNumBatchedTokens;
  const split = { maxNumSplits: config.maxNumSplits, numHeadsQ: shape.numHeadsQ, maxNumTokens, headDim: shape.headDim };
  return {
    config,
    context: full,
    padding: paddingStats(config, full.maxNumBatchedTokens),
    splitWorkspace: { bytes: estimateSplitWorkspaceBytes(split), ...split },
  };
}

/** 4328521728 -> "4.03 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[unit]}`;
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

function wrapNumbers(numbers: readonly number[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const n of numbers) {
    const next = line === '' ? String(n) : `${line} ${n}`;
    if (indent.length + next.length > width && line !== '') {
      lines.push(indent + line);
      line = String(n);
    } else {
      line = next;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

const row = (label: string, value: string) => `  ${label.padEnd(24)}${value}`;

function describeFullGraphs(config: ResolvedGraphConfig): string {
  if (config.fullGraphsFor === 'all') {
    return `every batch up to ${config.maxCaptureSize} tokens (uniform decode batches on graphs of their own)`;
  }
  if (config.fullGraphsFor === 'uniform_decode') {
    return `uniform decode batches (${config.uniformDecodeQueryLen} query token${config.uniformDecodeQueryLen === 1 ? '' : 's'} per request)`;
  }
  return 'none';
}

/** The human-readable plan. */
export function formatCapturePlan(plan: CapturePlan): string {
  const { config, context, padding, splitWorkspace: split } = plan;
  const backend = context.backend;
  const out: string[] = ['flashgraph plan: CUDA graph capture plan', ''];
  out.push('context');
  out.push(row('maxNumSeqs', String(context.maxNumSeqs)));
  out.push(row('maxNumBatchedTokens', String(context.maxNumBatchedTokens)));
  out.push(row('uniformDecodeQueryLen', String(context.uniformDecodeQueryLen)));
  out.push(
    row(
      'backend',
      `cudagraphSupport '${backend.cudagraphSupport}', AoT scheduling ${backend.aotScheduling ? 'yes' : 'no'}, ` +
        `maxAotBatch ${backend.maxAotBatch ?? 'none'}`,
    ),
  );
  out.push(row('piecewise capture', context.supportsPiecewise ? 'supported' : 'not supported'));
  out.push('');
  const requested = config.requestedMode === config.mode ? '' : ` (requested '${config.requestedMode}')`;
  out.push(`mode                      ${config.mode}${requested}`);
  out.push(row('full graphs', describeFullGraphs(config)));
  out.push(
    row('piecewise graphs', config.piecewise ? 'other batches up to the max (attention eager between graphs)' : 'none'),
  );
  out.push('');
  if (config.warnings.length === 0) {
    out.push('warnings                  none');
  } else {
    out.push(`warnings (${config.warnings.length})`);
    for (const warning of config.warnings) out.push(`  - ${warning.path}: ${warning.message} [${warning.code}]`);
  }
  out.push('');
  if (config.captureSizes.length === 0) {
    out.push('capture sizes             none: every step runs eagerly');
  } else {
    const count = config.captureSizes.length;
    out.push(
      `capture sizes             ${count} size${count === 1 ? '' : 's'}, 1..${config.maxCaptureSize} tokens, ` +
        `${config.numWarmups} warm-up run${config.numWarmups === 1 ? '' : 's'} each before capture`,
    );
    out.push(...wrapNumbers(config.captureSizes, '  '));
    if (config.maxCaptureSize < context.maxNumBatchedTokens) {
      out.push(
        `  steps of ${config.maxCaptureSize + 1}..${context.maxNumBatchedTokens} tokens run eagerly ` +
          `(${percent(padding.eagerFraction)} of batch sizes 1..${context.maxNumBatchedTokens})`,
      );
    }
    out.push('');
    out.push(`padding (batch sizes 1..${config.maxCaptureSize}, uniformly distributed)`);
    out.push(
      row(
        'mean waste',
        `${padding.meanWasteTokens.toFixed(2)} tokens per step (${percent(padding.wasteFraction)} of replayed tokens)`,
      ),
    );
    out.push(
      row(
        'worst step',
        padding.worstWasteTokens === 0
          ? 'no padding'
          : `${padding.worstWasteTokens} tokens (${padding.worstAt} -> ${padToCaptureSize(config, padding.worstAt)})`,
      ),
    );
  }
  out.push('');
  out.push(`split-KV workspace        ${formatBytes(split.bytes)} (${split.bytes} bytes)`);
  out.push(
    `  4 B x ${split.maxNumSplits} splits x ${split.numHeadsQ} query heads x ${split.maxNumTokens} tokens x ` +
      `(head dim ${split.headDim} + 1): fp32 partial outputs and LSE`,
  );
  return out.join('\n');
}

/** `--json`: the resolved config itself, plus the plan's numbers under `plan`. */
export function capturePlanJson(plan: CapturePlan): Record<string, unknown> {
  return {
    ...plan.config,
    plan: { context: plan.context, padding: plan.padding, splitWorkspace: plan.splitWorkspace },
  };
}
