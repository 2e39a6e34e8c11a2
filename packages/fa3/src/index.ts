// @flashgraph/fa3: public API. See README.md. Everything of `@flashgraph/fa3/reference` (host-only,
// no native code) plus the Attention on the GPU.

export type { Attention, AttentionMetadata } from './attention.js';
export { createAttention } from './attention.js';
export type { ForwardArgs, ScheduleArgs, WriteKvCacheArgs } from './call-args.js';
export type { DeviceMemory, StreamLike } from './device-args.js';
export type { AttentionDtype, AttentionOptions, ResolvedAttentionOptions } from './options.js';
export * from './reference.js';
