// The synthetic decoder's arithmetic, defined once. The CUDA kernels in
// native/engine/kernels/synthetic_kernels.cu compute the same formulas (fp32 maths on bf16/fp16
// storage); this file is the CPU backend's fp32 mirror and the test oracle's building block.
// Pseudo-weights come from an integer hash, so they cost no memory and are identical everywhere.

/** Seeds of the pseudo-weight streams; the CUDA kernels use the same numbers. */
export const SEED_KIND = {
  embedToken: 1,
  embedPosition: 2,
  q: 3,
  k: 4,
  v: 5,
  o: 6,
  logitA: 7,
  logitB: 8,
} as const;

/** Query scale: makes attention peaked enough that every key position matters. */
export const Q_SCALE = 4;
/** Weight of the neighbouring slice mixed into q, k and v. */
export const MIX = 0.5;
/** Residual soft clamp `y / (1 + SOFT * |y|)` keeps the hidden state bounded over any depth. */
export const SOFT = 0.25;

/** A 32-bit integer hash (Chris Wellons' lowbias32). */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The seed of one weight stream of one layer. */
export function seedOf(kind: number, layer: number): number {
  return hash32(((kind << 24) ^ layer) >>> 0);
}

/** A pseudo-weight in [-1, 1), a multiple of 2^-23 (exact in fp32). */
export function unit(seed: number, index: number): number {
  return (hash32((index ^ seed) >>> 0) >>> 8) * 2 ** -23 - 1;
}

/** Sizes the kernels need. */
export interface SyntheticDims {
  numLayers: number;
  hiddenSize: number;
  /** numHeadsQ * headDim */
  qSize: number;
  /** numHeadsKv * headDim */
  kvSize: number;
  headDim: number;
  vocabSize: number;
}

/** Per-layer pseudo-weights as arrays (the CPU backend precomputes them; the GPU hashes inline). */
export interface SyntheticWeights {
  q: Float32Array[];
  k: Float32Array[];
  v: Float32Array[];
  o: Float32Array[];
  logitA: Float32Array;
  logitB: Float32Array;
}

function stream(kind: number, layer: number, length: number): Float32Array {
  const seed = seedOf(kind, layer);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = unit(seed, i);
  return out;
}

export function syntheticWeights(d: SyntheticDims): SyntheticWeights {
  const layers = Array.from({ length: d.numLayers }, (_, l) => l);
  return {
    q: layers.map((l) => stream(SEED_KIND.q, l, d.qSize)),
    k: layers.map((l) => stream(SEED_KIND.k, l, d.kvSize)),
    v: layers.map((l) => stream(SEED_KIND.v, l, d.kvSize)),
    o: layers.map((l) => stream(SEED_KIND.o, l, d.hiddenSize)),
    logitA: stream(SEED_KIND.logitA, 0, d.vocabSize),
    logitB: stream(SEED_KIND.logitB, 0, d.vocabSize),
  };
}

/** x[t] = 0.5 * unit(token stream, tok * H + i) + 0.5 * unit(position stream, pos * H + i). */
export function embedRow(x: Float32Array, xOffset: number, token: number, position: number, H: number): void {
  const sTok = seedOf(SEED_KIND.embedToken, 0);
  const sPos = seedOf(SEED_KIND.embedPosition, 0);
  const tokBase = token * H;
  const posBase = position * H;
  for (let i = 0; i < H; i++) {
    x[xOffset + i] = 0.5 * unit(sTok, (tokBase + i) >>> 0) + 0.5 * unit(sPos, (posBase + i) >>> 0);
  }
}

/**
 * q[j] = Q_SCALE * (x[j % H] * wq[j] + MIX * x[(j + D) % H])
 * k[j] = x[j % H] * wk[j] + MIX * x[(j + 2D) % H]
 * v[j] = x[(j + kvSize) % H] * wv[j] + MIX * x[j % H]
 */
export function projectRow(
  d: SyntheticDims,
  w: SyntheticWeights,
  layer: number,
  x: Float32Array,
  xOffset: number,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  row: number,
): void {
  const H = d.hiddenSize;
  const D = d.headDim;
  const wq = w.q[layer] as Float32Array;
  const wk = w.k[layer] as Float32Array;
  const wv = w.v[layer] as Float32Array;
  const qo = row * d.qSize;
  for (let j = 0; j < d.qSize; j++) {
    q[qo + j] =
      Q_SCALE * ((x[xOffset + (j % H)] as number) * (wq[j] as number) + MIX * (x[xOffset + ((j + D) % H)] as number));
  }
  const ko = row * d.kvSize;
  for (let j = 0; j < d.kvSize; j++) {
    k[ko + j] = (x[xOffset + (j % H)] as number) * (wk[j] as number) + MIX * (x[xOffset + ((j + 2 * D) % H)] as number);
    v[ko + j] =
      (x[xOffset + ((j + d.kvSize) % H)] as number) * (wv[j] as number) + MIX * (x[xOffset + (j % H)] as number);
  }
}

/** x[i] = soft(x[i] + o[i % qSize] * wo[i]), soft(y) = y / (1 + SOFT * |y|). */
export function residualRow(
  d: SyntheticDims,
  w: SyntheticWeights,
  layer: number,
  x: Float32Array,
  xOffset: number,
  o: Float32Array,
  oOffset: number,
): void {
  const wo = w.o[layer] as Float32Array;
  for (let i = 0; i < d.hiddenSize; i++) {
    const y = (x[xOffset + i] as number) + (o[oOffset + (i % d.qSize)] as number) * (wo[i] as number);
    x[xOffset + i] = y / (1 + SOFT * Math.abs(y));
  }
}

/** argmax over v < vocabSize of x[v % H] * a[v] + x[(7v + 1) % H] * b[v]; ties go to the smaller v. */
export function sampleRow(d: SyntheticDims, w: SyntheticWeights, x: Float32Array, xOffset: number): number {
  const H = d.hiddenSize;
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < d.vocabSize; v++) {
    const logit = Math.fround(
      Math.fround((x[xOffset + (v % H)] as number) * (w.logitA[v] as number)) +
        Math.fround((x[xOffset + ((7 * v + 1) % H)] as number) * (w.logitB[v] as number)),
    );
    if (logit > bestValue) {
      bestValue = logit;
      best = v;
    }
  }
  return best;
}
