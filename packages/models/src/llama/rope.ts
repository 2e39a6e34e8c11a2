// RoPE maths, one source for the CPU and CUDA forwards: the inverse frequencies (llama3 scaling
// applied) and the position scale (linear scaling). Rotate-half form: dimension i pairs with
// i + headDim/2 and turns by angle position * scale * inverseFrequency[i].
import type { LlamaConfig } from './config.js';

/** headDim/2 inverse frequencies theta^(-2i/headDim), rescaled by wavelength for llama3. */
export function ropeInverseFrequencies(config: LlamaConfig): Float64Array {
  const half = config.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / config.ropeTheta ** ((2 * i) / config.headDim);
  const s = config.ropeScaling;
  if (s.type !== 'llama3') return inv;
  // Wavelengths longer than the original context / lowFreqFactor are divided by factor, shorter
  // than original / highFreqFactor kept, and the band between blended smoothly (transformers'
  // _compute_llama3_parameters).
  const lowFreqWavelength = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelength = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const f = inv[i] as number;
    const wavelength = (2 * Math.PI) / f;
    if (wavelength > lowFreqWavelength) {
      inv[i] = f / s.factor;
    } else if (wavelength >= highFreqWavelength) {
      const smooth =
        (s.originalMaxPositionEmbeddings / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = ((1 - smooth) * f) / s.factor + smooth * f;
    }
  }
  return inv;
}

/** Positions are multiplied by this before RoPE: 1/factor for linear scaling, else 1. */
export function ropePositionScale(config: LlamaConfig): number {
  return config.ropeScaling.type === 'linear' ? 1 / config.ropeScaling.factor : 1;
}
