// The metadata builder on plain typed arrays: validation, the host mirror and the step rule
// (full graph, split bound, max lengths), with no device and no native code. The CUDA builder
// (`createMetadataBuilder`) is this core over pinned staging memory plus one device copy and the
// scheduler launch per step, so both return the same fields for the same batch.
import { checkOptions } from '@flashgraph/errors';
import type { BlockTableRows } from './block-table-rows.js';
import { MetadataError } from './errors.js';
import { createHostMirrorWith, type HostMirror, type HostStepOptions, type Mirror } from './host-mirror.js';
import type { MetadataLayout } from './layout.js';
import { type MetadataSource, registerMetadata } from './metadata-registry.js';
import { type StepRoute, stepRouteLookup } from './split-bound.js';
import { type StepFields, stepFields } from './step-metadata.js';
import { type RawStepOptions, readStepOptions } from './step-options.js';
import type { AttentionMetadata, AttentionShape, GraphConfigLike, MetadataBatch, MetadataCapacities } from './types.js';
import { checkFitsAttention, validateAttention, validateCapacities, validateGraphConfig } from './validate-options.js';

export interface HostMetadataBuilderOptions extends MetadataCapacities {
  /**
   * The resolved graph config (`resolveGraphConfig` of @flashgraph/config): the full-graph rule,
   * the split bound and `uniformDecodeQueryLen` all come from it.
   */
  graphConfig: GraphConfigLike;
  /**
   * The attention the metadata feeds (an `@flashgraph/fa3` Attention, or just its `options` and an
   * optional `smCount` on a machine without a GPU). When given, the capacities are checked against
   * it (`capacity_mismatch`) and `describe` plans each step's splits; without it `describe` throws.
   */
  attention?: AttentionShape;
}

/** What `stage` takes: the padding and `decodeGraph` (see `StageOptions` of the CUDA builder). */
export type HostStageOptions = HostStepOptions;

export interface HostMetadataBuilder {
  readonly capacities: MetadataCapacities;
  readonly layout: MetadataLayout;
  readonly graphConfig: GraphConfigLike;
  /** The host mirror's arrays (read-only use); the metadata's buffers are views of them. */
  readonly host: Omit<HostMirror, 'write'>;
  /** Block-table rows that live across steps; a request names one with `blockTableRow`. */
  readonly blockTableRows: BlockTableRows;
  /**
   * Validates the batch (nothing is written when it is rejected), writes the step and returns its
   * metadata: the same fields the CUDA builder returns for this batch, the buffers being
   * capacity-length Int32Array views of `host`.
   */
  stage(batch: MetadataBatch, options?: HostStageOptions): AttentionMetadata<Int32Array>;
}

const BUILDER_KEYS = ['maxNumReqs', 'maxNumTokens', 'blockSize', 'numBlocks', 'maxBlocksPerReq', 'graphConfig'];

/** The checked options of a builder, before any memory exists. */
export interface CheckedBuilderOptions {
  readonly caps: MetadataCapacities;
  readonly graphConfig: GraphConfigLike;
  /** The own `attention` option (unchecked: each builder checks it for what it needs). */
  readonly attention: unknown;
}

export function checkBuilderOptions(options: unknown, extraKeys: readonly string[]): CheckedBuilderOptions {
  const o = checkOptions('options', options, [...BUILDER_KEYS, ...extraKeys]);
  const caps = validateCapacities(o);
  const graphConfig = validateGraphConfig(o.graphConfig);
  return { caps, graphConfig, attention: o.attention };
}

/**
 * The step writer both builders share: the empty-step rule, the host write and the step rule.
 * `write` returns the fields; the caller adds its buffers.
 */
export class StepWriter {
  readonly maxSeqLenBound: number;
  readonly stepOptions: RawStepOptions;
  /** The config's route decision for this builder's request capacity (built once). */
  private readonly route: StepRoute;

