// describe(metadata): a plain, JSON-friendly summary of a step for logs and debugging, including
// the split count per request that the scheduler will compute (fa3's planSplits, bit-identical
// to the prepare kernel) from the host mirror.
import { DEFAULT_SM_COUNT, planSplits } from '@flashgraph/fa3/reference';
import { MetadataError } from './errors.js';
import { metadataRecord } from './metadata-registry.js';
import type { AttentionMetadata } from './types.js';

export interface MetadataDescription {
  numReqs: number;
  numPaddedReqs: number;
  numActualTokens: number;
  numPaddedTokens: number;
  /** Padded token rows, and their share of the step's rows (0..1). */
  paddingTokens: number;
  paddingFraction: number;
  paddingReqs: number;
  maxQueryLen: number;
  maxSeqLen: number;
  uniformDecode: boolean;
  fullGraph: boolean;
  /** The per-step split request passed to schedule and forward (0 = heuristic). */
  numSplits: number;
  /** The bound the attention resolves it to (1..the attention's maxNumSplits capacity). */
  numSplitsBound: number;
  /** Splits per real request. */
  splitsPerRequest: number[];
  /** Work tiles of the step (padded requests have none). */
  totalTiles: number;
  /** Bytes of the step copy (0 for metadata from `stage`). */
  copyBytes: number;
}

/**
 * Describes the latest metadata of a builder (CUDA or host). Throws `invalid_metadata` for an
 * object no builder returned (or a host builder created without `attention`), `stale_metadata`
 * once a later step overwrote its data.
 */
export function describe(metadata: AttentionMetadata<unknown>): MetadataDescription {
  const record = metadata !== null && typeof metadata === 'object' ? metadataRecord(metadata) : undefined;
  if (record === undefined) {
    throw new MetadataError(
      'invalid_metadata',
      'metadata',
      metadata,
      'an AttentionMetadata returned by build() or stage()',
      'unknown metadata',
    );
  }
  const { source, copyBytes } = record;
  if (source.latest() !== metadata) {
    throw new MetadataError(
      'stale_metadata',
      'metadata',
      'an earlier step',
      "the builder's latest metadata",
      'a later build() or stage() has overwritten this step; call describe() before the next build',
    );
  }
  const attention = source.attention;
  if (attention === undefined) {
    throw new MetadataError(
      'invalid_metadata',
      'metadata',
      'metadata of a host builder without attention',
      'metadata of a builder that knows its attention',
      'describe plans the splits of the attention the metadata feeds',
      'Pass `attention` (an Attention, or { options, smCount? }) to createHostMetadataBuilder.',
    );
  }
  const m = metadata;
  const o = attention.options;
  const plan = planSplits({
    cuSeqlensQ: source.host.queryStartLoc.subarray(0, m.numPaddedReqs + 1),
    seqLens: source.host.seqLens.subarray(0, m.numPaddedReqs),
    numReqs: m.numPaddedReqs,
    numHeadsQ: o.numHeadsQ,
    numHeadsKv: o.numHeadsKv,
    headDim: o.headDim,
    maxNumSplits: o.maxNumSplits,
    numSplits: m.numSplits,
    maxSeqlenQ: m.maxSeqlenQ,
    maxSeqlenK: m.maxSeqlenK,
    smCount: attention.smCount ?? DEFAULT_SM_COUNT,
  });
  const paddingTokens = m.numPaddedTokens - m.numActualTokens;
  return {
    numReqs: m.numReqs,
    numPaddedReqs: m.numPaddedReqs,
    numActualTokens: m.numActualTokens,
    numPaddedTokens: m.numPaddedTokens,
    paddingTokens,
    paddingFraction: m.numPaddedTokens === 0 ? 0 : paddingTokens / m.numPaddedTokens,
    paddingReqs: m.numPaddedReqs - m.numReqs,
    maxQueryLen: m.maxQueryLen,
    maxSeqLen: m.maxSeqLen,
    uniformDecode: m.uniformDecode,
    fullGraph: m.fullGraph,
    numSplits: m.numSplits,
    numSplitsBound: plan.numSplitsBound,
    splitsPerRequest: Array.from(plan.splits.subarray(0, m.numReqs)),
    totalTiles: plan.totalTiles,
    copyBytes,
  };
}
