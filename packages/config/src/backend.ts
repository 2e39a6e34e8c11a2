// The capability flashgraph's own attention backend (@flashgraph/fa3) declares.
import type { BackendCapability } from './types.js';

export type { BackendCapability };

/**
 * @flashgraph/fa3: mixed prefill/decode batches inside full graphs, AoT scheduling on the device,
 * no batch limit on its AoT metadata, head dims 64 / 96 / 128 / 192 / 256 and attention sinks (fa3's
 * `attentionCaps`, which fa3's tests hold this to). The default `context.backend`.
 */
export const fa3BackendCapability: Readonly<BackendCapability> = Object.freeze({
  cudagraphSupport: 'always',
  aotScheduling: true,
  headDims: Object.freeze([64, 96, 128, 192, 256]),
  attentionSinks: true,
});
