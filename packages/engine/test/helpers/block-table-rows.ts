// Block-table rows for tests that build a BlockManager on its own: the rows of a fresh host
// mirror (@flashgraph/attn-metadata), the same store the CPU backend hands the engine.
import { createHostMirror, type HostMirror } from '@flashgraph/attn-metadata';

export interface MirrorCaps {
  numBlocks: number;
  blockSize: number;
  /** Rows, and requests per step (default 16). */
  maxNumReqs?: number;
  /** Block ids per row (default: every block of the cache). */
  maxBlocksPerReq?: number;
  /** Tokens per step (default 256). */
  maxNumTokens?: number;
}

export function hostMirror(caps: MirrorCaps): HostMirror {
  return createHostMirror({
    numBlocks: caps.numBlocks,
    blockSize: caps.blockSize,
    maxNumReqs: caps.maxNumReqs ?? 16,
    maxBlocksPerReq: caps.maxBlocksPerReq ?? caps.numBlocks,
    maxNumTokens: caps.maxNumTokens ?? 256,
  });
}

/** A BlockManager's options with the rows of a fresh host mirror. */
export function withRows(caps: MirrorCaps) {
  return { numBlocks: caps.numBlocks, blockSize: caps.blockSize, rows: hostMirror(caps).blockTableRows };
}
