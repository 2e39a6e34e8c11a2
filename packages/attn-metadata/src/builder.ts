// The metadata builder: validation, the host mirror, the split bound, then one step copy and the
// scheduler launch on the caller's stream. Memory comes from a MetadataMemory (pinned staging and
// one device buffer, allocated once), so the addresses a captured graph reads never change.
import type { BlockTableRows } from './block-table-rows.js';
import type { MetadataMemory, MetadataMemoryFactory } from './device-memory.js';
import { MetadataError } from './errors.js';
import { scheduleArgs } from './forward-args.js';
import { createHostMirror, type HostMirror, type HostStep, type HostStepOptions } from './host-mirror.js';
import { copyByteLength, type MetadataLayout } from './layout.js';
import { type MetadataSource, registerMetadata } from './metadata-registry.js';
import { isFullGraphStep, stepMaxNumSplits } from './split-bound.js';
import type { AttentionLike, AttentionMetadata, GraphConfigLike, MetadataBatch, MetadataCapacities } from './types.js';
import { checkFitsAttention, validateAttention, validateCapacities, validateGraphConfig } from './validate-options.js';

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
  const caps = validateCapacities(options);
  const attention = validateAttention(options.attention) as AttentionLike<Buffer, StreamArg>;
  const graphConfig = validateGraphConfig(options.graphConfig);
  checkFitsAttention(caps, attention, graphConfig);
  // The host mirror validates the layout before the memory exists; then it moves onto the staging.
  const probe = createHostMirror(caps);
  const memory = allocate(probe.layout.byteLength);
  try {
    const host = createHostMirror(
      { ...caps, uniformDecodeQueryLen: graphConfig.uniformDecodeQueryLen },
      memory.staging,
    );
    memory.uploadAll();
    return new Builder(caps, attention, graphConfig, host, memory);
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
  private readonly maxSeqLenBound: number;

  constructor(
    readonly capacities: MetadataCapacities,
    readonly attention: AttentionLike<Buffer, StreamArg>,
    private readonly graphConfig: GraphConfigLike,
    readonly host: HostMirror,
    memory: MetadataMemory<Buffer, StreamArg>,
  ) {
    this.memory = memory;
    this.layout = host.layout;
    this.deviceBuffer = memory.device;
    const l = host.layout;
    const R = capacities.maxNumReqs;
    const T = capacities.maxNumTokens;
    // Capacity-length views, made once: every step's metadata hands out the same objects.
    this.views = {
      queryStartLoc: memory.view(l.queryStartLocOffset * 4, (R + 1) * 4),
      seqLens: memory.view(l.seqLensOffset * 4, R * 4),
      slotMapping: memory.view(l.slotMappingOffset * 4, T * 4),
      positions: memory.view(l.positionsOffset * 4, T * 4),
      blockTable: memory.view(l.blockTableOffset * 4, R * l.blockTableStride * 4),
    };
    this.maxSeqLenBound = capacities.maxBlocksPerReq * capacities.blockSize;
  }

  get blockTableRows(): BlockTableRows {
    return this.host.blockTableRows;
  }

  get disposed(): boolean {
    return this.memory === undefined;
  }

  latest(): AttentionMetadata<unknown> | undefined {
    return this.latestMetadata;
  }

  private live(fn: string): MetadataMemory<Buffer, StreamArg> {
    if (this.memory === undefined) {
      throw new MetadataError(
        'disposed',
        `MetadataBuilder.${fn}`,
        'disposed',
        'a live builder',
        'this builder was disposed',
      );
    }
    return this.memory;
  }

  build(batch: MetadataBatch, options: BuildOptions<StreamArg>): AttentionMetadata<Buffer> {
    const memory = this.live('build');
    if (options === null || typeof options !== 'object' || options.stream === undefined || options.stream === null) {
      throw new MetadataError(
        'invalid_stream',
        'options.stream',
        options?.stream,
        'a Stream (or bigint handle) of @flashgraph/cuda',
        'build needs a stream',
      );
    }
    const stream = options.stream;
    const capturing = memory.isCapturing(stream);
    // Outside capture, wait for the previous step copy before overwriting the staging memory.
    // (During capture no synchronizing call is allowed; callers synchronize before capturing.)
    if (!capturing) memory.waitForStagingFree();
    const step = this.writeHost(batch, options);
    const metadata = this.metadataFor(step, options.decodeGraph);
    // Every array at capacity plus the block-table rows that are live or still hold old ids on the
    // device: after the copy, everything past the padded counts is neutral there too.
    const rows = Math.max(step.numPaddedReqs, this.deviceDirtyRows);
    const bytes = copyByteLength(this.layout, rows);
    registerMetadata(metadata, { source: this, copyBytes: bytes });
    memory.copyToDevice(stream, bytes, capturing);
    // A captured copy runs only at launch: the device keeps its old rows until then.
    if (!capturing) this.deviceDirtyRows = step.numReqs;
    else this.deviceDirtyRows = Math.max(this.deviceDirtyRows, step.numReqs);
    this.attention.schedule(scheduleArgs(metadata, stream));
    return metadata;
  }

  stage(batch: MetadataBatch, options?: StageOptions): AttentionMetadata<Buffer> {
    const memory = this.live('stage');
    memory.waitForStagingFree();
    const step = this.writeHost(batch, options ?? {});
    const metadata = this.metadataFor(step, options?.decodeGraph);
    registerMetadata(metadata, { source: this, copyBytes: 0 });
    // The replayed graph copies a fixed range; rows past it may keep ids until the next build.
    this.deviceDirtyRows = Math.max(this.deviceDirtyRows, step.numReqs);
    return metadata;
  }

  private writeHost(batch: MetadataBatch, options: HostStepOptions): HostStep {
    // fa3 schedules at least one request: an empty step must be padded to one (checked before
    // anything is written).
    const requests = (batch as { requests?: ArrayLike<unknown> } | null)?.requests;
    if (requests?.length === 0 && (options.padToReqs === undefined || options.padToReqs === 0)) {
      throw new MetadataError(
        'invalid_padding',
        'options.padToReqs',
        options.padToReqs,
        `[1, ${this.capacities.maxNumReqs}]`,
        'a step without requests must be padded to at least one (empty) request',
      );
    }
    return this.host.write(batch, options);
  }

  /** `decodeGraph` was checked by the host write (a boolean or undefined; true only for uniform decode). */
  private metadataFor(step: HostStep, decodeGraph: boolean | undefined): AttentionMetadata<Buffer> {
    const g = this.graphConfig;
    const fullGraph = isFullGraphStep(g, step.numPaddedTokens, step.uniformDecode);
    // In a full graph the kernels get bounds valid for every batch replayed at this padded size:
    // the decode query length in a graph only uniform decode batches replay, else the token count.
    // The caller knows which graph this is; the content does not (a mixed graph's capture batch
    // is N one-token requests).
    const decodeOnly = decodeGraph ?? (g.fullGraphsFor === 'uniform_decode' && step.uniformDecode);
    const maxSeqlenQ = !fullGraph
      ? step.maxQueryLen
      : decodeOnly
        ? Math.min(g.uniformDecodeQueryLen, step.numPaddedTokens)
        : step.numPaddedTokens;
    const metadata: AttentionMetadata<Buffer> = Object.freeze({
      numActualTokens: step.numActualTokens,
      numReqs: step.numReqs,
      numPaddedTokens: step.numPaddedTokens,
      numPaddedReqs: step.numPaddedReqs,
      maxQueryLen: step.maxQueryLen,
      maxSeqLen: step.maxSeqLen,
      maxSeqlenQ,
      maxSeqlenK: fullGraph ? this.maxSeqLenBound : step.maxSeqLen,
      uniformDecode: step.uniformDecode,
      fullGraph,
      maxNumSplits: stepMaxNumSplits(g, fullGraph),
      queryStartLoc: this.views.queryStartLoc,
      seqLens: this.views.seqLens,
      blockTable: this.views.blockTable,
      blockTableStride: this.layout.blockTableStride,
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
