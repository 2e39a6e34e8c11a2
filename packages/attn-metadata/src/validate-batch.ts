// Checks a step's batch against the capacities before anything is written: a rejected batch leaves
// the staging memory (and so the device) exactly as the previous step left it. One read pass; the
// counts it gathers are reused by the writer.
import { MetadataError } from './errors.js';
import type { MetadataCapacities } from './types.js';

const INT32_MAX = 2 ** 31 - 1;

/** What validation learns about a batch (one reused object per mirror: no per-step allocation). */
export interface BatchSummary {
  numReqs: number;
  numActualTokens: number;
  maxQueryLen: number;
  maxSeqLen: number;
  uniformDecode: boolean;
}

export function newBatchSummary(): BatchSummary {
  return { numReqs: 0, numActualTokens: 0, maxQueryLen: 0, maxSeqLen: 0, uniformDecode: false };
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as ArrayLike<unknown>).length === 'number' &&
    Number.isInteger((value as ArrayLike<unknown>).length)
  );
}

/** Checks a request count field; the error path is only built when the check fails. */
function checkCount(i: number, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new MetadataError('not_integer', `requests[${i}].${field}`, value, `integer in [0, ${INT32_MAX}]`, 'must be an integer');
  }
  if (value < 0 || value > INT32_MAX) {
    throw new MetadataError('out_of_range', `requests[${i}].${field}`, value, `[0, ${INT32_MAX}]`, value < 0 ? 'must be >= 0' : 'too large');
  }
  return value;
}

function badBlockId(i: number, j: number, b: unknown, numBlocks: number): MetadataError {
  const code = Number.isInteger(b) || b === Infinity || b === -Infinity ? 'invalid_block_id' : 'not_integer';
  return new MetadataError(code, `requests[${i}].blockIds[${j}]`, b, `integer in [0, ${numBlocks}) (numBlocks)`, 'block id outside the KV cache');
}

/** Every id in [0, numBlocks) and an integer; returns the index of the first bad one, or -1. */
function firstBadBlockId(ids: ArrayLike<number>, n: number, numBlocks: number): number {
  if (ids instanceof Int32Array) {
    // Integers by construction: only the range. Branch-free, four ids per iteration: the sign bit
    // of `b | (numBlocks - 1 - b)` is set exactly when b < 0 or b >= numBlocks.
    const top = numBlocks - 1;
    let bad = 0;
    let j = 0;
    for (; j + 3 < n; j += 4) {
      const a = ids[j]!;
      const b = ids[j + 1]!;
      const c = ids[j + 2]!;
      const d = ids[j + 3]!;
      bad |= a | b | c | d | (top - a) | (top - b) | (top - c) | (top - d);
    }
    for (; j < n; j++) {
      const b = ids[j]!;
      bad |= b | (top - b);
    }
    if (bad >= 0) return -1;
    for (let j = 0; j < n; j++) if (ids[j]! < 0 || ids[j]! >= numBlocks) return j;
    return -1;
  }
  // (b | 0) === b is false for fractions, NaN, holes, strings and values outside int32.
  for (let j = 0; j < n; j++) {
    const b = ids[j] as number;
    if (!(b >= 0 && b < numBlocks && (b | 0) === b)) return j;
  }
  return -1;
}

/**
 * Validates `batch` and fills `out`. `uniformDecodeQueryLen` is the query length of a uniform
 * decode step (1 + speculative tokens).
 */
export function validateBatch(batch: unknown, caps: MetadataCapacities, uniformDecodeQueryLen: number, out: BatchSummary): void {
  if (batch === null || typeof batch !== 'object') {
    throw new MetadataError('invalid_batch', 'batch', batch, '{ requests: MetadataRequest[] }', 'must be an object');
  }
  const requests = (batch as { requests?: unknown }).requests;
  if (!isArrayLike(requests)) {
    throw new MetadataError('invalid_batch', 'batch.requests', requests, 'an array of requests', 'must be an array');
  }
  const numReqs = requests.length;
  if (numReqs > caps.maxNumReqs) {
    throw new MetadataError('too_many_requests', 'batch.requests', numReqs, `at most ${caps.maxNumReqs} requests (maxNumReqs)`, 'too many requests');
  }
  const { blockSize, numBlocks, maxBlocksPerReq, maxNumTokens } = caps;
  const maxSeqLenAllowed = maxBlocksPerReq * blockSize;
  let numTokens = 0;
  let maxQueryLen = 0;
  let maxSeqLen = 0;
  let uniform = numReqs > 0;
  for (let i = 0; i < numReqs; i++) {
    const req = requests[i] as { numNewTokens?: unknown; numComputedTokens?: unknown; blockIds?: unknown } | null;
    if (req === null || typeof req !== 'object') {
      throw new MetadataError('invalid_batch', `requests[${i}]`, req, '{ numNewTokens, numComputedTokens, blockIds }', 'must be an object');
    }
    const q = checkCount(i, 'numNewTokens', req.numNewTokens);
    const computed = checkCount(i, 'numComputedTokens', req.numComputedTokens);
    numTokens += q;
    if (numTokens > maxNumTokens) {
      throw new MetadataError(
        'too_many_tokens', `requests[${i}].numNewTokens`, q, `a batch total <= ${maxNumTokens} (maxNumTokens)`,
        `the batch's new tokens reach ${numTokens} here`,
      );
    }
    const seqLen = computed + q;
    if (seqLen > maxSeqLenAllowed) {
      const field = computed > maxSeqLenAllowed ? 'numComputedTokens' : 'numNewTokens';
      throw new MetadataError(
        'request_too_long', `requests[${i}].${field}`, field === 'numNewTokens' ? q : computed,
        `numComputedTokens + numNewTokens <= ${maxSeqLenAllowed} (maxBlocksPerReq x blockSize)`,
        `seqLen ${seqLen} = ${computed} computed + ${q} new is longer than a request can be`,
      );
    }
    const ids = req.blockIds;
    if (!(ids instanceof Int32Array || Array.isArray(ids) || isArrayLike(ids))) {
      throw new MetadataError('invalid_batch', `requests[${i}].blockIds`, ids, 'an array or Int32Array of block ids', 'must be an array');
    }
    const n = ids.length;
    if (n > maxBlocksPerReq) {
      throw new MetadataError('too_many_blocks', `requests[${i}].blockIds`, ids, `at most ${maxBlocksPerReq} block ids (maxBlocksPerReq)`, 'too many blocks');
    }
    const needed = Math.ceil(seqLen / blockSize);
    if (n < needed) {
      throw new MetadataError(
        'not_enough_blocks', `requests[${i}].blockIds`, ids, `at least ${needed} block ids for seqLen ${seqLen} with blockSize ${blockSize}`,
        'not enough blocks for the sequence',
      );
    }
    const bad = firstBadBlockId(ids as ArrayLike<number>, n, numBlocks);
    if (bad >= 0) throw badBlockId(i, bad, ids[bad], numBlocks);
    if (q > maxQueryLen) maxQueryLen = q;
    if (seqLen > maxSeqLen) maxSeqLen = seqLen;
    if (q !== uniformDecodeQueryLen) uniform = false;
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
    throw new MetadataError('invalid_padding', path, value, `integer in [${actual}, ${capacity}]`, 'must be an integer');
  }
  if (value < actual || value > capacity) {
    throw new MetadataError(
      'invalid_padding', path, value, `[${actual}, ${capacity}] (actual count .. ${capacityName})`,
      value < actual ? 'padding cannot be below the actual count' : `above ${capacityName}`,
    );
  }
  return value;
}
