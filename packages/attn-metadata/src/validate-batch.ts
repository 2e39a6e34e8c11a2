// Checks a step's batch against the capacities before anything is written: a rejected batch leaves
// the staging memory (and so the device) exactly as the previous step left it. One read pass over
// the request objects; what it reads is kept (per-request snapshots), so the writer never reads a
// request again: a getter or proxy cannot hand the writer a value validation did not see.

import { FlashgraphError, INT32_MAX } from '@flashgraph/errors';
import { type BlockIdRangeCheck, createBlockIdRangeCheck } from './block-id-range-check.js';
import type { BlockTableRowStore } from './block-table-rows.js';
import { MetadataError } from './errors.js';
import type { MetadataCapacities } from './types.js';

/** What validation learns about a batch (one reused object per mirror: no per-step allocation). */
export interface BatchSummary {
  numReqs: number;
  numActualTokens: number;
  maxQueryLen: number;
  maxSeqLen: number;
  uniformDecode: boolean;
  /** Per request [maxNumReqs]: the validated numNewTokens, numComputedTokens and blockIds. */
  readonly newTokens: Int32Array;
  readonly computedTokens: Int32Array;
  readonly blockIds: (ArrayLike<number> | undefined)[];
  /** Per request [maxNumReqs]: the block-table row of a row request, -1 for a blockIds request. */
  readonly rowOf: Int32Array;
  /** blockIds[0, blockIdsExtent) may hold references (cleared by the writer past the batch). */
  blockIdsExtent: number;
  /** The bulk range check of Int32Array block ids. */
  readonly rangeCheck: BlockIdRangeCheck;
}

export function newBatchSummary(caps: MetadataCapacities, rangeCheckKind?: 'wasm' | 'js'): BatchSummary {
  const R = caps.maxNumReqs;
  return {
    numReqs: 0,
    numActualTokens: 0,
    maxQueryLen: 0,
    maxSeqLen: 0,
    uniformDecode: false,
    newTokens: new Int32Array(R),
    computedTokens: new Int32Array(R),
    blockIds: new Array<ArrayLike<number> | undefined>(R).fill(undefined),
    rowOf: new Int32Array(R).fill(-1),
    blockIdsExtent: 0,
    rangeCheck: createBlockIdRangeCheck(caps.numBlocks, caps.maxBlocksPerReq, rangeCheckKind),
  };
}

/**
 * A real array or typed array (never a bare `{ length }` object): its length is then a
 * non-negative safe integer that cannot change between the check and the write.
 */
export function isIdArray(value: unknown): value is ArrayLike<unknown> {
  if (Array.isArray(value)) return true;
  // DataView has no length; bigint elements cannot be ids (and `|` on them throws).
  return (
    ArrayBuffer.isView(value) &&
    !(value instanceof DataView || value instanceof BigInt64Array || value instanceof BigUint64Array)
  );
}

/** An internal invariant broke (a bug in this package, never the caller's input). */
export function internalError(what: string): FlashgraphError {
  return new FlashgraphError({
    code: 'internal_error',
    problem: `attn-metadata internal error: ${what}`,
    fix: 'Please report this with the batch that caused it.',
  });
}

/** Checks a request count field; the error path is only built when the check fails. */
function checkCount(i: number, field: string, value: unknown): number {
  // The common case in one test: a number equal to its int32 conversion and not negative.
  if (typeof value === 'number' && (value | 0) === value && value >= 0) return value;
  return countError(i, field, value);
}

function countError(i: number, field: string, value: unknown): never {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new MetadataError(
      'not_integer',
      `requests[${i}].${field}`,
      value,
      `integer in [0, ${INT32_MAX}]`,
      'must be an integer',
    );
  }
  if (value < 0 || value > INT32_MAX) {
    throw new MetadataError(
      'out_of_range',
      `requests[${i}].${field}`,
      value,
      `[0, ${INT32_MAX}]`,
      value < 0 ? 'must be >= 0' : 'too large',
    );
  }
  throw internalError(`${field} ${value} passed its checks`);
}

function badBlockId(i: number, j: number, b: unknown, numBlocks: number): MetadataError {
  const code = Number.isInteger(b) || b === Infinity || b === -Infinity ? 'invalid_block_id' : 'not_integer';
  return new MetadataError(
    code,
    `requests[${i}].blockIds[${j}]`,
    b,
    `integer in [0, ${numBlocks}) (numBlocks)`,
    'block id outside the KV cache',
  );
}

/** Every id in [0, numBlocks) and an integer; returns the index of the first bad one, or -1. */
function firstBadBlockId(ids: ArrayLike<number>, n: number, numBlocks: number): number {
  // (b | 0) === b is false for fractions, NaN, holes, strings and values outside int32.
  for (let j = 0; j < n; j++) {
    const b = ids[j] as number;
    if (!(b >= 0 && b < numBlocks && (b | 0) === b)) return j;
  }
  return -1;
}

