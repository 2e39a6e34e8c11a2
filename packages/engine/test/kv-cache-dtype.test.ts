// cache.dtype / cache.kDescale / cache.vDescale: checked up front (typed errors naming the option),
// parsed into what the CUDA backend hands fa3 (createAttention's kvDtype, the descale rows), and
// refused on the CPU backend, whose cache is fp32.
import { describe, expect, it } from 'vitest';
import { parseEngineOptions } from '../src/engine-options.js';
import { createEngine, syntheticDecoder } from '../src/index.js';

const model = syntheticDecoder({ numLayers: 2, numHeadsQ: 4, numHeadsKv: 2, headDim: 64, vocabSize: 512 });
const base = {
  model,
  cache: { blockSize: 16, numBlocks: 8 },
  limits: { maxNumSeqs: 2, maxNumBatchedTokens: 16 },
};

describe('engine cache.dtype', () => {
  it("defaults to the model's dtype, without descales", () => {
    expect(parseEngineOptions(base).kvCache).toEqual({ dtype: 'bf16', kDescale: null, vDescale: null });
  });

  it("takes 'fp8_e4m3' with descales per (layer, KV head), copied into fp32", () => {
    const k = [1, 2, 0.5, 0.25];
    const parsed = parseEngineOptions({ ...base, cache: { ...base.cache, dtype: 'fp8_e4m3', kDescale: k } });
    expect(parsed.kvCache.dtype).toBe('fp8_e4m3');
    expect(Array.from(parsed.kvCache.kDescale!)).toEqual(k);
    expect(parsed.kvCache.vDescale).toBeNull(); // all 1 on the device
    k[0] = 9; // the engine keeps its own copy
    expect(parsed.kvCache.kDescale![0]).toBe(1);
  });

  it.each([
    ['the other 16-bit type', { dtype: 'fp16' }, 'invalid_value', 'options.cache.dtype'],
    ['an unknown dtype', { dtype: 'fp8_e5m2' }, 'invalid_value', 'options.cache.dtype'],
    ['descales without fp8', { kDescale: [1, 1, 1, 1] }, 'invalid_value', 'options.cache.kDescale'],
    [
      'a short descale array',
      { dtype: 'fp8_e4m3', vDescale: [1, 1, 1] },
      'out_of_range',
      'options.cache.vDescale.length',
    ],
    ['a zero descale', { dtype: 'fp8_e4m3', kDescale: [1, 0, 1, 1] }, 'out_of_range', 'options.cache.kDescale[1]'],
    [
      'a NaN descale',
      { dtype: 'fp8_e4m3', kDescale: [1, 1, Number.NaN, 1] },
      'out_of_range',
      'options.cache.kDescale[2]',
    ],
    ['a string descale', { dtype: 'fp8_e4m3', kDescale: [1, 1, 1, '1'] }, 'invalid_type', 'options.cache.kDescale[3]'],
    [
      'a lying { length } object',
      { dtype: 'fp8_e4m3', kDescale: { length: 4 } },
      'invalid_type',
      'options.cache.kDescale',
    ],
    ['an unknown cache key', { kvDtype: 'fp8_e4m3' }, 'unknown_option', 'options.cache.kvDtype'],
  ])('rejects %s before any allocation', async (_name, over, code, path) => {
    await expect(
      createEngine({ ...base, backend: 'cpu', cache: { ...base.cache, ...over } } as never),
    ).rejects.toMatchObject({
      code,
      path,
    });
  });

  it('an fp8 cache needs the CUDA backend: the CPU backend refuses it by name', async () => {
    await expect(
      createEngine({ ...base, backend: 'cpu', cache: { ...base.cache, dtype: 'fp8_e4m3' } }),
    ).rejects.toMatchObject({ code: 'invalid_value', path: 'options.cache.dtype', message: /CUDA device/ });
  });
});
