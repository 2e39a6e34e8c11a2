// The fp32 scratch split-KV attention needs: partial outputs (D floats) and LSE (1 float) for every
// split of every query head of every token, so users see what the maxNumSplits bound costs.
import { checkInt, checkObject, INT32_MAX, InvalidArgumentError } from '@flashgraph/errors';
import { MAX_NUM_SPLITS_LIMIT } from './schema.js';
import type { SplitWorkspaceShape } from './types.js';

/** 4 x maxNumSplits x numHeadsQ x maxNumTokens x (headDim + 1) bytes. */
export function estimateSplitWorkspaceBytes(shape: SplitWorkspaceShape): number {
  const given = checkObject('shape', shape);
  const maxNumSplits = checkInt('shape.maxNumSplits', given.maxNumSplits, { min: 1, max: MAX_NUM_SPLITS_LIMIT });
  const numHeadsQ = checkInt('shape.numHeadsQ', given.numHeadsQ, { min: 1, max: INT32_MAX });
  const maxNumTokens = checkInt('shape.maxNumTokens', given.maxNumTokens, { min: 1, max: INT32_MAX });
  const headDim = checkInt('shape.headDim', given.headDim, { min: 1, max: INT32_MAX });
  const bytes = 4 * maxNumSplits * numHeadsQ * maxNumTokens * (headDim + 1);
  if (!Number.isSafeInteger(bytes)) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: 'shape',
      value: bytes,
      allowed: `a workspace of at most ${Number.MAX_SAFE_INTEGER} bytes`,
      problem: 'the workspace size is beyond the safe integer range',
      fix: 'Lower maxNumTokens, numHeadsQ or maxNumSplits.',
    });
  }
  return bytes;
}
