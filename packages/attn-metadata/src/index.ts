// @flashgraph/attn-metadata: public API. See README.md.

export type { BlockTableRows } from './block-table-rows.js';
export type { BuildOptions, MetadataBuilder, MetadataBuilderOptions, StageOptions } from './builder.js';
export { type CudaMetadataBuilder, createMetadataBuilder } from './create-metadata-builder.js';
export * from './host.js';
