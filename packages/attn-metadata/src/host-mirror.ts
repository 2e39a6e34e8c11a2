// The host mirror: every metadata array of a step written into Int32Array views over one staging
// memory (pinned, in the builder), in the exact layout the device buffer has. Pure host code: it
// is what the CPU tests check and what the one device copy per step sends.
//
// Cost is proportional to the batch, not the capacity: the writer remembers how far the previous
// step wrote (requests, tokens, and the length of every block-table row) and clears only the
// stale part back to neutral, so every entry past the padded counts is neutral after each step.
import { checkOptions, InvalidArgumentError } from '@flashgraph/errors';
import { BlockTableRowStore, type BlockTableRows } from './block-table-rows.js';
import { MetadataError } from './errors.js';
import { layoutOf, type MetadataLayout } from './layout.js';
import { type RawStepOptions, readStepOptions } from './step-options.js';
import type { MetadataBatch, MetadataCapacities } from './types.js';
import { type BatchSummary, newBatchSummary, validateBatch, validatePadding } from './validate-batch.js';
import { CAPACITY_KEYS, validateCapacities, validateUniformDecodeQueryLen } from './validate-options.js';

/** Rows longer than this copy with `TypedArray.prototype.set` (a memcpy behind a native call). */
const COPY_WITH_SET_ABOVE = 32;

/** Neutral values: what an entry holds when no request or token owns it. */
export const NEUTRAL_SLOT = -1;
export const NEUTRAL_POSITION = 0;
export const NEUTRAL_SEQ_LEN = 0;
export const NEUTRAL_BLOCK_ID = -1;

/** The counts of one written step. */
export interface HostStep {
  readonly numReqs: number;
  readonly numActualTokens: number;
  readonly numPaddedReqs: number;
  readonly numPaddedTokens: number;
  readonly maxQueryLen: number;
  readonly maxSeqLen: number;
  readonly uniformDecode: boolean;
}

export interface HostPadding {
  padToTokens?: number;
  padToReqs?: number;
}

/** What one step is written for: its padding, and whether it feeds a uniform-decode full graph. */
export interface HostStepOptions extends HostPadding {
  /**
   * The step feeds a full graph that only ever replays uniform decode batches (a decode graph).
   * Only a uniform decode batch may be written for it (else `not_uniform_decode`, nothing written).
   * The caller says so because the content cannot: the capture-time batch of a mixed graph is N
   * one-token requests too.
   */
  decodeGraph?: boolean;
}

export interface HostMirror {
  readonly capacities: MetadataCapacities;
  readonly layout: MetadataLayout;
  /** The whole staging memory as int32 (layout.totalElements). */
  readonly buffer: Int32Array;
  /** Capacity-length views into `buffer`. */
  readonly queryStartLoc: Int32Array;
  readonly seqLens: Int32Array;
  readonly blockTable: Int32Array;
  readonly slotMapping: Int32Array;
  readonly positions: Int32Array;
  /** Block-table rows that live across steps; a request names one with `blockTableRow`. */
  readonly blockTableRows: BlockTableRows;
  /**
   * Validates `batch` and the padding, then writes the step. On a validation error nothing is
   * written. Returns the step's counts.
   */
  write(batch: MetadataBatch, options?: HostStepOptions): HostStep;
}

export interface HostMirrorOptions extends MetadataCapacities {
  /** Query length of a uniform decode step (1 + speculative tokens). Default 1. */
  uniformDecodeQueryLen?: number;
}

/**
 * Creates a host mirror over `storage` (the builder passes its pinned staging memory; by default
 * a fresh ArrayBuffer). The storage is set to the neutral state.
 */
export function createHostMirror(options: HostMirrorOptions, storage?: Int32Array): HostMirror {
  return createHostMirrorWith(options, storage);
}

/**
 * `createHostMirror` with the block id range check forced to one implementation (internal: the
 * tests run the wasm SIMD check and its JS fallback side by side).
 */
export function createHostMirrorWith(
  options: HostMirrorOptions,
  storage?: Int32Array,
  rangeCheck?: 'wasm' | 'js',
): Mirror {
  const o = checkOptions('options', options, [...CAPACITY_KEYS, 'uniformDecodeQueryLen']);
  const caps = validateCapacities(o);
  const given = o.uniformDecodeQueryLen;
  const uniformQ = given === undefined ? 1 : validateUniformDecodeQueryLen('options.uniformDecodeQueryLen', given);
  const layout = layoutOf(caps);
  let buffer: Int32Array;
  if (storage === undefined) {
    buffer = new Int32Array(layout.totalElements);
  } else {
    if (!(storage instanceof Int32Array) || storage.length < layout.totalElements) {
      throw new InvalidArgumentError({
        code: storage instanceof Int32Array ? 'out_of_range' : 'invalid_type',
        path: 'storage',
        value: storage,
        allowed: `Int32Array of at least ${layout.totalElements} elements`,
      });
    }
    buffer = storage.subarray(0, layout.totalElements);
  }
  return new MirrorImpl(caps, layout, buffer, uniformQ, rangeCheck);
}

