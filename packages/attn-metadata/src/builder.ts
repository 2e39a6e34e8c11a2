// The CUDA metadata builder: the host builder's step writer (validation, the host mirror, the step
// rule) over pinned staging memory, then one step copy and the scheduler launch on the caller's
// stream. Memory comes from a MetadataMemory (pinned staging and one device buffer, allocated
// once), so the addresses a captured graph reads never change.
import { DisposedError } from '@flashgraph/errors';
import type { BlockTableRows } from './block-table-rows.js';
import type { MetadataMemory, MetadataMemoryFactory } from './device-memory.js';
import { MetadataError } from './errors.js';
import { scheduleArgs } from './forward-args.js';
import { checkBuilderOptions, StepWriter } from './host-metadata-builder.js';
import { createHostMirrorWith, type HostMirror, type HostStepOptions } from './host-mirror.js';
import { copyByteLength, layoutOf, type MetadataLayout } from './layout.js';
import { type MetadataSource, registerMetadata } from './metadata-registry.js';
import type { StepFields } from './step-metadata.js';
import type { AttentionLike, AttentionMetadata, GraphConfigLike, MetadataBatch, MetadataCapacities } from './types.js';
import { checkFitsAttention, validateAttention } from './validate-options.js';

export interface MetadataBuilderOptions<Buffer, StreamArg> extends MetadataCapacities {
  /** The attention this metadata feeds (`createAttention` of @flashgraph/fa3). */
  attention: AttentionLike<Buffer, StreamArg>;
  /** The resolved graph config (`resolveGraphConfig` of @flashgraph/config). */
  graphConfig: GraphConfigLike;
}

/**
 * Options of `stage`: the padding, and `decodeGraph`: the metadata feeds a full graph that only
 * ever replays uniform decode batches. In a full-graph step, true makes `maxSeqlenQ` the decode
 * query length (`min(uniformDecodeQueryLen, numPaddedTokens)`, so the attention can pick its
 * decode kernel) and requires a uniform decode batch; false makes it `numPaddedTokens` (a graph
 * that may replay any batch of this size); omitted, it is true exactly for uniform decode batches
 * when `graphConfig.fullGraphsFor` is `'uniform_decode'`. Steps outside full graphs ignore it
 * (their `maxSeqlenQ` is the real longest query) but still check the batch when it is true.
 */
export type StageOptions = HostStepOptions;

export interface BuildOptions<StreamArg> extends StageOptions {
  /** The stream the copy and the scheduler run on; may be capturing. */
  stream: StreamArg;
}

export interface MetadataBuilder<Buffer, StreamArg> {
  readonly capacities: MetadataCapacities;
  /** The graph config the builder was created with (the step rule reads it). */
  readonly graphConfig: GraphConfigLike;
  readonly layout: MetadataLayout;
  /** The staging arrays (read-only use: tests compare them with the device). */
  readonly host: Omit<HostMirror, 'write'>;
  /** The one device buffer holding every array (layout offsets). */
  readonly deviceBuffer: Buffer;
  /**
   * Block-table rows that live across steps (host memory): acquire a row per request, append its
   * KV pages as they are allocated (each id checked once), and give `blockTableRow` in the batch.
   */
  readonly blockTableRows: BlockTableRows;
  /**
   * Validates the batch, writes the host mirror, then enqueues on `stream` one async copy of it to
   * the device buffer and `attention.schedule` with the step's split bound.
   */
  build(batch: MetadataBatch, options: BuildOptions<StreamArg>): AttentionMetadata<Buffer>;
  /**
   * Validates the batch and writes the host mirror only, for replaying a graph that captured
   * `build` (its copy and scheduler launch run inside the graph). Same result as `build`.
   */
  stage(batch: MetadataBatch, options?: StageOptions): AttentionMetadata<Buffer>;
  readonly disposed: boolean;
  /** Frees the staging and device buffers (not the attention). */
  dispose(): void;
  [Symbol.dispose](): void;
}

export function createBuilderWithMemory<Buffer, StreamArg>(
  options: MetadataBuilderOptions<Buffer, StreamArg>,
  allocate: MetadataMemoryFactory<Buffer, StreamArg>,
): MetadataBuilder<Buffer, StreamArg> {
  const checked = checkBuilderOptions(options, ['attention']);
  const { caps, graphConfig } = checked;
  const attention = validateAttention(checked.attention, true) as AttentionLike<Buffer, StreamArg>;
  checkFitsAttention(caps, attention, graphConfig);
  // The layout is known (and bounded) before the memory exists; then the mirror moves onto the staging.
  const memory = allocate(layoutOf(caps).byteLength);
  try {
    const host = createHostMirrorWith(
      { ...caps, uniformDecodeQueryLen: graphConfig.uniformDecodeQueryLen },
      memory.staging,
    );
    memory.uploadAll();
    return new Builder(new StepWriter(caps, graphConfig, host), attention, memory);
  } catch (err) {
    memory.dispose();
    throw err;
  }
}

