// Checks of the constructors' options: each capacity on its own (integers, bounds the host
// memory can honour, int32 reach), then against the attention it feeds (same page size, no more
// requests, tokens, pages or splits than its workspaces hold). Everything is checked before a byte
// is allocated. Option errors come from the shared kit (InvalidArgumentError); a capacity that
// does not fit the attention is a MetadataError `capacity_mismatch`.
import {
  checkArray,
  checkBoolean,
  checkFunction,
  checkInt,
  checkObject,
  checkOneOf,
  INT32_MAX,
} from '@flashgraph/errors';
import { MAX_NUM_SPLITS, MAX_SM_COUNT } from '@flashgraph/fa3/reference';
import { MetadataError } from './errors.js';
import type { AttentionLike, AttentionShape, GraphConfigLike, MetadataCapacities } from './types.js';

/**
 * Host-memory bounds, so that every typed array a mirror allocates has a length V8 accepts and
 * the memory a caller asks for is stated up front: requests index a per-request table, tokens a
 * per-token one, and the block table (staged twice: the row store and the staging copy) is at most
 * 2^27 int32 (512 MiB) each.
 */
export const MAX_NUM_REQS = 1 << 20;
export const MAX_NUM_TOKENS = 1 << 24;
export const MAX_BLOCK_SIZE = 1 << 16;
export const MAX_BLOCK_TABLE_ENTRIES = 1 << 27;

/** Capture sizes a graph config may list (far above any real config: one per 16 tokens up to 2^24). */
const MAX_CAPTURE_SIZES = 1 << 20;

/** SM counts the scheduler accepts (`smCount` of planSplits and the addon). */
export const SM_COUNT_RANGE = { min: 1, max: MAX_SM_COUNT } as const;

/** The capacity options, in the order they are checked. */
export const CAPACITY_KEYS = ['maxNumReqs', 'maxNumTokens', 'blockSize', 'numBlocks', 'maxBlocksPerReq'] as const;

/** Validates capacities alone (own properties only); slots and positions must stay int32. */
export function validateCapacities(caps: unknown, prefix = 'options'): MetadataCapacities {
  const c = checkObject(prefix, caps);
  const maxNumReqs = checkInt(`${prefix}.maxNumReqs`, c.maxNumReqs, { min: 1, max: MAX_NUM_REQS });
  const maxNumTokens = checkInt(`${prefix}.maxNumTokens`, c.maxNumTokens, { min: 1, max: MAX_NUM_TOKENS });
  const blockSize = checkInt(`${prefix}.blockSize`, c.blockSize, { min: 1, max: MAX_BLOCK_SIZE });
  // The largest slot id is numBlocks x blockSize - 1 and the largest position
  // maxBlocksPerReq x blockSize - 1; both are stored as int32.
  const perBlockSize = Math.floor((INT32_MAX + 1) / blockSize);
  const numBlocks = checkInt(`${prefix}.numBlocks`, c.numBlocks, { min: 1, max: perBlockSize });
  const maxBlocksPerReq = checkInt(`${prefix}.maxBlocksPerReq`, c.maxBlocksPerReq, {
    min: 1,
    max: Math.min(perBlockSize, Math.floor(MAX_BLOCK_TABLE_ENTRIES / maxNumReqs)),
  });
  return { maxNumReqs, maxNumTokens, blockSize, numBlocks, maxBlocksPerReq };
}

/** A positive int32 query length of a uniform decode step (1 + speculative tokens). */
export function validateUniformDecodeQueryLen(path: string, value: unknown): number {
  return checkInt(path, value, { min: 1, max: MAX_NUM_TOKENS });
}

const ATTENTION_CAPACITY_KEYS = [
  'numHeadsQ',
  'numHeadsKv',
  'headDim',
  'pageSize',
  'numPages',
  'maxNumReqs',
  'maxNumTokens',
  'maxNumPagesPerReq',
  'maxNumSplits',
] as const;

/**
 * An attention (`schedule` required: the CUDA builder launches it) or an attention shape
 * (`schedule` not needed: the host builder only checks against it and describes splits).
 */
export function validateAttention(attention: unknown, needsSchedule: true): AttentionLike;
export function validateAttention(attention: unknown, needsSchedule: false): AttentionShape;
export function validateAttention(attention: unknown, needsSchedule: boolean): AttentionShape {
  // An attention is an implementation (fa3's Attention is a class instance whose schedule() and
  // smCount live on its prototype), not an options bag: read its members through the prototype
  // chain, after checking that it is an object.
  checkObject('options.attention', attention);
  const a = attention as Record<string, unknown>;
  if (needsSchedule) checkFunction('options.attention.schedule', a.schedule);
  const o = checkObject('options.attention.options', a.options);
  for (const key of ATTENTION_CAPACITY_KEYS) {
    checkInt(`options.attention.options.${key}`, o[key], { min: 1, max: INT32_MAX });
  }
  if (needsSchedule || a.smCount !== undefined) checkInt('options.attention.smCount', a.smCount, SM_COUNT_RANGE);
  return attention as AttentionShape;
}

