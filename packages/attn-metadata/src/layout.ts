// Where each metadata array lives inside the one staging buffer and the one device buffer. A pure
// function of the capacities (design rule 1): offsets never depend on a batch, so a captured graph
// keeps reading the right addresses. The block table comes last so that one contiguous copy of
// [0, blockTable row N) carries every array of a step.
import type { MetadataCapacities } from './types.js';
import { validateCapacities } from './validate-options.js';

/** Each array starts on a 256-byte boundary (64 int32), the alignment cudaMalloc gives. */
const ALIGN_ELEMENTS = 64;

export interface MetadataLayout {
  /** int32 element offsets into the buffer. */
  readonly queryStartLocOffset: number;
  readonly seqLensOffset: number;
  readonly slotMappingOffset: number;
  readonly positionsOffset: number;
  readonly blockTableOffset: number;
  /** Elements between block-table rows. */
  readonly blockTableStride: number;
  /** Total int32 elements, and bytes, of the buffer. */
  readonly totalElements: number;
  readonly byteLength: number;
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN_ELEMENTS) * ALIGN_ELEMENTS;
}

/**
 * The layout of a metadata buffer for these capacities (checked like the builders' options: a bad
 * capacity is an InvalidArgumentError naming it, never NaN offsets).
 */
export function metadataLayout(caps: MetadataCapacities): MetadataLayout {
  return layoutOf(validateCapacities(caps, 'caps'));
}

/** `metadataLayout` of capacities already checked. */
export function layoutOf(caps: MetadataCapacities): MetadataLayout {
  const R = caps.maxNumReqs;
  const T = caps.maxNumTokens;
  const queryStartLocOffset = 0;
  const seqLensOffset = alignUp(queryStartLocOffset + R + 1);
  const slotMappingOffset = alignUp(seqLensOffset + R);
  const positionsOffset = alignUp(slotMappingOffset + T);
  const blockTableOffset = alignUp(positionsOffset + T);
  const totalElements = blockTableOffset + R * caps.maxBlocksPerReq;
  return Object.freeze({
    queryStartLocOffset,
    seqLensOffset,
    slotMappingOffset,
    positionsOffset,
    blockTableOffset,
    blockTableStride: caps.maxBlocksPerReq,
    totalElements,
    byteLength: totalElements * 4,
  });
}

/** Bytes of the step copy: every small array at capacity, plus the first `rows` block-table rows. */
export function copyByteLength(layout: MetadataLayout, rows: number): number {
  return (layout.blockTableOffset + rows * layout.blockTableStride) * 4;
}
