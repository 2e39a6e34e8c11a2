// Links each AttentionMetadata object to the builder state that `describe` needs (the host mirror
// and the attention's shape) without putting internals on the public, frozen object.
import type { HostMirror } from './host-mirror.js';
import type { AttentionMetadata, AttentionShape } from './types.js';

export interface MetadataSource {
  readonly host: HostMirror;
  /** The attention the metadata feeds; a host builder may have none (then `describe` cannot plan splits). */
  readonly attention: AttentionShape | undefined;
  /** The latest metadata the builder wrote: only its data is still in the host mirror. */
  latest(): AttentionMetadata<unknown> | undefined;
}

export interface MetadataRecord {
  readonly source: MetadataSource;
  /** Bytes of the step copy (0 for `stage`, which copies nothing itself). */
  readonly copyBytes: number;
}

// One map per process, shared by every bundled copy of this module (the main entry and
// `/host` are built separately): metadata from the CUDA builder of one entry is described by the
// `describe` of the other.
const REGISTRY = Symbol.for('@flashgraph/attn-metadata.metadata-registry');
const shared = globalThis as { [REGISTRY]?: WeakMap<object, MetadataRecord> };
if (shared[REGISTRY] === undefined) shared[REGISTRY] = new WeakMap<object, MetadataRecord>();
const records: WeakMap<object, MetadataRecord> = shared[REGISTRY];

export function registerMetadata(metadata: AttentionMetadata<unknown>, record: MetadataRecord): void {
  records.set(metadata, record);
}

export function metadataRecord(metadata: object): MetadataRecord | undefined {
  return records.get(metadata);
}
