// Checks of the builder's options: each capacity on its own (integers, int32 reach), then against
// the attention it feeds (same page size, no more requests, tokens, pages or splits than its
// workspaces hold). Everything is checked before a byte is allocated.
import { MetadataError } from './errors.js';
import type { AttentionLike, GraphConfigLike, MetadataCapacities } from './types.js';

const INT32_MAX = 2 ** 31 - 1;

function checkInt(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new MetadataError('invalid_option', path, value, `integer in [${min}, ${max}]`, 'must be an integer');
  }
  if (value < min || value > max) {
    throw new MetadataError('invalid_option', path, value, `[${min}, ${max}]`, 'out of range');
  }
  return value;
}

/** Validates capacities alone; slots and positions must stay int32. */
export function validateCapacities(caps: unknown, prefix = 'options'): MetadataCapacities {
  if (caps === null || typeof caps !== 'object') {
    throw new MetadataError('invalid_option', prefix, caps, 'an object', 'must be an options object');
  }
  const c = caps as Record<string, unknown>;
  const maxNumReqs = checkInt(`${prefix}.maxNumReqs`, c.maxNumReqs, 1, INT32_MAX - 1);
  const maxNumTokens = checkInt(`${prefix}.maxNumTokens`, c.maxNumTokens, 1, INT32_MAX);
  const blockSize = checkInt(`${prefix}.blockSize`, c.blockSize, 1, INT32_MAX);
  const numBlocks = checkInt(`${prefix}.numBlocks`, c.numBlocks, 1, INT32_MAX);
  const maxBlocksPerReq = checkInt(`${prefix}.maxBlocksPerReq`, c.maxBlocksPerReq, 1, INT32_MAX);
  // The largest slot id is numBlocks * blockSize - 1 and the largest position
  // maxBlocksPerReq * blockSize - 1; both are stored as int32.
  if (numBlocks * blockSize - 1 > INT32_MAX) {
    throw new MetadataError(
      'invalid_option',
      `${prefix}.numBlocks`,
      numBlocks,
      `<= ${Math.floor((INT32_MAX + 1) / blockSize)} for blockSize ${blockSize}`,
      'numBlocks x blockSize slots must fit in int32',
    );
  }
  if (maxBlocksPerReq * blockSize - 1 > INT32_MAX) {
    throw new MetadataError(
      'invalid_option',
      `${prefix}.maxBlocksPerReq`,
      maxBlocksPerReq,
      `<= ${Math.floor((INT32_MAX + 1) / blockSize)} for blockSize ${blockSize}`,
      'positions must fit in int32',
    );
  }
  if (maxNumReqs * maxBlocksPerReq > 2 ** 32) {
    throw new MetadataError(
      'invalid_option',
      `${prefix}.maxBlocksPerReq`,
      maxBlocksPerReq,
      `maxNumReqs x maxBlocksPerReq <= 2^32`,
      'the block table would not fit one buffer',
    );
  }
  return { maxNumReqs, maxNumTokens, blockSize, numBlocks, maxBlocksPerReq };
}

export function validateAttention(attention: unknown): AttentionLike {
  const a = attention as AttentionLike | null;
  if (
    a === null ||
    typeof a !== 'object' ||
    typeof a.schedule !== 'function' ||
    a.options === null ||
    typeof a.options !== 'object'
  ) {
    throw new MetadataError(
      'invalid_option',
      'options.attention',
      attention,
      'an Attention from @flashgraph/fa3 createAttention()',
      'must be an Attention',
    );
  }
  if (!Number.isInteger(a.smCount) || a.smCount < 1) {
    throw new MetadataError(
      'invalid_option',
      'options.attention.smCount',
      a.smCount,
      'integer >= 1',
      'the attention reports no SM count',
    );
  }
  return a;
}

export function validateGraphConfig(graphConfig: unknown): GraphConfigLike {
  const g = graphConfig as GraphConfigLike | null;
  const shape = 'a ResolvedGraphConfig from @flashgraph/config resolveGraphConfig()';
  if (g === null || typeof g !== 'object' || !Array.isArray(g.captureSizes)) {
    throw new MetadataError(
      'invalid_option',
      'options.graphConfig',
      graphConfig,
      shape,
      'must be a resolved graph config',
    );
  }
  if (typeof g.hasFullGraphs !== 'boolean') {
    throw new MetadataError('invalid_option', 'options.graphConfig.hasFullGraphs', g.hasFullGraphs, 'boolean', shape);
  }
  if (g.fullGraphsFor !== 'all' && g.fullGraphsFor !== 'uniform_decode' && g.fullGraphsFor !== 'none') {
    throw new MetadataError(
      'invalid_option',
      'options.graphConfig.fullGraphsFor',
      g.fullGraphsFor,
      "'all' | 'uniform_decode' | 'none'",
      shape,
    );
  }
  checkInt('options.graphConfig.maxNumSplits', g.maxNumSplits, 1, 256);
  checkInt('options.graphConfig.uniformDecodeQueryLen', g.uniformDecodeQueryLen, 1, INT32_MAX);
  return g;
}

/** The builder's capacities must fit inside the attention's (its workspaces are sized by them). */
export function checkFitsAttention(
  caps: MetadataCapacities,
  attention: AttentionLike,
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
  // forwardArgs passes blockTableStride as the page-table stride, which fa3 caps at maxNumPagesPerReq.
  if (caps.maxBlocksPerReq > o.maxNumPagesPerReq) {
    throw mismatch(
      'options.maxBlocksPerReq',
      caps.maxBlocksPerReq,
      `<= ${o.maxNumPagesPerReq} (attention.options.maxNumPagesPerReq)`,
      'longer block-table rows than the attention reads',
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
