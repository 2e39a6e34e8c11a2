// Turning the user's step (a function or a segmented step) into one validated, frozen list of
// segments, and running segments with the checks every phase needs.
import { checkArray, InvalidArgumentError } from '@flashgraph/errors';
import { StepError } from './errors.js';
import type { GraphStep, StepContext, StepSegment } from './types.js';

/** The most segments of one step: far above a model's 2 x layers + 2, and bounds the checks. */
export const MAX_NUM_SEGMENTS = 65_536;

export interface NormalizedSegment<S> {
  readonly kind: 'graph' | 'eager';
  readonly run: (ctx: StepContext<S>) => void;
}

/** Where runAllSegments is: the index of the segment running (or that threw), -1 when done. */
export interface SegmentCursor {
  index: number;
}

const STEP_SHAPE = "a function (ctx) => void or { segments: [{ kind: 'graph' | 'eager', run }] }";

/**
 * A function becomes one `graph` segment. Piecewise modes need a segmented step with at least one
 * `graph` segment, because a plain function has no place where attention could run eagerly.
 */
export function normalizeStep<S>(
  step: GraphStep<S>,
  needsSegments: boolean,
  mode: string,
): readonly NormalizedSegment<S>[] {
  if (typeof step === 'function') {
    if (needsSegments) {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: 'step',
        value: step,
        allowed: "a segmented step { segments: [{ kind: 'graph' | 'eager', run }] }",
        problem: `mode '${mode}' captures piecewise graphs, so the step must be a segmented step, not a function`,
      });
    }
    return Object.freeze([Object.freeze({ kind: 'graph' as const, run: step })]);
  }
  if (step === null || typeof step !== 'object') {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'step',
      value: step,
      allowed: STEP_SHAPE,
      problem: `step must be ${STEP_SHAPE}`,
    });
  }
  const given = Object.hasOwn(step, 'segments') ? (step as { segments?: unknown }).segments : undefined;
  if (!Array.isArray(given)) {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'step.segments',
      value: given,
      allowed: STEP_SHAPE,
      problem: `step must be ${STEP_SHAPE}`,
    });
  }
  const segments = checkArray('step.segments', given, {
    minLength: 1,
    maxLength: MAX_NUM_SEGMENTS,
  }) as readonly (StepSegment<S> | null)[];
  const normalized: NormalizedSegment<S>[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const path = `step.segments[${i}]`;
    if (segment === null || typeof segment !== 'object') {
      throw new InvalidArgumentError({ code: 'invalid_type', path, value: segment, allowed: '{ kind, run }' });
    }
    if (segment.kind !== 'graph' && segment.kind !== 'eager') {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path: `${path}.kind`,
        value: segment.kind,
        allowed: "'graph' or 'eager'",
        problem: "kind must be 'graph' or 'eager'",
      });
    }
    if (typeof segment.run !== 'function') {
      throw new InvalidArgumentError({
        code: 'invalid_type',
        path: `${path}.run`,
        value: segment.run,
        allowed: 'function',
        problem: 'run must be a function',
      });
    }
    // Bind so a segment written as a method keeps its `this`.
    normalized.push(Object.freeze({ kind: segment.kind, run: segment.run.bind(segment) }));
  }
  if (needsSegments && !normalized.some((segment) => segment.kind === 'graph')) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'step.segments',
      value: given,
      allowed: "at least one 'graph' segment",
      problem: `mode '${mode}' needs at least one 'graph' segment, got only 'eager' segments`,
    });
  }
  return Object.freeze(normalized);
}

/** Runs segment `index`; a step that returns a promise would launch after the capture ended. */
export function runSegment<S>(segment: NormalizedSegment<S>, ctx: StepContext<S>, index: number): void {
  const result: unknown = segment.run(ctx);
  if (result !== undefined && result !== null && typeof (result as { then?: unknown }).then === 'function') {
    throw new StepError(
      'async_step',
      `step.segments[${index}]`,
      'the segment returned a promise: a step must launch its work synchronously on ctx.stream',
      'Remove the await (or async) from the step; allocate and read back outside it.',
    );
  }
}

/** Runs every segment in order; `cursor` (when given) says which one threw. */
export function runAllSegments<S>(
  segments: readonly NormalizedSegment<S>[],
  ctx: StepContext<S>,
  cursor?: SegmentCursor,
): void {
  for (let i = 0; i < segments.length; i++) {
    if (cursor) cursor.index = i;
    runSegment(segments[i]!, ctx, i);
  }
  if (cursor) cursor.index = -1;
}