export function validateGraphConfig(graphConfig: unknown, path = 'options.graphConfig'): GraphConfigLike {
  const g = checkObject(path, graphConfig);
  const sizes = checkArray(`${path}.captureSizes`, g.captureSizes, { maxLength: MAX_CAPTURE_SIZES });
  // Ascending positive integers, as resolveGraphConfig returns them (padToCaptureSize relies on it).
  let previous = 0;
  for (let i = 0; i < sizes.length; i++) {
    const size = checkInt(`${path}.captureSizes[${i}]`, sizes[i], { min: previous + 1, max: INT32_MAX });
    previous = size;
  }
  checkBoolean(`${path}.hasFullGraphs`, g.hasFullGraphs);
  checkOneOf(`${path}.fullGraphsFor`, g.fullGraphsFor, ['all', 'uniform_decode', 'none'] as const);
  checkInt(`${path}.maxNumSplits`, g.maxNumSplits, { min: 1, max: MAX_NUM_SPLITS });
  checkInt(`${path}.maxCaptureSize`, g.maxCaptureSize, { min: 0, max: INT32_MAX });
  checkBoolean(`${path}.piecewise`, g.piecewise);
  checkInt(`${path}.maxNumSeqs`, g.maxNumSeqs, { min: 1, max: INT32_MAX });
  validateUniformDecodeQueryLen(`${path}.uniformDecodeQueryLen`, g.uniformDecodeQueryLen);
  return graphConfig as GraphConfigLike;
}

/** The builder's capacities must fit inside the attention's (its workspaces are sized by them). */
export function checkFitsAttention(
  caps: MetadataCapacities,
  attention: AttentionShape,
  graphConfig: GraphConfigLike,
): void {
  const o = attention.options;
  const mismatch = (path: string, value: number, allowed: string, detail: string) =>
    new MetadataError('capacity_mismatch', path, value, allowed, detail);
  if (caps.blockSize !== o.pageSize) {
    throw mismatch(
      'options.blockSize',
      caps.blockSize,
      `${o.pageSize} (attention.options.pageSize)`,
      'the KV block size must equal the attention page size',
    );
  }
  if (caps.numBlocks > o.numPages) {
    throw mismatch(
      'options.numBlocks',
      caps.numBlocks,
      `<= ${o.numPages} (attention.options.numPages)`,
      'block ids must be pages of the attention KV cache',
    );
  }
  if (caps.maxNumReqs > o.maxNumReqs) {
    throw mismatch(
      'options.maxNumReqs',
      caps.maxNumReqs,
      `<= ${o.maxNumReqs} (attention.options.maxNumReqs)`,
      'more requests than the attention schedules',
    );
  }
  if (caps.maxNumTokens > o.maxNumTokens) {
    throw mismatch(
      'options.maxNumTokens',
      caps.maxNumTokens,
      `<= ${o.maxNumTokens} (attention.options.maxNumTokens)`,
      'more tokens than the attention workspace holds',
    );
  }
  // forwardArgs passes blockTableStride (= maxBlocksPerReq) as fa3's pageTableStride, which must be
  // at least maxNumPagesPerReq; and a full graph's maxSeqlenK (maxBlocksPerReq x blockSize) must
  // stay within maxNumPagesPerReq x pageSize. Only equality satisfies both: any other value passes
  // creation and then fails every forward.
  if (caps.maxBlocksPerReq !== o.maxNumPagesPerReq) {
    throw mismatch(
      'options.maxBlocksPerReq',
      caps.maxBlocksPerReq,
      `${o.maxNumPagesPerReq} (attention.options.maxNumPagesPerReq)`,
      caps.maxBlocksPerReq > o.maxNumPagesPerReq
        ? 'longer block-table rows than the attention reads'
        : 'block-table rows shorter than the page-table stride the attention reads',
    );
  }
  if (graphConfig.hasFullGraphs && graphConfig.maxNumSplits > o.maxNumSplits) {
    throw mismatch(
      'options.graphConfig.maxNumSplits',
      graphConfig.maxNumSplits,
      `<= ${o.maxNumSplits} (attention.options.maxNumSplits)`,
      'full-graph steps pass this split bound to the attention, whose split workspace is smaller; create the attention with maxNumSplits >= graphConfig.maxNumSplits',
    );
  }
}
