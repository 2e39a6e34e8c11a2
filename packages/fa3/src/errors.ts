// The error an fa3 addon call raises when the failure is not a CUDA runtime error (the addon's
// own checks: `fa3ErrorInvalidValue: ...`). CUDA runtime failures become @flashgraph/cuda's CudaError.

export class Fa3Error extends Error {
  /** The addon's error name, e.g. `fa3ErrorInvalidValue`. */
  readonly code: string;
  /** The fa3 function that failed, e.g. `Attention.forward`. */
  readonly call: string;

  constructor(call: string, code: string, message: string, options?: { cause?: unknown }) {
    super(`${call}: ${code}: ${message}`, options);
    this.name = 'Fa3Error';
    this.code = code;
    this.call = call;
  }
}
