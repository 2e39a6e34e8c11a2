// The capability flashgraph's own attention backend (@flashgraph/fa3) declares.
import type { BackendCapability } from './types.js';

export type { BackendCapability };

/**
 * @flashgraph/fa3: mixed prefill/decode batches inside full graphs, AoT scheduling on the device,
 * and no batch limit on its AoT metadata. The default `context.backend`.
 */
export const fa3BackendCapability: Readonly<BackendCapability> = Object.freeze({
  cudagraphSupport: 'always',
  aotScheduling: true,
});
