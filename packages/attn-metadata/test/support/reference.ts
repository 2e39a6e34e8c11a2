// A straightforward recomputation of every metadata array at capacity, written from the rules
// (not from the writer's incremental code), for comparing against the host mirror.
import type { MetadataBatch, MetadataCapacities } from '../../src/types.js';

export interface ExpectedArrays {
  queryStartLoc: Int32Array;
  seqLens: Int32Array;
  blockTable: Int32Array;
  slotMapping: Int32Array;
  positions: Int32Array;
}

/**
 * `rowIds` resolves a `blockTableRow` request's ids (a row's ids at the time of the step); the
 * recomputation is the same for both kinds of request.
 */
export function recompute(
  batch: MetadataBatch,
  caps: MetadataCapacities,
  rowIds?: (row: number) => ArrayLike<number>,
): ExpectedArrays {
  const R = caps.maxNumReqs;
  const T = caps.maxNumTokens;
  const B = caps.maxBlocksPerReq;
  const bs = caps.blockSize;
  const queryStartLoc = new Int32Array(R + 1);
  const seqLens = new Int32Array(R);
  const blockTable = new Int32Array(R * B).fill(-1);
  const slotMapping = new Int32Array(T).fill(-1);
  const positions = new Int32Array(T);
  let t = 0;
  const n = batch.requests.length;
  for (let i = 0; i < n; i++) {
    const r = batch.requests[i]!;
    const ids = r.blockIds ?? rowIds!(r.blockTableRow!);
    queryStartLoc[i] = t;
    seqLens[i] = r.numComputedTokens + r.numNewTokens;
    for (let j = 0; j < ids.length; j++) blockTable[i * B + j] = ids[j]!;
    for (let k = 0; k < r.numNewTokens; k++) {
      const pos = r.numComputedTokens + k;
      positions[t] = pos;
      slotMapping[t] = ids[Math.floor(pos / bs)]! * bs + (pos % bs);
      t++;
    }
  }
  for (let i = n; i <= R; i++) queryStartLoc[i] = t;
  return { queryStartLoc, seqLens, blockTable, slotMapping, positions };
}
