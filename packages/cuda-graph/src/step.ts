// Turning the user's step (a function or a segmented step) into one validated, frozen list of
// segments, and running segments with the checks every phase needs.
import type { GraphStep, StepContext, StepSegment } from './types.js';

export interface NormalizedSegment<S> {
  readonly kind: 'graph' | 'eager';
  readonly run: (ctx: StepContext<S>) => void;
}

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
      throw new TypeError(
        `step: mode '${mode}' captures piecewise graphs, so the step must be a segmented step { segments: [{ kind: 'graph' | 'eager', run }] }, not a function`,
      );
    }
    return Object.freeze([Object.freeze({ kind: 'graph' as const, run: step })]);
  }
  if (step === null || typeof step !== 'object' || !Array.isArray(step.segments)) {
    throw new TypeError(
      `step must be a function (ctx) => void or { segments: [{ kind: 'graph' | 'eager', run }] }, got ${describe(step)}`,
    );
  }
  const segments = step.segments as readonly StepSegment<S>[];
  if (segments.length === 0) {
    throw new RangeError('step.segments must hold at least one segment, got an empty array');
  }
  const normalized = segments.map((segment, i): NormalizedSegment<S> => {
    if (segment === null || typeof segment !== 'object') {
      throw new TypeError(`step.segments[${i}] must be { kind, run }, got ${describe(segment)}`);
    }
    if (segment.kind !== 'graph' && segment.kind !== 'eager') {
      throw new TypeError(`step.segments[${i}].kind must be 'graph' or 'eager', got ${describe(segment.kind)}`);
    }
    if (typeof segment.run !== 'function') {
      throw new TypeError(`step.segments[${i}].run must be a function, got ${describe(segment.run)}`);
    }
    // Bind so a segment written as a method keeps its `this`.
    return Object.freeze({ kind: segment.kind, run: segment.run.bind(segment) });
  });
  if (needsSegments && !normalized.some((segment) => segment.kind === 'graph')) {
    throw new RangeError(`step.segments: mode '${mode}' needs at least one 'graph' segment, got only 'eager' segments`);
  }
  return Object.freeze(normalized);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}

/** Runs one segment; a step that returns a promise would launch after the capture ended. */
export function runSegment<S>(segment: NormalizedSegment<S>, ctx: StepContext<S>): void {
  const result: unknown = segment.run(ctx);
  if (result !== undefined && result !== null && typeof (result as { then?: unknown }).then === 'function') {
    throw new TypeError(
      'step returned a promise: a step must launch its work synchronously on ctx.stream (no await inside a step)',
    );
  }
}

export function runAllSegments<S>(segments: readonly NormalizedSegment<S>[], ctx: StepContext<S>): void {
  for (let i = 0; i < segments.length; i++) runSegment(segments[i]!, ctx);
}
