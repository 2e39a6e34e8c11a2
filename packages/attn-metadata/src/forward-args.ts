// The one place that turns a step's metadata into attention arguments. `build` schedules with
// `scheduleArgs(metadata, stream)` and callers run the kernel with `forwardArgs(metadata, ...)`;
// both take numSplits, numReqs and the max lengths from the same fields, so the split bound the
// scheduler planned for is the bound the kernel runs with.
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

function stepArgs<Buffer>(metadata: AttentionMetadata<Buffer>): StepArgs<Buffer> {
  return {
    cuSeqlensQ: metadata.queryStartLoc,
    seqLens: metadata.seqLens,
    // The kernels see the padded requests: a graph captured at this padded size replays with it.
    numReqs: metadata.numPaddedReqs,
    maxSeqlenQ: metadata.maxSeqlenQ,
    maxSeqlenK: metadata.maxSeqlenK,
    numSplits: metadata.maxNumSplits,
  };
}

/** The `attention.schedule` arguments of a step. */
export function scheduleArgs<Buffer, StreamArg>(
  metadata: AttentionMetadata<Buffer>,
  stream: StreamArg,
): ScheduleArgs<Buffer, StreamArg> {
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
}

export type ForwardArgs<Buffer, StreamArg, Tensor> = ForwardInputs<StreamArg, Tensor> &
  StepArgs<Buffer> & { pageTable: Buffer; pageTableStride: number };

/**
 * The `attention.forward` arguments of a step: the caller's tensors plus the metadata's page
 * table, lengths, padded request count and split bound (the same values `build` scheduled with).
 */
export function forwardArgs<Buffer, StreamArg, Tensor>(
  metadata: AttentionMetadata<Buffer>,
  inputs: ForwardInputs<StreamArg, Tensor>,
): ForwardArgs<Buffer, StreamArg, Tensor> {
  const args: ForwardArgs<Buffer, StreamArg, Tensor> = {
    stream: inputs.stream,
    q: inputs.q,
    kCache: inputs.kCache,
    vCache: inputs.vCache,
    out: inputs.out,
    pageTable: metadata.blockTable,
    pageTableStride: metadata.blockTableStride,
    ...stepArgs(metadata),
  };
  if (inputs.lse !== undefined) args.lse = inputs.lse;
  if (inputs.softmaxScale !== undefined) args.softmaxScale = inputs.softmaxScale;
  return args;
}
