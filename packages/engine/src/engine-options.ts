// createEngine's options, checked up front with @flashgraph/errors' kit (own properties only,
// unknown keys rejected): every size gets an upper bound the implementation can honour, so a
// hostile size is a typed error naming the option, never a raw "Invalid typed array length",
// an allocation that takes the process down, or a structure that grows per token of a bound.
import type { GraphConfigInput } from '@flashgraph/config';
import {
  checkArray,
  checkFunction,
  checkInt,
  checkIntArray,
  checkNumber,
  checkObject,
  checkOneOf,
  checkOptions,
  INT32_MAX,
  InvalidArgumentError,
  optional,
} from '@flashgraph/errors';
import type { KvCacheSpec } from './backend.js';
import type { Model } from './model.js';
import type { SchedulerFactory } from './scheduler.js';

export const ENGINE_OPTION_KEYS = [
  'model',
  'graph',
  'cache',
  'limits',
  'backend',
  'device',
  'onProgress',
  'scheduler',
] as const;

/** Tokens per KV page (the host mirror's and FA3's page-size bound). */
export const MAX_BLOCK_SIZE = 1 << 16;
/** Requests per step (the metadata builders' bound). */
export const MAX_NUM_SEQS = 1 << 20;
/** Tokens per step (the metadata builders' bound). */
export const MAX_NUM_BATCHED_TOKENS = 1 << 24;
/** Block-table entries (maxNumSeqs x pages per request), the metadata builders' bound. */
export const MAX_BLOCK_TABLE_ENTRIES = 1 << 27;
/** CUDA device ordinals (the cuda package's bound). */
export const MAX_DEVICE = 1023;
/** Longest model length taken by default (a larger cache does not make requests longer). */
export const DEFAULT_MAX_MODEL_LEN = 16384;
/**
 * Float32 elements of one layer's K (or V) cache on the CPU backend: 1 GiB. Larger caches are
 * rejected up front rather than left to fail in `new Float32Array`.
 */
export const MAX_CPU_CACHE_ELEMENTS = 1 << 28;

export interface ParsedEngineOptions {
  readonly model: Model;
  readonly graph: GraphConfigInput;
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly maxModelLen: number;
  readonly eosTokenIds: readonly number[];
  readonly backend: 'auto' | 'cuda' | 'cpu';
  readonly device: number;
  readonly onProgress: ((event: never) => void) | undefined;
  readonly scheduler: SchedulerFactory | undefined;
  readonly kvCache: KvCacheSpec;
}

function checkModel(value: unknown): Model {
  // Models may be class instances (methods on the prototype), so read members directly, but
  // only after checking it is an object.
  if (value === null || typeof value !== 'object') {
    throw new InvalidArgumentError({
      code: 'invalid_type',
      path: 'options.model',
      value,
      allowed: 'a Model ({ name, shape, backends, load }), e.g. syntheticDecoder()',
    });
  }
  const model = value as Model;
  checkFunction('options.model.load', model.load);
  const backends = model.backends;
  if (!Array.isArray(backends) || backends.length === 0 || backends.some((b) => b !== 'cuda' && b !== 'cpu')) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'options.model.backends',
      value: backends,
      allowed: "a non-empty array of 'cuda' and 'cpu'",
    });
  }
  const shape = checkObject('options.model.shape', model.shape);
  for (const key of ['numLayers', 'numHeadsQ', 'numHeadsKv', 'headDim', 'hiddenSize'] as const) {
    checkInt(`options.model.shape.${key}`, shape[key], { min: 1, max: 1 << 20 });
  }
  checkInt('options.model.shape.vocabSize', shape.vocabSize, { min: 1, max: INT32_MAX });
  if (shape.slidingWindow !== undefined && shape.slidingWindow !== null) {
    checkInt('options.model.shape.slidingWindow', shape.slidingWindow, { min: 1, max: INT32_MAX });
  }
  if (shape.maxPositions !== undefined && shape.maxPositions !== null) {
    checkInt('options.model.shape.maxPositions', shape.maxPositions, { min: 1, max: INT32_MAX });
  }
  return model;
}

