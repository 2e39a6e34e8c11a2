// The domain error of this package: every rejected batch, padding, row or metadata call names the
// offending path (`requests[3].blockIds[2]`), the bad value and the allowed range, so a log line is
// enough to find the bug in the caller's scheduler. Options of the constructors go through the
// shared kit of @flashgraph/errors and throw its InvalidArgumentError (`invalid_type`,
// `out_of_range`, `unknown_option`); both are FlashgraphErrors.
import { FlashgraphError } from '@flashgraph/errors';

export type MetadataErrorCode =
  | 'capacity_mismatch' // a builder option does not fit the attention's capacities
  | 'invalid_batch' // the batch or a request is not the expected shape
  | 'not_integer' // a count or block id is not an integer
  | 'out_of_range' // a count is negative or above what the field allows
  | 'too_many_requests' // more requests than maxNumReqs
  | 'too_many_tokens' // more new tokens than maxNumTokens
  | 'request_too_long' // seqLen above maxBlocksPerReq x blockSize
  | 'too_many_blocks' // blockIds longer than maxBlocksPerReq
  | 'not_enough_blocks' // blockIds too short to hold seqLen tokens
  | 'invalid_block_id' // a block id outside [0, numBlocks)
  | 'no_free_row' // acquireRow with every block-table row acquired
  | 'invalid_row' // a block-table row index that is not an integer in [0, maxNumReqs)
  | 'row_not_acquired' // a block-table row that is free (never acquired, or released)
  | 'duplicate_row' // two requests of one batch name the same block-table row
  | 'invalid_padding' // padToTokens / padToReqs below the actual count or above capacity
  | 'not_uniform_decode' // decodeGraph: true for a batch that is not uniform decode
  | 'invalid_stream' // build() without a stream
  | 'invalid_metadata' // describe() / forwardArgs() of an object no builder returned
  | 'stale_metadata'; // describe() of metadata whose staging data was overwritten by a later build

export class MetadataError extends FlashgraphError {
  declare readonly code: MetadataErrorCode;
  /** Where the bad value sits, e.g. `requests[3].blockIds[2]` or `options.padToTokens`. */
  declare readonly path: string;
  /** The allowed range or shape, e.g. `[0, 4096)` or `integer >= 0`. */
  declare readonly allowed: string;

  constructor(code: MetadataErrorCode, path: string, value: unknown, allowed: string, detail?: string, fix?: string) {
    super({ code, path, problem: detail ?? 'invalid value', value, allowed, ...(fix === undefined ? {} : { fix }) });
  }
}
