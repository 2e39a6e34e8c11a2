import { describe, expect, it } from 'vitest';
import { MetadataError } from '../src/errors.js';
import { createHostMirror } from '../src/host-mirror.js';
import type { MetadataBatch } from '../src/types.js';
import { caughtArgumentError, caughtMetadataError } from './support/caught.js';

const caps = { maxNumReqs: 4, maxNumTokens: 16, blockSize: 4, numBlocks: 10, maxBlocksPerReq: 3 };
const ok = (over: Record<string, unknown> = {}) => ({ numNewTokens: 1, numComputedTokens: 2, blockIds: [1], ...over });

describe('batch validation errors name the request index and field', () => {
  const cases: {
    name: string;
    batch: unknown;
    padding?: object;
    code: string;
    path: string;
    value?: unknown;
    allowed?: RegExp;
  }[] = [
    { name: 'batch not an object', batch: null, code: 'invalid_batch', path: 'batch' },
    { name: 'requests missing', batch: {}, code: 'invalid_batch', path: 'batch.requests' },
    {
      name: 'too many requests',
      batch: { requests: [ok(), ok(), ok(), ok(), ok()] },
      code: 'too_many_requests',
      path: 'batch.requests',
      value: 5,
      allowed: /at most 4/,
    },
    { name: 'request not an object', batch: { requests: [ok(), 7] }, code: 'invalid_batch', path: 'requests[1]' },
    {
      name: 'fractional numNewTokens',
      batch: { requests: [ok(), ok({ numNewTokens: 1.5 })] },
      code: 'not_integer',
      path: 'requests[1].numNewTokens',
      value: 1.5,
    },
    {
      name: 'string numNewTokens',
      batch: { requests: [ok({ numNewTokens: '1' })] },
      code: 'not_integer',
      path: 'requests[0].numNewTokens',
      value: '1',
    },
    {
      name: 'missing numComputedTokens',
      batch: { requests: [ok({ numComputedTokens: undefined })] },
      code: 'not_integer',
      path: 'requests[0].numComputedTokens',
    },
    {
      name: 'negative numNewTokens',
      batch: { requests: [ok({ numNewTokens: -1 })] },
      code: 'out_of_range',
      path: 'requests[0].numNewTokens',
      value: -1,
      allowed: /\[0, /,
    },
    {
      name: 'negative numComputedTokens',
      batch: { requests: [ok(), ok(), ok({ numComputedTokens: -3 })] },
      code: 'out_of_range',
      path: 'requests[2].numComputedTokens',
      value: -3,
    },
    {
      name: 'too many tokens in the batch',
      batch: {
        requests: [
          ok({ numNewTokens: 10, numComputedTokens: 0, blockIds: [1, 2, 3] }),
          ok({ numNewTokens: 7, numComputedTokens: 0, blockIds: [1, 2] }),
        ],
      },
      code: 'too_many_tokens',
      path: 'requests[1].numNewTokens',
      value: 7,
      allowed: /<= 16 \(maxNumTokens\)/,
    },
    {
      name: 'new tokens push seqLen over the limit',
      batch: { requests: [ok({ numComputedTokens: 10, numNewTokens: 3, blockIds: [1, 2, 3] })] },
      code: 'request_too_long',
      path: 'requests[0].numNewTokens',
      allowed: /<= 12/,
    },
    {
      name: 'context alone over the limit',
      batch: { requests: [ok({ numComputedTokens: 13, blockIds: [1, 2, 3] })] },
      code: 'request_too_long',
      path: 'requests[0].numComputedTokens',
      value: 13,
    },
    {
      name: 'blockIds not an array',
      batch: { requests: [ok({ blockIds: 5 })] },
      code: 'invalid_batch',
      path: 'requests[0].blockIds',
    },
    {
      name: 'too many block ids',
      batch: { requests: [ok({ blockIds: [1, 2, 3, 4] })] },
      code: 'too_many_blocks',
      path: 'requests[0].blockIds',
      allowed: /at most 3/,
    },
    {
      name: 'not enough blocks',
      batch: { requests: [ok(), ok({ numComputedTokens: 4, numNewTokens: 1, blockIds: [1] })] },
      code: 'not_enough_blocks',
      path: 'requests[1].blockIds',
      allowed: /at least 2/,
    },
    {
      name: 'block id = numBlocks',
      batch: { requests: [ok({ blockIds: [10] })] },
      code: 'invalid_block_id',
      path: 'requests[0].blockIds[0]',
      value: 10,
      allowed: /\[0, 10\)/,
    },
    {
      name: 'negative block id',
      batch: { requests: [ok(), ok({ numComputedTokens: 5, blockIds: [2, -1] })] },
      code: 'invalid_block_id',
      path: 'requests[1].blockIds[1]',
      value: -1,
    },
    {
      name: 'infinite block id',
      batch: { requests: [ok({ blockIds: [Infinity] })] },
      code: 'invalid_block_id',
      path: 'requests[0].blockIds[0]',
    },
    {
      name: 'fractional block id',
      batch: { requests: [ok({ blockIds: [2.5] })] },
      code: 'not_integer',
      path: 'requests[0].blockIds[0]',
      value: 2.5,
    },
    {
      name: 'NaN block id',
      batch: { requests: [ok({ blockIds: [Number.NaN] })] },
      code: 'not_integer',
      path: 'requests[0].blockIds[0]',
    },
    {
      name: 'string block id',
      batch: { requests: [ok({ blockIds: ['3'] })] },
      code: 'not_integer',
      path: 'requests[0].blockIds[0]',
      value: '3',
    },
    {
      name: 'hole in block ids',
      batch: { requests: [ok({ numComputedTokens: 5, blockIds: [1, undefined, 2] })] },
      code: 'not_integer',
      path: 'requests[0].blockIds[1]',
    },
    {
      name: 'extra block id out of range (beyond the needed ones)',
      batch: { requests: [ok({ blockIds: [1, 2, 99] })] },
      code: 'invalid_block_id',
      path: 'requests[0].blockIds[2]',
      value: 99,
    },
    {
      name: 'padToTokens below actual',
      batch: { requests: [ok(), ok()] },
      padding: { padToTokens: 1 },
      code: 'invalid_padding',
      path: 'options.padToTokens',
      value: 1,
      allowed: /\[2, 16\]/,
    },
    {
      name: 'padToTokens above capacity',
      batch: { requests: [ok()] },
      padding: { padToTokens: 17 },
      code: 'invalid_padding',
      path: 'options.padToTokens',
      value: 17,
    },
    {
      name: 'padToTokens fractional',
      batch: { requests: [ok()] },
      padding: { padToTokens: 2.5 },
      code: 'invalid_padding',
      path: 'options.padToTokens',
    },
    {
      name: 'padToReqs below actual',
      batch: { requests: [ok(), ok()] },
      padding: { padToReqs: 1 },
      code: 'invalid_padding',
      path: 'options.padToReqs',
      value: 1,
      allowed: /\[2, 4\]/,
    },
    {
      name: 'padToReqs above capacity',
      batch: { requests: [ok()] },
      padding: { padToReqs: 5 },
      code: 'invalid_padding',
      path: 'options.padToReqs',
      value: 5,
    },
  ];

  it.each(cases)('$name -> $code at $path', ({ batch, padding, code, path, value, allowed }) => {
    const mirror = createHostMirror(caps);
    const err = caughtMetadataError(() => mirror.write(batch as MetadataBatch, padding));
    expect(err.code).toBe(code);
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    if (value !== undefined) expect(err.value).toEqual(value);
    if (allowed !== undefined) expect(err.allowed).toMatch(allowed);
  });

  it('a rejected batch leaves the previous step untouched', () => {
    const mirror = createHostMirror(caps);
    mirror.write({ requests: [ok({ blockIds: [4] }), ok({ blockIds: [5] })] }, { padToTokens: 3 });
    const before = mirror.buffer.slice();
    // Fails on the second request, after the first one was read.
    expect(() => mirror.write({ requests: [ok({ blockIds: [6] }), ok({ blockIds: [10] })] })).toThrow(MetadataError);
    expect(() => mirror.write({ requests: [ok({ blockIds: [6] })] }, { padToReqs: 9 })).toThrow(MetadataError);
    expect(mirror.buffer).toEqual(before);
  });
});

describe('Int32Array block ids (the unrolled range check)', () => {
  const wide = { maxNumReqs: 2, maxNumTokens: 8, blockSize: 2, numBlocks: 50, maxBlocksPerReq: 11 };
  it.each([
    { at: 0, value: -1 },
    { at: 5, value: 50 },
    { at: 7, value: -2147483648 },
    { at: 8, value: 2147483647 },
    { at: 10, value: 50 },
  ])('finds $value at index $at', ({ at, value }) => {
    const ids = Int32Array.from({ length: 11 }, (_, j) => j * 3);
    ids[at] = value;
    const mirror = createHostMirror(wide);
    const err = caughtMetadataError(() =>
      mirror.write({ requests: [ok({ blockIds: [1, 2] }), { numNewTokens: 1, numComputedTokens: 20, blockIds: ids }] }),
    );
    expect(err.code).toBe('invalid_block_id');
    expect(err.path).toBe(`requests[1].blockIds[${at}]`);
    expect(err.value).toBe(value);
  });

  it('accepts 0 and numBlocks - 1', () => {
    const mirror = createHostMirror(wide);
    const ids = Int32Array.from({ length: 11 }, (_, j) => (j % 2 === 0 ? 0 : 49));
    expect(() => mirror.write({ requests: [{ numNewTokens: 1, numComputedTokens: 20, blockIds: ids }] })).not.toThrow();
  });
});

describe('capacity validation', () => {
  const base = { maxNumReqs: 4, maxNumTokens: 16, blockSize: 4, numBlocks: 10, maxBlocksPerReq: 3 };
  it.each([
    { field: 'maxNumReqs', value: 0 },
    { field: 'maxNumTokens', value: -1 },
    { field: 'blockSize', value: 1.5 },
    { field: 'numBlocks', value: undefined },
    { field: 'maxBlocksPerReq', value: '3' },
    { field: 'numBlocks', value: 2 ** 30 }, // x blockSize 4 overflows int32 slots
    { field: 'maxBlocksPerReq', value: 2 ** 30 }, // positions overflow int32
  ])('rejects $field = $value', ({ field, value }) => {
    const err = caughtArgumentError(() => createHostMirror({ ...base, [field]: value }));
    expect(err.code).toBe(typeof value === 'number' ? 'out_of_range' : 'invalid_type');
    expect(err.path).toBe(`options.${field}`);
  });

  it('rejects a bad uniformDecodeQueryLen and too-small storage', () => {
    expect(caughtArgumentError(() => createHostMirror({ ...base, uniformDecodeQueryLen: 0 })).path).toBe(
      'options.uniformDecodeQueryLen',
    );
    expect(caughtArgumentError(() => createHostMirror(base, new Int32Array(8))).path).toBe('storage');
  });
});