/** Checks every option of createEngine before anything is allocated. */
export function parseEngineOptions(options: unknown): ParsedEngineOptions {
  const o = checkOptions('options', options, ENGINE_OPTION_KEYS);
  if (options === undefined) checkObject('options', options);
  const model = checkModel(o.model);
  const cache = checkOptions('options.cache', o.cache ?? null, [
    'blockSize',
    'numBlocks',
    'dtype',
    'kDescale',
    'vDescale',
  ]);
  const limits = checkOptions('options.limits', o.limits ?? null, ['maxNumSeqs', 'maxNumBatchedTokens', 'maxModelLen']);
  const blockSize = checkInt('options.cache.blockSize', cache.blockSize, { min: 1, max: MAX_BLOCK_SIZE });
  // Every token position of the cache is an int32 in the metadata.
  const numBlocks = checkInt('options.cache.numBlocks', cache.numBlocks, {
    min: 1,
    max: Math.floor((INT32_MAX + 1) / blockSize),
  });
  const maxNumSeqs = checkInt('options.limits.maxNumSeqs', limits.maxNumSeqs, { min: 1, max: MAX_NUM_SEQS });
  const maxNumBatchedTokens = checkInt('options.limits.maxNumBatchedTokens', limits.maxNumBatchedTokens, {
    min: maxNumSeqs,
    max: MAX_NUM_BATCHED_TOKENS,
  });
  // A request's pages fit the cache and one block-table row of maxNumSeqs rows.
  const pagesPerReq = Math.min(numBlocks, Math.floor(MAX_BLOCK_TABLE_ENTRIES / maxNumSeqs));
  // ... and the positions the model was trained for (model.shape.maxPositions).
  const longest = Math.min(pagesPerReq * blockSize, INT32_MAX, model.shape.maxPositions ?? INT32_MAX);
  const maxModelLen = optional(limits.maxModelLen, Math.min(longest, DEFAULT_MAX_MODEL_LEN), (v) =>
    checkInt('options.limits.maxModelLen', v, { min: 1, max: longest }),
  );
  const eosTokenIds = optional(model.eosTokenIds, [] as number[], (v) =>
    checkIntArray('options.model.eosTokenIds', v, { min: 0, max: model.shape.vocabSize - 1 }, { maxLength: 1024 }),
  );
  const backend = optional(o.backend, 'auto' as const, (v) =>
    checkOneOf('options.backend', v, ['auto', 'cuda', 'cpu']),
  );
  const device = optional(o.device, 0, (v) => checkInt('options.device', v, { min: 0, max: MAX_DEVICE }));
  const onProgress = optional(o.onProgress, undefined, (v) =>
    checkFunction<(event: never) => void>('options.onProgress', v),
  );
  const graph = optional(o.graph, {}, (v) => checkObject('options.graph', v)) as GraphConfigInput;
  const scheduler = optional(o.scheduler, undefined, (v) => checkFunction<SchedulerFactory>('options.scheduler', v));
  const kvCache = parseKvCache(cache, model);
  return {
    model,
    graph,
    blockSize,
    numBlocks,
    maxNumSeqs,
    maxNumBatchedTokens,
    maxModelLen,
    eosTokenIds,
    backend,
    device,
    onProgress,
    scheduler,
    kvCache,
  };
}

/** cache.dtype (the model's dtype or fp8 e4m3) and, for fp8, the descales per (layer, KV head). */
function parseKvCache(cache: Readonly<Record<string, unknown>>, model: Model): KvCacheSpec {
  const { numLayers, numHeadsKv } = model.shape;
  const dtype = optional(cache.dtype, model.shape.dtype, (v) =>
    checkOneOf('options.cache.dtype', v, [model.shape.dtype, 'fp8_e4m3'] as const),
  );
  const descale = (name: 'kDescale' | 'vDescale'): Float32Array | null => {
    const path = `options.cache.${name}`;
    const value = cache[name];
    if (value === undefined) return null;
    if (dtype !== 'fp8_e4m3') {
      throw new InvalidArgumentError({
        code: 'invalid_value',
        path,
        value,
        allowed: "absent: only cache.dtype 'fp8_e4m3' has descale factors",
      });
    }
    const n = numLayers * numHeadsKv;
    const items = checkArray(path, value, { minLength: n, maxLength: n });
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = checkNumber(`${path}[${i}]`, items[i], { min: 0, minExclusive: true, max: 3.4e38 });
    }
    return out;
  };
  return { dtype, kDescale: descale('kDescale'), vDescale: descale('vDescale') };
}

/** The checks that depend on the chosen backend, still before any allocation. */
export function checkBackendSizes(kind: 'cuda' | 'cpu', parsed: ParsedEngineOptions): void {
  if (kind === 'cuda' && parsed.blockSize % 16 !== 0) {
    throw new InvalidArgumentError({
      code: 'out_of_range',
      path: 'options.cache.blockSize',
      value: parsed.blockSize,
      allowed: 'a multiple of 16 on the CUDA backend (the FA3 page size)',
    });
  }
  if (kind === 'cpu' && parsed.kvCache.dtype === 'fp8_e4m3') {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path: 'options.cache.dtype',
      value: parsed.kvCache.dtype,
      allowed: `'${parsed.model.shape.dtype}' (the model's dtype) on the CPU backend: an fp8 cache needs fa3 on a CUDA device`,
    });
  }
  if (kind === 'cpu') {
    const { numHeadsKv, numHeadsQ, headDim, hiddenSize } = parsed.model.shape;
    // A step's activations are at least maxNumBatchedTokens rows of the widest of these.
    const maxTokens = Math.floor(MAX_CPU_CACHE_ELEMENTS / Math.max(hiddenSize, numHeadsQ * headDim));
    if (parsed.maxNumBatchedTokens > maxTokens) {
      throw new InvalidArgumentError({
        code: 'out_of_range',
        path: 'options.limits.maxNumBatchedTokens',
        value: parsed.maxNumBatchedTokens,
        allowed: `integer in [${parsed.maxNumSeqs}, ${maxTokens}] on the CPU backend for this model (2^28 activation elements)`,
      });
    }
    const perBlock = parsed.blockSize * numHeadsKv * headDim;
    const maxBlocks = Math.floor(MAX_CPU_CACHE_ELEMENTS / perBlock);
    if (parsed.numBlocks > maxBlocks) {
      throw new InvalidArgumentError({
        code: 'out_of_range',
        path: 'options.cache.numBlocks',
        value: parsed.numBlocks,
        allowed:
          maxBlocks < 1
            ? `none with blockSize ${parsed.blockSize} on the CPU backend (one page exceeds 2^28 elements per layer)`
            : `integer in [1, ${maxBlocks}] on the CPU backend for this model (2^28 cache elements per layer)`,
      });
    }
  }
}
