// @flashgraph/attn-metadata: public API. See README.md.
export { createMetadataBuilder, type CudaMetadataBuilder } from './create-metadata-builder.js';
export type { MetadataBuilder, MetadataBuilderOptions, BuildOptions, StageOptions } from './builder.js';
export { forwardArgs, scheduleArgs, type ForwardArgs, type ForwardInputs } from './forward-args.js';
export { describe, type MetadataDescription } from './describe.js';
export {
  createHostMirror,
  NEUTRAL_BLOCK_ID,
  NEUTRAL_POSITION,
  NEUTRAL_SEQ_LEN,
  NEUTRAL_SLOT,
  type HostMirror,
  type HostMirrorOptions,
  type HostPadding,
  type HostStep,
  type HostStepOptions,
} from './host-mirror.js';
export type { BlockTableRows } from './block-table-rows.js';
export { metadataLayout, type MetadataLayout } from './layout.js';
export { isFullGraphStep } from './split-bound.js';
export { MetadataError, type MetadataErrorCode } from './errors.js';
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