class Builder<Buffer, StreamArg> implements MetadataBuilder<Buffer, StreamArg>, MetadataSource {
  readonly layout: MetadataLayout;
  readonly deviceBuffer: Buffer;
  private readonly views: {
    queryStartLoc: Buffer;
    seqLens: Buffer;
    blockTable: Buffer;
    slotMapping: Buffer;
    positions: Buffer;
  };
  /** Block-table rows [0, deviceDirtyRows) of the device buffer may hold block ids. */
  private deviceDirtyRows = 0;
  private latestMetadata: AttentionMetadata<Buffer> | undefined;
  private memory: MetadataMemory<Buffer, StreamArg> | undefined;

  constructor(
    private readonly writer: StepWriter,
    readonly attention: AttentionLike<Buffer, StreamArg>,
    memory: MetadataMemory<Buffer, StreamArg>,
  ) {
    this.memory = memory;
    this.layout = writer.mirror.layout;
    this.deviceBuffer = memory.device;
    const l = this.layout;
    const R = writer.capacities.maxNumReqs;
    const T = writer.capacities.maxNumTokens;
    // Capacity-length views, made once: every step's metadata hands out the same objects.
    this.views = {
      queryStartLoc: memory.view(l.queryStartLocOffset * 4, (R + 1) * 4),
      seqLens: memory.view(l.seqLensOffset * 4, R * 4),
      slotMapping: memory.view(l.slotMappingOffset * 4, T * 4),
      positions: memory.view(l.positionsOffset * 4, T * 4),
      blockTable: memory.view(l.blockTableOffset * 4, R * l.blockTableStride * 4),
    };
  }

  get capacities(): MetadataCapacities {
    return this.writer.capacities;
  }

  get graphConfig(): GraphConfigLike {
    return this.writer.graphConfig;
  }

  get host(): HostMirror {
    return this.writer.mirror;
  }

  get blockTableRows(): BlockTableRows {
    return this.writer.mirror.blockTableRows;
  }

  get disposed(): boolean {
    return this.memory === undefined;
  }

  latest(): AttentionMetadata<unknown> | undefined {
    return this.latestMetadata;
  }

  private live(fn: string): MetadataMemory<Buffer, StreamArg> {
    if (this.memory === undefined) throw new DisposedError('MetadataBuilder', `MetadataBuilder.${fn}`);
    return this.memory;
  }

  build(batch: MetadataBatch, options: BuildOptions<StreamArg>): AttentionMetadata<Buffer> {
    const memory = this.live('build');
    const o = this.writer.readOptions(options, true);
    if (o.stream === undefined || o.stream === null) {
      throw new MetadataError(
        'invalid_stream',
        'options.stream',
        o.stream,
        'a Stream (or bigint handle) of @flashgraph/cuda',
        'build needs a stream',
      );
    }
    const stream = o.stream as StreamArg;
    const capturing = memory.isCapturing(stream);
    // Outside capture, wait for the previous step copy before overwriting the staging memory.
    // (During capture no synchronizing call is allowed; callers synchronize before capturing.)
    if (!capturing) memory.waitForStagingFree();
    const fields = this.writer.write(batch, o);
    const metadata = this.metadataFor(fields);
    // Every array at capacity plus the block-table rows that are live or still hold old ids on the
    // device: after the copy, everything past the padded counts is neutral there too.
    const rows = Math.max(fields.numPaddedReqs, this.deviceDirtyRows);
    const bytes = copyByteLength(this.layout, rows);
    registerMetadata(metadata, { source: this, copyBytes: bytes });
    memory.copyToDevice(stream, bytes, capturing);
    // A captured copy runs only at launch: the device keeps its old rows until then.
    if (!capturing) this.deviceDirtyRows = fields.numReqs;
    else this.deviceDirtyRows = Math.max(this.deviceDirtyRows, fields.numReqs);
    this.attention.schedule(scheduleArgs(metadata, stream));
    return metadata;
  }

  stage(batch: MetadataBatch, options?: StageOptions): AttentionMetadata<Buffer> {
    const memory = this.live('stage');
    const o = this.writer.readOptions(options, false);
    memory.waitForStagingFree();
    const fields = this.writer.write(batch, o);
    const metadata = this.metadataFor(fields);
    registerMetadata(metadata, { source: this, copyBytes: 0 });
    // The replayed graph copies a fixed range; rows past it may keep ids until the next build.
    this.deviceDirtyRows = Math.max(this.deviceDirtyRows, fields.numReqs);
    return metadata;
  }

  private metadataFor(fields: StepFields): AttentionMetadata<Buffer> {
    const metadata: AttentionMetadata<Buffer> = Object.freeze({
      ...fields,
      queryStartLoc: this.views.queryStartLoc,
      seqLens: this.views.seqLens,
      blockTable: this.views.blockTable,
      slotMapping: this.views.slotMapping,
      positions: this.views.positions,
    });
    this.latestMetadata = metadata;
    return metadata;
  }

  dispose(): void {
    const memory = this.memory;
    this.memory = undefined;
    this.latestMetadata = undefined;
    memory?.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
