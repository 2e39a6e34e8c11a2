// The step rule, in one place for the host and the CUDA builders: from a written step and the
// graph config's route (the graph runner's decision), whether the step runs inside a full graph,
// the split bound both `schedule` and `forward` get, and the max lengths the kernels receive.
import type { HostStep } from './host-mirror.js';
import { fullGraphOf, type StepRoute, stepNumSplits } from './split-bound.js';
import type { AttentionMetadata, GraphConfigLike } from './types.js';

/** Every field of AttentionMetadata except the buffers. */
export type StepFields = Omit<
  AttentionMetadata,
  'queryStartLoc' | 'seqLens' | 'blockTable' | 'slotMapping' | 'positions'
>;

/**
 * `decodeGraph` was checked by the host write (a boolean or undefined; true only for uniform
 * decode). `maxSeqLenBound` is maxBlocksPerReq x blockSize.
 */
export function stepFields(
  step: HostStep,
  g: GraphConfigLike,
  route: StepRoute,
  decodeGraph: boolean | undefined,
  maxSeqLenBound: number,
  blockTableStride: number,
): StepFields {
  // The caller knows which graph this step feeds (the runner's `decodeGraph`); the content does
  // not (a mixed graph's capture batch is N one-token requests too), so the content decides only
  // when the caller does not say. The route is the config's decision, the one the runner follows.
  const stepRoute =
    step.numPaddedTokens < 1 ? undefined : route(step.numPaddedTokens, decodeGraph ?? step.uniformDecode);
  const fullGraph = stepRoute !== undefined && fullGraphOf(stepRoute, step.numPaddedTokens);
  // In a full graph the kernels get bounds valid for every batch replayed at this padded size:
  // the decode query length in a graph only uniform decode batches replay, else the token count.
  const decodeOnly = decodeGraph ?? stepRoute?.decodeGraph === true;
  const maxSeqlenQ = !fullGraph
    ? step.maxQueryLen
    : decodeOnly
      ? Math.min(g.uniformDecodeQueryLen, step.numPaddedTokens)
      : step.numPaddedTokens;
  return {
    numActualTokens: step.numActualTokens,
    numReqs: step.numReqs,
    numPaddedTokens: step.numPaddedTokens,
    numPaddedReqs: step.numPaddedReqs,
    maxQueryLen: step.maxQueryLen,
    maxSeqLen: step.maxSeqLen,
    maxSeqlenQ,
    maxSeqlenK: fullGraph ? maxSeqLenBound : step.maxSeqLen,
    uniformDecode: step.uniformDecode,
    fullGraph,
    numSplits: stepNumSplits(g, fullGraph),
    blockTableStride,
  };
}
