// The one place that maps attn-metadata's names (vLLM's: queryStartLoc, blockTable, the padded
// request count) to fa3's (FA3's: cuSeqlensQ, pageTable, numReqs). `build` schedules with
// `scheduleArgs(metadata, stream)` and callers run the kernel with `forwardArgs(metadata, ...)`;
// both take numSplits, numReqs and the max lengths from the same fields, so the split bound the
// scheduler planned for is the bound the kernel runs with. See the glossary of docs/architecture.md.
import { InvalidArgumentError } from '@flashgraph/errors';
import { MetadataError } from './errors.js';
import { metadataRecord } from './metadata-registry.js';
import type { AttentionMetadata, ScheduleArgs } from './types.js';

/** The arguments shared by `attention.schedule` and `attention.forward`. */
interface StepArgs<Buffer> {
  cuSeqlensQ: Buffer;
  seqLens: Buffer;
  numReqs: number;
  maxSeqlenQ: number;
  maxSeqlenK: number;
  numSplits: number;
}

const COUNT_FIELDS = ['numPaddedReqs', 'maxSeqlenQ', 'maxSeqlenK', 'numSplits', 'blockTableStride'] as const;
const BUFFER_FIELDS = ['queryStartLoc', 'seqLens', 'blockTable'] as const;

/**
 * Metadata from a builder is trusted (frozen, registered); anything else is checked field by
 * field so that a null or hand-made object gives a typed error, never `undefined` arguments.
 */
function checkMetadata(metadata: unknown, fn: string): void {
  if (metadata !== null && typeof metadata === 'object' && metadataRecord(metadata) !== undefined) return;
  if (metadata === null || typeof metadata !== 'object') {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: `${fn}(metadata)`,
      value: metadata,
      allowed: 'an AttentionMetadata (build() or stage() of a metadata builder)',
    });
  }
  const m = metadata as Record<string, unknown>;
  for (const key of COUNT_FIELDS) {
    const v = Object.hasOwn(m, key) ? m[key] : undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new MetadataError('invalid_metadata', `metadata.${key}`, v, 'a non-negative integer', 'not metadata');
    }
  }
  for (const key of BUFFER_FIELDS) {
    const v = Object.hasOwn(m, key) ? m[key] : undefined;
    if (v === undefined || v === null) {
      throw new MetadataError('invalid_metadata', `metadata.${key}`, v, 'a buffer', 'not metadata');
    }
  }
}

function stepArgs<Buffer>(metadata: AttentionMetadata<Buffer>): StepArgs<Buffer> {
  return {
    cuSeqlensQ: metadata.queryStartLoc,
    seqLens: metadata.seqLens,
    // The kernels see the padded requests: a graph captured at this padded size replays with it.
    numReqs: metadata.numPaddedReqs,
    maxSeqlenQ: metadata.maxSeqlenQ,
    maxSeqlenK: metadata.maxSeqlenK,
    numSplits: metadata.numSplits,
  };
}

/** The `attention.schedule` arguments of a step. */
export function scheduleArgs<Buffer, StreamArg>(
  metadata: AttentionMetadata<Buffer>,
  stream: StreamArg,
): ScheduleArgs<Buffer, StreamArg> {
  checkMetadata(metadata, 'scheduleArgs');
  return { stream, ...stepArgs(metadata) };
}

/** What the caller supplies for `attention.forward`; the rest comes from the metadata. */
export interface ForwardInputs<StreamArg, Tensor> {
  stream: StreamArg;
  q: Tensor;
  kCache: Tensor;
  vCache: Tensor;
  out: Tensor;
  lse?: Tensor;
  softmaxScale?: number;
  /** fp32 `[numHeadsQ]` attention sinks of this layer (fa3's `sinks`); absent = none. */
  sinks?: Tensor;
}

export type ForwardArgs<Buffer, StreamArg, Tensor> = ForwardInputs<StreamArg, Tensor> &
  StepArgs<Buffer> & { pageTable: Buffer; pageTableStride: number };

const INPUT_KEYS = ['stream', 'q', 'kCache', 'vCache', 'out', 'lse', 'softmaxScale', 'sinks'];

/**
 * The `attention.forward` arguments of a step: the caller's tensors plus the metadata's page
 * table, lengths, padded request count and split request (the same values `build` scheduled
 * with). Reads `inputs`' own properties only; the attention checks each tensor.
 */
export function forwardArgs<Buffer, StreamArg, Tensor>(
  metadata: AttentionMetadata<Buffer>,
  inputs: ForwardInputs<StreamArg, Tensor>,
): ForwardArgs<Buffer, StreamArg, Tensor> {
  checkMetadata(metadata, 'forwardArgs');
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'forwardArgs(inputs)',
      value: inputs,
      allowed: '{ stream, q, kCache, vCache, out, lse?, softmaxScale?, sinks? }',
    });
  }
  const own = (key: string): unknown =>
    Object.hasOwn(inputs, key) ? (inputs as unknown as Record<string, unknown>)[key] : undefined;
  for (const key in inputs) {
    if (Object.hasOwn(inputs, key) && !INPUT_KEYS.includes(key)) {
      throw new InvalidArgumentError({
        code: 'unknown_option',
        path: `inputs.${key}`,
        value: own(key),
        allowed: `one of the keys ${INPUT_KEYS.join(', ')}`,
      });
    }
  }
  const args = {
    stream: own('stream'),
    q: own('q'),
    kCache: own('kCache'),
    vCache: own('vCache'),
    out: own('out'),
    pageTable: metadata.blockTable,
    pageTableStride: metadata.blockTableStride,
    ...stepArgs(metadata),
  } as ForwardArgs<Buffer, StreamArg, Tensor>;
  const lse = own('lse');
  const softmaxScale = own('softmaxScale');
  const sinks = own('sinks');
  if (lse !== undefined) args.lse = lse as Tensor;
  if (softmaxScale !== undefined) args.softmaxScale = softmaxScale as number;
  if (sinks !== undefined) args.sinks = sinks as Tensor;
  return args;
}