/** The mirror as the builders use it: a step whose options were already read (own keys only). */
export interface Mirror extends HostMirror {
  /** The reused object `write` reads its options into. */
  readonly stepOptions: RawStepOptions;
  writeStep(batch: MetadataBatch, options: RawStepOptions): HostStep;
}

class MirrorImpl implements Mirror {
  readonly queryStartLoc: Int32Array;
  readonly seqLens: Int32Array;
  readonly blockTable: Int32Array;
  readonly slotMapping: Int32Array;
  readonly positions: Int32Array;
  /** Ids written into each block-table row by the previous steps (0 = the row is neutral). */
  private readonly rowLengths: Int32Array;
  /** Rows [0, rowsExtent) may hold block ids; seqLens [0, reqsExtent) and tokens [0, tokensExtent) may be non-neutral. */
  private rowsExtent = 0;
  private reqsExtent = 0;
  private tokensExtent = 0;
  private readonly summary: BatchSummary;
  /** The last step's options, read into one reused object (no allocation per step). */
  readonly stepOptions: RawStepOptions = {
    padToTokens: undefined,
    padToReqs: undefined,
    decodeGraph: undefined,
    stream: undefined,
  };
  private readonly rows: BlockTableRowStore;
  /** log2(blockSize) when it is a power of two (the usual case: a shift, not a division), else -1. */
  private readonly blockSizeShift: number;

  constructor(
    readonly capacities: MetadataCapacities,
    readonly layout: MetadataLayout,
    readonly buffer: Int32Array,
    private readonly uniformDecodeQueryLen: number,
    rangeCheckKind?: 'wasm' | 'js',
  ) {
    this.summary = newBatchSummary(capacities, rangeCheckKind);
    this.rows = new BlockTableRowStore(capacities);
    const bs = capacities.blockSize;
    this.blockSizeShift = (bs & (bs - 1)) === 0 ? 31 - Math.clz32(bs) : -1;
    const R = capacities.maxNumReqs;
    const T = capacities.maxNumTokens;
    this.queryStartLoc = buffer.subarray(layout.queryStartLocOffset, layout.queryStartLocOffset + R + 1);
    this.seqLens = buffer.subarray(layout.seqLensOffset, layout.seqLensOffset + R);
    this.slotMapping = buffer.subarray(layout.slotMappingOffset, layout.slotMappingOffset + T);
    this.positions = buffer.subarray(layout.positionsOffset, layout.positionsOffset + T);
    this.blockTable = buffer.subarray(layout.blockTableOffset, layout.blockTableOffset + R * layout.blockTableStride);
    this.rowLengths = new Int32Array(R);
    // Neutral start; the alignment gaps between arrays stay 0.
    buffer.fill(0);
    this.slotMapping.fill(NEUTRAL_SLOT);
    this.blockTable.fill(NEUTRAL_BLOCK_ID);
  }

  get blockTableRows(): BlockTableRows {
    return this.rows;
  }

  write(batch: MetadataBatch, options?: HostStepOptions): HostStep {
    return this.writeStep(batch, readStepOptions(options, false, this.stepOptions));
  }

  /** The step of already-read options (the builder reads `build`'s, which carry the stream too). */
  writeStep(batch: MetadataBatch, o: RawStepOptions): HostStep {
    const caps = this.capacities;
    const s = this.summary;
    const decodeGraph = o.decodeGraph;
    if (decodeGraph !== undefined && typeof decodeGraph !== 'boolean') {
      throw new InvalidArgumentError({
        code: 'invalid_type',
        path: 'options.decodeGraph',
        value: decodeGraph,
        allowed: 'true, false or undefined',
      });
    }
    validateBatch(batch, caps, this.uniformDecodeQueryLen, s, this.rows);
    if (decodeGraph === true && !s.uniformDecode) {
      const k = this.uniformDecodeQueryLen;
      throw new MetadataError(
        'not_uniform_decode',
        'options.decodeGraph',
        true,
        `false for this batch, or a uniform decode batch (at least one request, each with ${k} new token${k === 1 ? '' : 's'})`,
        'a decode graph only replays uniform decode batches',
      );
    }
    const numPaddedTokens = validatePadding(
      'options.padToTokens',
      o.padToTokens,
      s.numActualTokens,
      caps.maxNumTokens,
      'maxNumTokens',
    );
    const numPaddedReqs = validatePadding('options.padToReqs', o.padToReqs, s.numReqs, caps.maxNumReqs, 'maxNumReqs');
    this.writeArrays(s.numReqs, s.numActualTokens);
    return {
      numReqs: s.numReqs,
      numActualTokens: s.numActualTokens,
      numPaddedReqs,
      numPaddedTokens,
      maxQueryLen: s.maxQueryLen,
      maxSeqLen: s.maxSeqLen,
      uniformDecode: s.uniformDecode,
    };
  }

