// @flashgraph/attn-metadata: public API. See README.md.

export type { BlockTableRows } from './block-table-rows.js';
export type { BuildOptions, MetadataBuilder, MetadataBuilderOptions, StageOptions } from './builder.js';
export { type CudaMetadataBuilder, createMetadataBuilder } from './create-metadata-builder.js';
export { describe, type MetadataDescription } from './describe.js';
export { MetadataError, type MetadataErrorCode } from './errors.js';
export { type ForwardArgs, type ForwardInputs, forwardArgs, scheduleArgs } from './forward-args.js';
export {
  createHostMirror,
  type HostMirror,
  type HostMirrorOptions,
  type HostPadding,
  type HostStep,
  type HostStepOptions,
  NEUTRAL_BLOCK_ID,
  NEUTRAL_POSITION,
  NEUTRAL_SEQ_LEN,
  NEUTRAL_SLOT,
} from './host-mirror.js';
export { type MetadataLayout, metadataLayout } from './layout.js';
export { isFullGraphStep } from './split-bound.js';
export type {
  AttentionLike,
  AttentionMetadata,
  GraphConfigLike,
  MetadataBatch,
  MetadataCapacities,
  MetadataRequest,
  MetadataRequestWithBlockIds,
  MetadataRequestWithRow,
  ScheduleArgs,
} from './types.js';
