// The public constructor: the builder on CUDA memory from @flashgraph/cuda.
import type { DeviceBuffer } from '@flashgraph/cuda';
import { createBuilderWithMemory, type MetadataBuilder, type MetadataBuilderOptions } from './builder.js';
import { allocateCudaMemory, type StreamArg } from './cuda-memory.js';

export type CudaMetadataBuilder = MetadataBuilder<DeviceBuffer, StreamArg>;

/**
 * Creates a metadata builder: validates the options against the attention's capacities, then
 * allocates one pinned staging buffer and one device buffer (neutral from the start) for
 * queryStartLoc, seqLens, blockTable, slotMapping and positions at fixed offsets.
 */
export function createMetadataBuilder(options: MetadataBuilderOptions<DeviceBuffer, StreamArg>): CudaMetadataBuilder {
  return createBuilderWithMemory(options, allocateCudaMemory);
}
