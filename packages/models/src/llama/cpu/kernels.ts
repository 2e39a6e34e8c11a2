// fp32 CPU kernels of the Llama-family forward. Row-major throughout; every function writes into
// preallocated buffers (no allocation per call), and linear layers are dot products over
// contiguous rows of x and W, which keeps V8 on its fast typed-array paths.

/** out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w, for rows [0, n) of width `width` (in place allowed). */
export function rmsNorm(
  x: Float32Array,
  out: Float32Array,
  w: Float32Array,
  n: number,
  width: number,
  eps: number,
  xStride = width,
  outStride = width,
): void {
  for (let t = 0; t < n; t++) {
    const xo = t * xStride;
    const oo = t * outStride;
    let sum = 0;
    for (let i = 0; i < width; i++) {
      const v = x[xo + i] as number;
      sum += v * v;
    }
    const inv = 1 / Math.sqrt(sum / width + eps);
    for (let i = 0; i < width; i++) out[oo + i] = (x[xo + i] as number) * inv * (w[i] as number);
  }
}

/** One row of y = x @ W^T (+ b): W is [N, K] row-major, x a row of K at xo, y a row of N at yo. */
export function linearRow(
  x: Float32Array,
  xo: number,
  W: Float32Array,
  b: Float32Array | null,
  y: Float32Array,
  yo: number,
  N: number,
  K: number,
): void {
  const k4 = K - (K % 4);
  for (let j = 0; j < N; j++) {
    const wo = j * K;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i < k4; i += 4) {
      s0 += (x[xo + i] as number) * (W[wo + i] as number);
      s1 += (x[xo + i + 1] as number) * (W[wo + i + 1] as number);
      s2 += (x[xo + i + 2] as number) * (W[wo + i + 2] as number);
      s3 += (x[xo + i + 3] as number) * (W[wo + i + 3] as number);
    }
    for (; i < K; i++) s0 += (x[xo + i] as number) * (W[wo + i] as number);
    y[yo + j] = s0 + s1 + s2 + s3 + (b === null ? 0 : (b[j] as number));
  }
}

/**
 * y[t] = x[t] @ W^T (+ b) for rows [0, n): x [n, K], W [N, K], y [n, N]. Each row of W is read
 * once per four rows of x (the weights, not the activations, are what streams from memory), and
 * every output is one sequential fp64 sum over k, whatever the grouping: a row's result never
 * depends on which other rows share the batch.
 */
export function linear(
  x: Float32Array,
  W: Float32Array,
  b: Float32Array | null,
  y: Float32Array,
  n: number,
  N: number,
  K: number,
): void {
  for (let j = 0; j < N; j++) {
    const wo = j * K;
    const bias = b === null ? 0 : (b[j] as number);
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      const x0 = t * K;
      const x1 = x0 + K;
      const x2 = x1 + K;
      const x3 = x2 + K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < K; i++) {
        const w = W[wo + i] as number;
        s0 += (x[x0 + i] as number) * w;
        s1 += (x[x1 + i] as number) * w;
        s2 += (x[x2 + i] as number) * w;
        s3 += (x[x3 + i] as number) * w;
      }
      y[t * N + j] = s0 + bias;
      y[(t + 1) * N + j] = s1 + bias;
      y[(t + 2) * N + j] = s2 + bias;
      y[(t + 3) * N + j] = s3 + bias;
    }
    for (; t < n; t++) {
      const xo = t * K;
      let s = 0;
      for (let i = 0; i < K; i++) s += (x[xo + i] as number) * (W[wo + i] as number);
      y[t * N + j] = s + bias;
    }
  }
}

/** x[i] += y[i] for i < length. */
export function addInto(x: Float32Array, y: Float32Array, length: number): void {
  for (let i = 0; i < length; i++) x[i] = (x[i] as number) + (y[i] as number);
}

/** gate[i] = silu(gate[i]) * up[i] for i < length (in place in gate). */
export function siluMul(gate: Float32Array, up: Float32Array, length: number): void {
  for (let i = 0; i < length; i++) {
    const g = gate[i] as number;
    gate[i] = (g / (1 + Math.exp(-g))) * (up[i] as number);
  }
}

/**
 * cos/sin [n, headDim/2] of each row's angles position * positionScale * inverseFrequency[i]
 * (computed in fp64, stored fp32).
 */
export function ropeTables(
  positions: Int32Array,
  n: number,
  inverseFrequencies: Float64Array,
  positionScale: number,
  cos: Float32Array,
  sin: Float32Array,
): void {
  const half = inverseFrequencies.length;
  for (let t = 0; t < n; t++) {
    const p = (positions[t] as number) * positionScale;
    for (let i = 0; i < half; i++) {
      const angle = p * (inverseFrequencies[i] as number);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
}

/** Rotate-half RoPE in place on `heads` heads of each row of x ([n, heads * headDim]). */
export function applyRope(
  x: Float32Array,
  n: number,
  heads: number,
  headDim: number,
  cos: Float32Array,
  sin: Float32Array,
): void {
  const half = headDim / 2;
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i] as number;
        const s = sin[t * half + i] as number;
        const a = x[o + i] as number;
        const b = x[o + half + i] as number;
        x[o + i] = a * c - b * s;
        x[o + half + i] = b * c + a * s;
      }
    }
  }
}
