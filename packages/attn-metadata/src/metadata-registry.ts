// Links each AttentionMetadata object to the builder state that `describe` needs (the host mirror
// and the attention's shape) without putting internals on the public, frozen object.
import type { HostMirror } from './host-mirror.js';
import type { AttentionLike, AttentionMetadata } from './types.js';

export interface MetadataSource {
  readonly host: HostMirror;
  readonly attention: AttentionLike<unknown, unknown>;
  /** The latest metadata the builder wrote: only its data is still in the host mirror. */
  latest(): AttentionMetadata<unknown> | undefined;
}

export interface MetadataRecord {
  readonly source: MetadataSource;
  /** Bytes of the step copy (0 for `stage`, which copies nothing itself). */
  readonly copyBytes: number;
}

const records = new WeakMap<object, MetadataRecord>();

export function registerMetadata(metadata: AttentionMetadata<unknown>, record: MetadataRecord): void {
  records.set(metadata, record);
}

export function metadataRecord(metadata: object): MetadataRecord | undefined {
  return records.get(metadata);
}