  constructor(
    readonly capacities: MetadataCapacities,
    readonly graphConfig: GraphConfigLike,
    readonly mirror: Mirror,
  ) {
    this.maxSeqLenBound = capacities.maxBlocksPerReq * capacities.blockSize;
    this.stepOptions = mirror.stepOptions;
    this.route = stepRouteLookup(graphConfig, capacities.maxNumReqs);
  }

  /** Reads `options` (own keys only; `withStream` for `build`'s) into the reused `stepOptions`. */
  readOptions(options: unknown, withStream: boolean): RawStepOptions {
    return readStepOptions(options, withStream, this.stepOptions);
  }

  write(batch: MetadataBatch, o: RawStepOptions): StepFields {
    // fa3 schedules at least one request: an empty step must be padded to one (checked before
    // anything is written).
    const requests =
      batch !== null && typeof batch === 'object' && Object.hasOwn(batch, 'requests')
        ? (batch as { requests?: unknown }).requests
        : undefined;
    if (Array.isArray(requests) && requests.length === 0 && (o.padToReqs === undefined || o.padToReqs === 0)) {
      throw new MetadataError(
        'invalid_padding',
        'options.padToReqs',
        o.padToReqs,
        `[1, ${this.capacities.maxNumReqs}]`,
        'a step without requests must be padded to at least one (empty) request',
      );
    }
    const step = this.mirror.writeStep(batch, o);
    return stepFields(
      step,
      this.graphConfig,
      this.route,
      o.decodeGraph as boolean | undefined,
      this.maxSeqLenBound,
      this.mirror.layout.blockTableStride,
    );
  }
}

/**
 * Creates a metadata builder over plain typed arrays: the split-bound and full-graph rule of the
 * CUDA builder, usable without CUDA (a CPU runtime, tests, a scheduler's dry run). Checks every
 * option (and the attention's capacities, when given) before allocating.
 */
export function createHostMetadataBuilder(options: HostMetadataBuilderOptions): HostMetadataBuilder {
  const checked = checkBuilderOptions(options, ['attention']);
  const { caps, graphConfig } = checked;
  const attention = checked.attention === undefined ? undefined : validateAttention(checked.attention, false);
  if (attention !== undefined) checkFitsAttention(caps, attention, graphConfig);
  const mirror = createHostMirrorWith({ ...caps, uniformDecodeQueryLen: graphConfig.uniformDecodeQueryLen });
  return new HostBuilder(new StepWriter(caps, graphConfig, mirror), attention);
}

class HostBuilder implements HostMetadataBuilder, MetadataSource {
  private latestMetadata: AttentionMetadata<Int32Array> | undefined;

  constructor(
    private readonly writer: StepWriter,
    readonly attention: AttentionShape | undefined,
  ) {}

  get capacities(): MetadataCapacities {
    return this.writer.capacities;
  }

  get graphConfig(): GraphConfigLike {
    return this.writer.graphConfig;
  }

  get layout(): MetadataLayout {
    return this.writer.mirror.layout;
  }

  get host(): HostMirror {
    return this.writer.mirror;
  }

  get blockTableRows(): BlockTableRows {
    return this.writer.mirror.blockTableRows;
  }

  latest(): AttentionMetadata<unknown> | undefined {
    return this.latestMetadata;
  }

  stage(batch: MetadataBatch, options?: HostStageOptions): AttentionMetadata<Int32Array> {
    const fields = this.writer.write(batch, this.writer.readOptions(options, false));
    const h = this.writer.mirror;
    const metadata: AttentionMetadata<Int32Array> = Object.freeze({
      ...fields,
      queryStartLoc: h.queryStartLoc,
      seqLens: h.seqLens,
      blockTable: h.blockTable,
      slotMapping: h.slotMapping,
      positions: h.positions,
    });
    this.latestMetadata = metadata;
    registerMetadata(metadata, { source: this, copyBytes: 0 });
    return metadata;
  }
}
