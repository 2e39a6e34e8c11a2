// Every error the README documents, thrown for real: its class, its code and the flashgraph brand.
// The issue codes inside a ConfigError are pinned the same way (docs/errors.md lists them all).
import { type FlashgraphError, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  captureSizeIndex,
  captureSizeLookup,
  decodeGraphSizes,
  defaultCaptureSizes,
  estimateSplitWorkspaceBytes,
  padToCaptureSize,
  resolveGraphConfig,
} from '../src/index.js';

function thrown(call: () => unknown): FlashgraphError {
  try {
    call();
  } catch (error) {
    expect(isFlashgraphError(error)).toBe(true);
    return error as FlashgraphError;
  }
  throw new Error('expected a throw');
}

const context = { maxNumSeqs: 8, maxNumBatchedTokens: 64 };
const resolved = resolveGraphConfig({}, context);

describe('documented errors', () => {
  it.each<[string, () => unknown, new (...args: never[]) => FlashgraphError, string]>([
    ['resolveGraphConfig', () => resolveGraphConfig({ mode: 'x' } as never, context), ConfigError, 'invalid_config'],
    ['defaultCaptureSizes', () => defaultCaptureSizes({ maxNumSeqs: 0 } as never), ConfigError, 'invalid_config'],
    ['padToCaptureSize numTokens', () => padToCaptureSize(resolved, 0), InvalidArgumentError, 'out_of_range'],
    ['padToCaptureSize resolved', () => padToCaptureSize(null as never, 1), InvalidArgumentError, 'invalid_type'],
    ['captureSizeIndex', () => captureSizeIndex(resolved, 1.5), InvalidArgumentError, 'out_of_range'],
    ['captureSizeLookup', () => captureSizeLookup(resolved)(Number.NaN), InvalidArgumentError, 'out_of_range'],
    [
      'padToCaptureSize sizes',
      () => padToCaptureSize({ captureSizes: [2, 1] }, 1),
      InvalidArgumentError,
      'invalid_value',
    ],
    [
      'estimateSplitWorkspaceBytes',
      () => estimateSplitWorkspaceBytes({ maxNumSplits: 0, numHeadsQ: 1, maxNumTokens: 1, headDim: 1 }),
      InvalidArgumentError,
      'out_of_range',
    ],
    ['decodeGraphSizes', () => decodeGraphSizes(resolved, 0), InvalidArgumentError, 'out_of_range'],
  ])('%s', (_name, call, type, code) => {
    const error = thrown(call);
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(code);
  });

  it.each<[string, unknown, unknown]>([
    ['unknown_option', { modes: 'full' }, context],
    ['invalid_value', { numWarmups: -1 }, context],
    ['mode_conflict', { mode: 'piecewise', fullCudaGraph: true }, context],
    ['aot_required', { mode: 'full' }, { ...context, backend: { cudagraphSupport: 'always', aotScheduling: false } }],
    [
      'full_graphs_unsupported',
      { mode: 'full' },
      { ...context, backend: { cudagraphSupport: 'never', aotScheduling: true } },
    ],
    ['empty_capture_sizes', { captureSizes: [] }, context],
    ['max_capture_size_mismatch', { captureSizes: [4, 8], maxCaptureSize: 16 }, context],
    ['no_capture_size_fits', { captureSizes: [128] }, context],
    ['too_many_capture_sizes', { maxCaptureSize: 2 ** 20 }, { ...context, maxNumBatchedTokens: 2 ** 20 }],
    [
      'max_aot_batch_exceeded',
      { mode: 'full' },
      { ...context, backend: { cudagraphSupport: 'always', aotScheduling: true, maxAotBatch: 8 } },
    ],
  ])('issue code %s', (code, input, ctx) => {
    const error = thrown(() => resolveGraphConfig(input as never, ctx as never)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues.map((issue) => issue.code)).toContain(code);
  });
});
