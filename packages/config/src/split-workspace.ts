// The fp32 scratch split-KV attention needs: partial outputs (D floats) and LSE (1 float) for every
// split of every query head of every token, so users see what the maxNumSplits bound costs.
import { MAX_NUM_SPLITS_LIMIT } from './schema.js';
import type { SplitWorkspaceShape } from './types.js';

const FIELDS = ['maxNumSplits', 'numHeadsQ', 'maxNumTokens', 'headDim'] as const;

/** 4 x maxNumSplits x numHeadsQ x maxNumTokens x (headDim + 1) bytes. */
export function estimateSplitWorkspaceBytes(shape: SplitWorkspaceShape): number {
  if (shape === null || typeof shape !== 'object') {
    throw new TypeError('estimateSplitWorkspaceBytes: expected { maxNumSplits, numHeadsQ, maxNumTokens, headDim }');
  }
  for (const field of FIELDS) {
    const value: unknown = shape[field];
    if (typeof value !== 'number') {
      throw new TypeError(`estimateSplitWorkspaceBytes: ${field} must be a number, got ${typeof value}`);
    }
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`estimateSplitWorkspaceBytes: ${field} must be a positive safe integer, got ${value}`);
    }
  }
  if (shape.maxNumSplits > MAX_NUM_SPLITS_LIMIT) {
    throw new RangeError(
      `estimateSplitWorkspaceBytes: maxNumSplits must be an integer from 1 to ${MAX_NUM_SPLITS_LIMIT}, got ${shape.maxNumSplits}`,
    );
  }
  const bytes = 4 * shape.maxNumSplits * shape.numHeadsQ * shape.maxNumTokens * (shape.headDim + 1);
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(
      `estimateSplitWorkspaceBytes: ${bytes} bytes is beyond the safe integer range; the shape is too large`,
    );
  }
  return bytes;
}
