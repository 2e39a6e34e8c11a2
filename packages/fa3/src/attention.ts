// createAttention and the Attention object: one workspace allocated at creation, sized by the
// capacities (design rule 1 and 2), then schedule / forward / writeKvCache launches on the
// caller's stream, all graph-capturable and allocation-free.
import { DeviceBuffer, NoCudaDeviceError } from '@flashgraph/cuda';
import { DisposedError } from '@flashgraph/errors';
import {
  type CheckedForward,
  checkForwardArgs,
  checkScheduleArgs,
  checkWriteKvCacheArgs,
  type ForwardArgs,
  type ScheduleArgs,
  type WriteKvCacheArgs,
} from './call-args.js';
import { Fa3Error } from './errors.js';
import { forwardKernel } from './forward-kernel.js';
import { fp8FastEnabled } from './fp8-fast.js';
import type { Caps, NativeFa3, WorkspaceLayout } from './native.js';
import { callNative, requireNative } from './native-call.js';
import {
  type AttentionOptions,
  partialsBytes,
  type ResolvedAttentionOptions,
  resolveOptions,
  worstCaseTiles,
} from './options.js';
import { stepSplitBound } from './plan-splits.js';
import { MAX_SM_COUNT } from './sm-count.js';
import { type TileShape, tileShape } from './tile-shape.js';
import { checkArgInt, checkArgs, INT32_MAX, outOfRange } from './validate.js';

export interface AttentionMetadata {
  /** Splits per request slot, `[maxNumReqs]`; 0 past the live batch. */
  splits: Int32Array;
  /** Work-tile offsets by position in `order`, `[maxNumReqs + 1]`; entries past the live batch repeat the total. */
  tileOffsets: Int32Array;
  /** Position -> request slot, `[maxNumReqs]` (longest tiles first); positions past the live batch map to themselves. */
  order: Int32Array;
  totalTiles: number;
}

export interface Attention {
  readonly options: ResolvedAttentionOptions;
  /** Bytes of device memory held (one workspace, allocated at creation). */
  readonly workspaceBytes: number;
  /** Streaming multiprocessors of the device: the persistent grid size. */
  readonly smCount: number;
  readonly tileShape: TileShape;
  /** The split bound a step with these arguments uses, 1..maxNumSplits (numSplits 0 = the heuristic). */
  resolveNumSplits(args: { numSplits: number; maxSeqlenQ: number; maxSeqlenK: number }): number;
  /** Runs the prepare kernel: per-request splits and tile offsets into the workspace. */
  schedule(args: ScheduleArgs): void;
  /** Attention over the paged cache with the metadata of the last schedule(). */
  forward(args: ForwardArgs): void;
  /** New keys / values into the paged cache by slot mapping (slot -1 skipped). */
  writeKvCache(args: WriteKvCacheArgs): void;
  /** Synchronous copy of the metadata (for tests); synchronize the scheduling stream first. */
  readMetadata(): AttentionMetadata;
  readonly disposed: boolean;
  dispose(): void;
  [Symbol.dispose](): void;
}

class AttentionImpl implements Attention {
  readonly options: ResolvedAttentionOptions;
  readonly workspaceBytes: number;
  readonly smCount: number;
  readonly tileShape: TileShape;
  #native: NativeFa3;
  #caps: Caps;
  #layout: WorkspaceLayout;
  #workspace: DeviceBuffer | undefined;
  #scheduledReqs = 0; // numReqs of the last schedule(); forward must match it
  #scheduledTile: TileShape | undefined; // tiles of the last schedule()'s kernel; forward's must match
  #fp8Fast: boolean; // fp8 cache and FLASHGRAPH_FA3_FP8_FAST not 0 at creation: the decode kernel's fast fp8 path

  constructor(
    native: NativeFa3,
    options: ResolvedAttentionOptions,
    caps: Caps,
    smCount: number,
    tile: TileShape,
    layout: WorkspaceLayout,
    workspace: DeviceBuffer,
  ) {
    this.options = options;
    this.#fp8Fast = options.kvDtype === 'fp8_e4m3' && fp8FastEnabled();
    this.#native = native;
    this.#caps = caps;
    this.smCount = smCount;
    this.tileShape = tile;
    this.#layout = layout;
    this.#workspace = workspace;
    this.workspaceBytes = workspace.byteLength;
  }

  get disposed(): boolean {
    return this.#workspace === undefined;
  }

  #ws(fn: string): DeviceBuffer {
    if (!this.#workspace) throw new DisposedError('Attention', `Attention.${fn}`);
    return this.#workspace;
  }