/**
 * Int32Array block ids go through the bulk range check, which only says whether some id is bad:
 * this scan of requests [0, end) finds the first one, in request order, and throws its error.
 */
function throwFirstBadInt32BlockId(
  blockIds: readonly (ArrayLike<number> | undefined)[],
  end: number,
  numBlocks: number,
): void {
  for (let i = 0; i < end; i++) {
    const ids = blockIds[i];
    if (!(ids instanceof Int32Array)) continue;
    const bad = firstBadBlockId(ids, ids.length, numBlocks);
    if (bad >= 0) throw badBlockId(i, bad, ids[bad], numBlocks);
  }
}

/**
 * Validates `batch` and fills `out`. `uniformDecodeQueryLen` is the query length of a uniform
 * decode step (1 + speculative tokens).
 */
export function validateBatch(
  batch: unknown,
  caps: MetadataCapacities,
  uniformDecodeQueryLen: number,
  out: BatchSummary,
  rows: BlockTableRowStore,
): void {
  if (batch === null || typeof batch !== 'object') {
    throw new MetadataError('invalid_batch', 'batch', batch, '{ requests: MetadataRequest[] }', 'must be an object');
  }
  // Own property only: a polluted Object.prototype cannot supply requests.
  const requests = Object.hasOwn(batch, 'requests') ? (batch as { requests?: unknown }).requests : undefined;
  if (!Array.isArray(requests)) {
    throw new MetadataError('invalid_batch', 'batch.requests', requests, 'an array of requests', 'must be an array');
  }
  const numReqs = requests.length;
  if (numReqs > caps.maxNumReqs) {
    throw new MetadataError(
      'too_many_requests',
      'batch.requests',
      numReqs,
      `at most ${caps.maxNumReqs} requests (maxNumReqs)`,
      'too many requests',
    );
  }
  const { blockSize, numBlocks, maxBlocksPerReq, maxNumTokens } = caps;
  const maxSeqLenAllowed = maxBlocksPerReq * blockSize;
  let numTokens = 0;
  let maxQueryLen = 0;
  let maxSeqLen = 0;
  let uniform = numReqs > 0;
  const newTokens = out.newTokens;
  const computedTokens = out.computedTokens;
  const blockIdsOut = out.blockIds;
  const rowOf = out.rowOf;
  const rowLengths = rows.lengths;
  const seenInPass = rows.seenInPass;
  const pass = ++rows.pass;
  const numRows = rows.numRows;
  const check = out.rangeCheck;
  check.reset();
  let i = 0;
  try {
    for (; i < numReqs; i++) {
      const req = requests[i] as {
        numNewTokens?: unknown;
        numComputedTokens?: unknown;
        blockIds?: unknown;
        blockTableRow?: unknown;
      } | null;
      if (req === null || typeof req !== 'object') {
        throw new MetadataError(
          'invalid_batch',
          `requests[${i}]`,
          req,
          '{ numNewTokens, numComputedTokens, blockIds }',
          'must be an object',
        );
      }
      const q = checkCount(i, 'numNewTokens', req.numNewTokens);
      const computed = checkCount(i, 'numComputedTokens', req.numComputedTokens);
      numTokens += q;
      if (numTokens > maxNumTokens) {
        throw new MetadataError(
          'too_many_tokens',
          `requests[${i}].numNewTokens`,
          q,
          `a batch total <= ${maxNumTokens} (maxNumTokens)`,
          `the batch's new tokens reach ${numTokens} here`,
        );
      }
      const seqLen = computed + q;
      if (seqLen > maxSeqLenAllowed) {
        const field = computed > maxSeqLenAllowed ? 'numComputedTokens' : 'numNewTokens';
        throw new MetadataError(
          'request_too_long',
          `requests[${i}].${field}`,
          field === 'numNewTokens' ? q : computed,
          `numComputedTokens + numNewTokens <= ${maxSeqLenAllowed} (maxBlocksPerReq x blockSize)`,
          `seqLen ${seqLen} = ${computed} computed + ${q} new is longer than a request can be`,
        );
      }
      const ids = req.blockIds;
      if (ids === undefined) {
        // A row request: O(1) checks; its ids were checked when they were appended.
        const row = req.blockTableRow;
        if (row === undefined) {
          throw new MetadataError(
            'invalid_batch',
            `requests[${i}]`,
            req,
            '{ numNewTokens, numComputedTokens, blockIds } or { ..., blockTableRow }',
            'needs blockIds or blockTableRow',
          );
        }
        if (!(typeof row === 'number' && (row | 0) === row && row >= 0 && row < numRows)) {
          throw new MetadataError(
            'invalid_row',
            `requests[${i}].blockTableRow`,
            row,
            `integer in [0, ${numRows}) (maxNumReqs)`,
            'not a row index',
          );
        }
        const n = rowLengths[row]!;
        if (n < 0) {
          throw new MetadataError(
            'row_not_acquired',
            `requests[${i}].blockTableRow`,
            row,
            'an acquired row (blockTableRows.acquireRow)',
            `row ${row} is free`,
          );
        }
        if (seenInPass[row] === pass) {
          throw new MetadataError(
            'duplicate_row',
            `requests[${i}].blockTableRow`,
            row,
            'a row no other request of the batch names',
            `row ${row} appears twice in the batch`,
          );
        }
        seenInPass[row] = pass;
        if (n * blockSize < seqLen) {
          throw new MetadataError(
            'not_enough_blocks',
            `requests[${i}].blockTableRow`,
            row,
            `a row of at least ${Math.ceil(seqLen / blockSize)} block ids for seqLen ${seqLen} with blockSize ${blockSize}`,
            `row ${row} holds ${n} block ids`,
          );
        }
        rowOf[i] = row;
        blockIdsOut[i] = undefined;
      } else {
        if (req.blockTableRow !== undefined) {
          throw new MetadataError(
            'invalid_batch',
            `requests[${i}].blockTableRow`,
            req.blockTableRow,
            'undefined when blockIds is given',
            'give blockIds or blockTableRow, not both',
          );
        }
        if (!(ids instanceof Int32Array || isIdArray(ids))) {
          throw new MetadataError(
            'invalid_batch',
            `requests[${i}].blockIds`,
            ids,
            'an array or Int32Array of block ids',
            'must be an array',
          );
        }
        const n = ids.length;
        if (n > maxBlocksPerReq) {
          throw new MetadataError(
            'too_many_blocks',
            `requests[${i}].blockIds`,
            ids,
            `at most ${maxBlocksPerReq} block ids (maxBlocksPerReq)`,
            'too many blocks',
          );
        }
        // n < ceil(seqLen / blockSize), without a division (n x blockSize fits int32: capacities do).
        if (n * blockSize < seqLen) {
          const needed = Math.ceil(seqLen / blockSize);
          throw new MetadataError(
            'not_enough_blocks',
            `requests[${i}].blockIds`,
            ids,
            `at least ${needed} block ids for seqLen ${seqLen} with blockSize ${blockSize}`,
            'not enough blocks for the sequence',
          );
        }
        if (ids instanceof Int32Array) {
          check.add(ids);
        } else {
          const bad = firstBadBlockId(ids as ArrayLike<number>, n, numBlocks);
          if (bad >= 0) throw badBlockId(i, bad, ids[bad], numBlocks);
        }
        rowOf[i] = -1;
        blockIdsOut[i] = ids as ArrayLike<number>;
      }
      newTokens[i] = q;
      computedTokens[i] = computed;
      if (q > maxQueryLen) maxQueryLen = q;
      if (seqLen > maxSeqLen) maxSeqLen = seqLen;
      if (q !== uniformDecodeQueryLen) uniform = false;
    }
  } catch (err) {
    // Int32Array ids of requests before i were packed, not yet checked: in request order, an
    // error among them comes first.
    if (i > out.blockIdsExtent) out.blockIdsExtent = i;
    throwFirstBadInt32BlockId(blockIdsOut, i, numBlocks);
    throw err;
  }
  if (numReqs > out.blockIdsExtent) out.blockIdsExtent = numReqs;
  if (!check.allInRange()) {
    throwFirstBadInt32BlockId(blockIdsOut, numReqs, numBlocks);
    throw internalError('the block id range check and the scan disagree');
  }
  out.numReqs = numReqs;
  out.numActualTokens = numTokens;
  out.maxQueryLen = maxQueryLen;
  out.maxSeqLen = maxSeqLen;
  out.uniformDecode = uniform;
}

/** Validates the padded counts of a step: actual <= padded <= capacity, integers. */
export function validatePadding(
  path: string,
  value: unknown,
  actual: number,
  capacity: number,
  capacityName: string,
): number {
  if (value === undefined) return actual;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new MetadataError(
      'invalid_padding',
      path,
      value,
      `integer in [${actual}, ${capacity}]`,
      'must be an integer',
    );
  }
  if (value < actual || value > capacity) {
    throw new MetadataError(
      'invalid_padding',
      path,
      value,
      `[${actual}, ${capacity}] (actual count .. ${capacityName})`,
      value < actual ? 'padding cannot be below the actual count' : `above ${capacityName}`,
    );
  }
  return value;
}
