// @flashgraph/attn-metadata/host: everything that runs on plain typed arrays, with no native code
// (no @flashgraph/cuda, no addon): the host metadata builder, the host mirror, describe and the
// mapping to fa3's arguments. The main entry re-exports all of it plus the CUDA builder.

export type { BlockTableRows } from './block-table-rows.js';
export { describe, type MetadataDescription } from './describe.js';
export { MetadataError, type MetadataErrorCode } from './errors.js';
export { type ForwardArgs, type ForwardInputs, forwardArgs, scheduleArgs } from './forward-args.js';
export {
  createHostMetadataBuilder,
  type HostMetadataBuilder,
  type HostMetadataBuilderOptions,
  type HostStageOptions,
} from './host-metadata-builder.js';
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
export { type RunPlanLike, stepOptionsFromPlan } from './step-options-from-plan.js';
export type {
  AttentionCapacities,
  AttentionLike,
  AttentionMetadata,
  AttentionShape,
  GraphConfigLike,
  MetadataBatch,
  MetadataCapacities,
  MetadataRequest,
  MetadataRequestWithBlockIds,
  MetadataRequestWithRow,
  ScheduleArgs,
} from './types.js';