  /** The tiles of the kernel a step with this maxSeqlenQ runs (forwardKernel, as the addon decides). */
  #stepTile(maxSeqlenQ: number): TileShape {
    const o = this.options;
    const g = o.numHeadsQ / o.numHeadsKv;
    const kernel = forwardKernel(maxSeqlenQ, g, o.headDim);
    // The wgmma kernel has no fp8-cache instantiation: the addon runs the general kernel instead.
    return tileShape(o.headDim, g, kernel === 'wgmma' && o.kvDtype === 'fp8_e4m3' ? 'general' : kernel);
  }

  #bound(numSplits: number, maxSeqlenQ: number, maxSeqlenK: number): number {
    const o = this.options;
    const tile = this.#stepTile(maxSeqlenQ);
    return stepSplitBound({
      numSplits,
      maxSeqlenQ,
      maxSeqlenK,
      numHeadsKv: o.numHeadsKv,
      qheadsPerKvhead: o.numHeadsQ / o.numHeadsKv,
      blockM: tile.blockM,
      blockN: tile.blockN,
      smCount: this.smCount,
      maxNumSplits: o.maxNumSplits,
    });
  }

  resolveNumSplits(args: { numSplits: number; maxSeqlenQ: number; maxSeqlenK: number }): number {
    const fn = 'Attention.resolveNumSplits';
    this.#ws('resolveNumSplits');
    const a = checkArgs(fn, args, ['numSplits', 'maxSeqlenQ', 'maxSeqlenK']);
    const o = this.options;
    const numSplits = checkArgInt(fn, 'numSplits', a.numSplits, 0, o.maxNumSplits);
    const maxSeqlenQ = checkArgInt(fn, 'maxSeqlenQ', a.maxSeqlenQ, 0, o.maxNumTokens);
    const maxSeqlenK = checkArgInt(fn, 'maxSeqlenK', a.maxSeqlenK, 0, o.maxNumPagesPerReq * o.pageSize);
    return this.#bound(numSplits, maxSeqlenQ, maxSeqlenK);
  }

  schedule(args: ScheduleArgs): void {
    const fn = 'Attention.schedule';
    const ws = this.#ws('schedule');
    const s = checkScheduleArgs(fn, this.options, args);
    const numSplitsBound = this.#bound(s.numSplits, s.maxSeqlenQ, s.maxSeqlenK);
    callNative(fn, () =>
      this.#native.prepare({
        stream: s.stream,
        workspace: ws.ptr,
        caps: this.#caps,
        cuSeqlensQ: s.cuSeqlensQ,
        seqLens: s.seqLens,
        numReqs: s.numReqs,
        maxSeqlenQ: s.maxSeqlenQ,
        numSplitsBound,
        smCount: this.smCount,
      }),
    );
    this.#scheduledReqs = s.numReqs;
    this.#scheduledTile = this.#stepTile(s.maxSeqlenQ);
  }

  forward(args: ForwardArgs): void {
    const fn = 'Attention.forward';
    const ws = this.#ws('forward');
    const f: CheckedForward = checkForwardArgs(fn, this.options, args);
    if (this.#scheduledReqs === 0) {
      throw new Fa3Error({
        code: 'not_scheduled',
        call: fn,
        problem: 'forward reads the metadata that schedule() writes, and no schedule() ran yet',
        fix: 'Call schedule() first (in the same stream order).',
      });
    }
    if (f.numReqs !== this.#scheduledReqs) {
      outOfRange(fn, 'numReqs', f.numReqs, `${this.#scheduledReqs} (the numReqs of the last schedule())`);
    }
    const tile = this.#stepTile(f.maxSeqlenQ);
    const st = this.#scheduledTile;
    if (st && (tile.blockM !== st.blockM || tile.blockN !== st.blockN)) {
      outOfRange(
        fn,
        'maxSeqlenQ',
        f.maxSeqlenQ,
        `a value picking a kernel of ${st.blockM}x${st.blockN} tiles, as the last schedule() did (this one picks ${tile.blockM}x${tile.blockN})`,
        'Pass schedule() and forward() the same maxSeqlenQ.',
      );
    }
    const numSplitsBound = this.#bound(f.numSplits, f.maxSeqlenQ, f.maxSeqlenK);
    callNative(fn, () =>
      this.#native.forward({
        stream: f.stream,
        workspace: ws.ptr,
        caps: this.#caps,
        q: f.q,
        kCache: f.kCache,
        vCache: f.vCache,
        out: f.out,
        lse: f.lse,
        sinks: f.sinks,
        pageTable: f.pageTable,
        pageTableStride: f.pageTableStride,
        cuSeqlensQ: f.cuSeqlensQ,
        seqLens: f.seqLens,
        numReqs: f.numReqs,
        maxSeqlenQ: f.maxSeqlenQ,
        maxSeqlenK: f.maxSeqlenK,
        softmaxScale: f.softmaxScale,
        numSplitsBound,
        smCount: this.smCount,
        ...(f.kDescale === 0n ? {} : { kDescale: f.kDescale }),
        ...(f.vDescale === 0n ? {} : { vDescale: f.vDescale }),
        ...(this.#fp8Fast ? { fp8Fast: true } : {}),
      }),
    );
  }

  writeKvCache(args: WriteKvCacheArgs): void {
    const fn = 'Attention.writeKvCache';
    this.#ws('writeKvCache');
    const w = checkWriteKvCacheArgs(fn, this.options, args);
    if (w.numTokens === 0) return; // nothing to write; no launch
    callNative(fn, () => this.#native.writeKvCache({ ...w, caps: this.#caps }));
  }

  readMetadata(): AttentionMetadata {
    const ws = this.#ws('readMetadata');
    const n = this.options.maxNumReqs;
    const splits = ws.read(new Int32Array(n), { offset: this.#layout.splitsOffset });
    const tileOffsets = ws.read(new Int32Array(n + 1), { offset: this.#layout.tileOffsetsOffset });
    const order = ws.read(new Int32Array(n), { offset: this.#layout.orderOffset });
    return { splits, tileOffsets, order, totalTiles: tileOffsets[n]! };
  }

  dispose(): void {
    const ws = this.#workspace;
    this.#workspace = undefined;
    ws?.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Creates an attention instance: validates every option, then allocates its one workspace
 * (metadata, tile counters, fp32 split partials) sized by the capacities. Nothing allocates later.
 */
export function createAttention(opts: AttentionOptions): Attention {
  const fn = 'createAttention';
  const { options, caps } = resolveOptions(opts);
  const native = requireNative(fn);
  const st = callNative(`${fn} (status)`, () => native.status());
  if (!st.available) throw new NoCudaDeviceError(`${fn}: ${st.reason ?? 'the fa3 addon reports no usable device'}`);
  const smCount = st.smCount ?? 0;
  if (!Number.isInteger(smCount) || smCount < 1 || smCount > MAX_SM_COUNT) {
    throw new Fa3Error({
      code: 'addon_mismatch',
      call: fn,
      problem: `the addon reported smCount ${smCount}, outside [1, ${MAX_SM_COUNT}]`,
      fix: 'Rebuild the fa3 addon for this version of @flashgraph/fa3.',
    });
  }
  const tile = callNative(`${fn} (tileShape)`, () =>
    native.tileShape(options.headDim, options.numHeadsQ / options.numHeadsKv),
  );
  const tiles = worstCaseTiles(options, tile.blockM);
  if (tiles > INT32_MAX) {
    outOfRange(
      fn,
      'maxNumSplits',
      options.maxNumSplits,
      `maxNumSplits x numHeadsKv x (maxNumTokens x G / ${tile.blockM} + maxNumReqs) <= ${INT32_MAX} work tiles (int32 tile offsets); here ${tiles}`,
      'Lower maxNumSplits, maxNumTokens or maxNumReqs.',
    );
  }
  const layout = callNative(`${fn} (workspaceLayout)`, () => native.workspaceLayout(caps));
  const minBytes = partialsBytes(options);
  if (!Number.isSafeInteger(layout.totalBytes) || layout.totalBytes < minBytes) {
    throw new Fa3Error({
      code: 'addon_mismatch',
      call: fn,
      problem: `the addon's workspace (${layout.totalBytes} bytes) is smaller than the split partials (${minBytes} bytes)`,
      fix: 'Rebuild the fa3 addon for this version of @flashgraph/fa3.',
    });
  }
  const workspace = DeviceBuffer.alloc(layout.totalBytes, { device: options.device });
  try {
    workspace.fill(0); // metadata reads as an empty schedule and the tile counters start at 0
  } catch (err) {
    workspace.dispose();
    throw err;
  }
  return new AttentionImpl(
    native,
    options,
    caps,
    smCount,
    Object.freeze({ blockM: tile.blockM, blockN: tile.blockN }),
    layout,
    workspace,
  );
}
