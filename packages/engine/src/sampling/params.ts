// The per-step sampling parameters, one struct of arrays of 24 * maxNumReqs bytes (contract B):
//   float32 temperature[R] @ 0, int32 topK[R] @ 4R, float32 topP[R] @ 8R, uint32 seed[R] @ 12R,
//   int32 position[R] @ 16R, int32 reserved[R] @ 20R.
// The CPU backend views a plain ArrayBuffer, the CUDA backend its pinned input staging (copied to
// the device in the step's prologue), so both samplers read the same layout at a fixed address.

export const SAMPLING_PARAMS_BYTES_PER_REQ = 24;

/** What one request asks of the sampler (validated by the engine). */
export interface SamplingParams {
  /** >= 0; 0 = greedy. */
  readonly temperature: number;
  /** Integer >= 0; 0 = off. */
  readonly topK: number;
  /** (0, 1]; 1 = off. */
  readonly topP: number;
  /** uint32. */
  readonly seed: number;
}

export const GREEDY: SamplingParams = Object.freeze({ temperature: 0, topK: 0, topP: 1, seed: 0 });

export class SamplingParamsView {
  readonly temperature: Float32Array;
  readonly topK: Int32Array;
  readonly topP: Float32Array;
  readonly seed: Uint32Array;
  /** The number of tokens in the sequence before the sampled one. */
  readonly position: Int32Array;

  /** Views `24 * maxNumReqs` bytes of `buffer` from `byteOffset` (a multiple of 4). */
  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly maxNumReqs: number,
  ) {
    const R = maxNumReqs;
    this.temperature = new Float32Array(buffer, byteOffset, R);
    this.topK = new Int32Array(buffer, byteOffset + 4 * R, R);
    this.topP = new Float32Array(buffer, byteOffset + 8 * R, R);
    this.seed = new Uint32Array(buffer, byteOffset + 12 * R, R);
    this.position = new Int32Array(buffer, byteOffset + 16 * R, R);
    new Int32Array(buffer, byteOffset + 20 * R, R).fill(0);
    for (let r = 0; r < R; r++) this.set(r, GREEDY, 0);
  }

  static byteLength(maxNumReqs: number): number {
    return SAMPLING_PARAMS_BYTES_PER_REQ * maxNumReqs;
  }

  set(slot: number, params: SamplingParams, position: number): void {
    this.temperature[slot] = params.temperature;
    this.topK[slot] = params.topK;
    this.topP[slot] = params.topP;
    this.seed[slot] = params.seed;
    this.position[slot] = position;
  }
}
