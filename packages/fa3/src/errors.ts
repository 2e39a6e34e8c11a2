// The errors of the fa3 package that are not argument errors (those are @flashgraph/errors'
// InvalidArgumentError) nor CUDA runtime failures (those are @flashgraph/cuda's CudaError):
// the addon's own failures, mapped from its error names to stable codes in one table, and misuse
// of an Attention's call order.
import { FlashgraphError } from '@flashgraph/errors';

export type Fa3ErrorCode =
  | 'no_device' // the addon found no usable sm_90 device (fa3ErrorNoDevice)
  | 'native_error' // the addon failed with a message that names no known error
  | 'addon_mismatch' // the addon's answers contradict this package (a stale or foreign binary)
  | 'not_scheduled'; // forward() before any schedule()

/** The addon's error names (`<name>: <what>` messages) and the code each becomes. */
export const FA3_NATIVE_ERROR_CODES: Readonly<Record<string, Fa3ErrorCode>> = Object.freeze({
  fa3ErrorNoDevice: 'no_device',
});

/** The stable code of an addon error name; unknown names are `native_error`. */
export function fa3ErrorCode(nativeName: string): Fa3ErrorCode {
  return Object.hasOwn(FA3_NATIVE_ERROR_CODES, nativeName)
    ? (FA3_NATIVE_ERROR_CODES[nativeName] as Fa3ErrorCode)
    : 'native_error';
}

export class Fa3Error extends FlashgraphError {
  declare readonly code: Fa3ErrorCode;
  /** The fa3 function that failed, e.g. `Attention.forward`. */
  readonly call: string;
  /** The addon's error name when the addon raised it (e.g. `fa3ErrorNoDevice`), else undefined. */
  readonly nativeName: string | undefined;

  constructor(init: {
    code: Fa3ErrorCode;
    call: string;
    problem: string;
    nativeName?: string;
    fix?: string;
    cause?: unknown;
  }) {
    super({
      code: init.code,
      path: init.call,
      problem: init.nativeName === undefined ? init.problem : `${init.nativeName}: ${init.problem}`,
      ...(init.fix === undefined ? {} : { fix: init.fix }),
      ...(init.cause === undefined ? {} : { cause: init.cause }),
    });
    this.call = init.call;
    this.nativeName = init.nativeName;
  }
}