  /**
   * Writes the validated requests (the summary's snapshots, not the request objects); padded
   * entries and every stale entry become neutral.
   */
  private writeArrays(numReqs: number, numTokens: number): void {
    const qsl = this.queryStartLoc;
    const seqLens = this.seqLens;
    const bt = this.blockTable;
    const slots = this.slotMapping;
    const positions = this.positions;
    const rowLengths = this.rowLengths;
    const stride = this.layout.blockTableStride;
    const bs = this.capacities.blockSize;
    const bsShift = this.blockSizeShift;
    const s = this.summary;
    const newTokens = s.newTokens;
    const computedTokens = s.computedTokens;
    const blockIds = s.blockIds;
    const rowOf = s.rowOf;
    const store = this.rows;
    const storeIds = store.ids;
    const storeLengths = store.lengths;
    const stagedRow = store.stagedRow;
    const stagedAt = store.stagedAt;
    const syncedPrefix = store.syncedPrefix;

    let t = 0;
    qsl[0] = 0;
    for (let i = 0; i < numReqs; i++) {
      const q = newTokens[i]!;
      const computed = computedTokens[i]!;
      seqLens[i] = computed + q;
      const row = i * stride;
      const r = rowOf[i]!;
      // Where the slot loop reads the request's ids: its own array, or the staging row just synced.
      let ids: ArrayLike<number>;
      let idsBase: number;
      let n: number;
      if (r >= 0) {
        // Mirror store row r into staging row i: only the ids not already there since the last step.
        let from: number;
        if (stagedRow[i] === r) {
          from = syncedPrefix[i]!;
        } else {
          store.unlinkStaging(i);
          const prev = stagedAt[r]!;
          if (prev >= 0) stagedRow[prev] = -1;
          stagedAt[r] = i;
          stagedRow[i] = r;
          from = 0;
        }
        n = storeLengths[r]!;
        if (from < n) {
          const src = r * stride;
          if (n - from > COPY_WITH_SET_ABOVE) bt.set(storeIds.subarray(src + from, src + n), row + from);
          else for (let j = from; j < n; j++) bt[row + j] = storeIds[src + j]!;
        }
        syncedPrefix[i] = n;
        ids = bt;
        idsBase = row;
      } else {
        if (stagedRow[i]! >= 0) store.unlinkStaging(i);
        ids = blockIds[i]!;
        idsBase = 0;
        n = ids.length;
        // set() is a memcpy but costs a native call; short rows copy faster in the loop.
        if (n > COPY_WITH_SET_ABOVE && ids instanceof Int32Array) {
          bt.set(ids, row);
        } else {
          for (let j = 0; j < n; j++) bt[row + j] = ids[j]!;
        }
      }
      const previous = rowLengths[i]!;
      if (previous > n) bt.fill(NEUTRAL_BLOCK_ID, row + n, row + previous);
      rowLengths[i] = n;

      // slot = blockIds[pos / bs] * bs + pos % bs, walked block by block without a division per token.
      if (q > 0) {
        let block = bsShift >= 0 ? computed >> bsShift : Math.floor(computed / bs);
        let offset = computed - block * bs;
        let base = ids[idsBase + block]! * bs;
        let pos = computed;
        const end = t + q;
        for (;;) {
          slots[t] = base + offset;
          positions[t] = pos;
          t++;
          if (t === end) break;
          pos++;
          if (++offset === bs) {
            offset = 0;
            base = ids[idsBase + ++block]! * bs;
          }
        }
      }
      qsl[i + 1] = t;
    }
    // Drop references to earlier steps' block id arrays (the caller's memory, not ours to keep).
    if (s.blockIdsExtent > numReqs) {
      blockIds.fill(undefined, numReqs, s.blockIdsExtent);
      s.blockIdsExtent = numReqs;
    }

    // Past the real requests: queryStartLoc repeats the token count up to capacity (its value
    // changes every step, so the whole tail is rewritten; a memset of maxNumReqs ints).
    qsl.fill(numTokens, numReqs + 1);
    if (this.reqsExtent > numReqs) seqLens.fill(NEUTRAL_SEQ_LEN, numReqs, this.reqsExtent);
    for (let i = numReqs; i < this.rowsExtent; i++) {
      if (stagedRow[i]! >= 0) store.unlinkStaging(i);
      const previous = rowLengths[i]!;
      if (previous > 0) {
        bt.fill(NEUTRAL_BLOCK_ID, i * stride, i * stride + previous);
        rowLengths[i] = 0;
      }
    }
    // Padded tokens and the stale tail: slot -1 (never written to the KV cache), position 0.
    if (this.tokensExtent > numTokens) {
      slots.fill(NEUTRAL_SLOT, numTokens, this.tokensExtent);
      positions.fill(NEUTRAL_POSITION, numTokens, this.tokensExtent);
    }
    this.reqsExtent = numReqs;
    this.rowsExtent = numReqs;
    this.tokensExtent = numTokens;
  }
}
