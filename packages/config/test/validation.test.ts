import { FlashgraphError, isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import { ConfigError, fa3BackendCapability, resolveGraphConfig } from '../src/index.js';
import { ctx, issuesOf } from './helpers.js';

const positive = 'must be an integer in [1, 2147483647]';

// [path, bad input, value reported, rule, fix]
const inputRules: [string, Record<string, unknown>, unknown, string, string][] = [
  [
    'mode',
    { mode: 'fast' },
    'fast',
    "must be one of 'none', 'piecewise', 'full', 'full_decode_only', 'full_and_piecewise'",
    "set mode to one of those, or remove it for the default 'full_and_piecewise'",
  ],
  [
    'mode',
    { mode: 'FULL' },
    'FULL',
    "must be one of 'none', 'piecewise', 'full', 'full_decode_only', 'full_and_piecewise'",
    "did you mean 'full'? Otherwise set mode to one of those, or remove it for the default 'full_and_piecewise'",
  ],
  [
    'mode',
    { mode: 'full-and-piecewise' },
    'full-and-piecewise',
    "must be one of 'none', 'piecewise', 'full', 'full_decode_only', 'full_and_piecewise'",
    "did you mean 'full_and_piecewise'? Otherwise set mode to one of those, or remove it for the default 'full_and_piecewise'",
  ],
  [
    'captureSizes',
    { captureSizes: '1,2,4' },
    '1,2,4',
    'must be an array of at most 4096 token counts',
    'give a list such as [1, 2, 4, 8], or remove captureSizes for the defaults',
  ],
  [
    'captureSizes[1]',
    { captureSizes: [1, 0] },
    0,
    `${positive} (a token count)`,
    'remove it or replace it with an integer in [1, 2147483647]',
  ],
  [
    'captureSizes[0]',
    { captureSizes: [-8] },
    -8,
    `${positive} (a token count)`,
    'remove it or replace it with an integer in [1, 2147483647]',
  ],
  [
    'captureSizes[0]',
    { captureSizes: [2.5] },
    2.5,
    `${positive} (a token count)`,
    'remove it or replace it with an integer in [1, 2147483647]',
  ],
  [
    'captureSizes[0]',
    { captureSizes: ['8'] },
    '8',
    `${positive} (a token count)`,
    'remove it or replace it with an integer in [1, 2147483647]',
  ],
  [
    'captureSizes[0]',
    { captureSizes: [Number.NaN] },
    Number.NaN,
    `${positive} (a token count)`,
    'remove it or replace it with an integer in [1, 2147483647]',
  ],
  [
    'captureSizes[0]',
    { captureSizes: [2 ** 53] },
    2 ** 53,
    `${positive} (a token count)`,
    'remove it or replace it with an integer in [1, 2147483647]',
  ],
  [
    'maxCaptureSize',
    { maxCaptureSize: 0 },
    0,
    `${positive} (a token count)`,
    'set it to a positive integer, or remove it for the default',
  ],
  [
    'maxCaptureSize',
    { maxCaptureSize: Number.POSITIVE_INFINITY },
    Number.POSITIVE_INFINITY,
    `${positive} (a token count)`,
    'set it to a positive integer, or remove it for the default',
  ],
  [
    'maxNumSplits',
    { maxNumSplits: 0 },
    0,
    'must be an integer from 1 to 256',
    'set maxNumSplits to an integer from 1 to 256, or remove it for the default 32',
  ],
  [
    'maxNumSplits',
    { maxNumSplits: 257 },
    257,
    'must be an integer from 1 to 256',
    'set maxNumSplits to an integer from 1 to 256, or remove it for the default 32',
  ],
  [
    'maxNumSplits',
    { maxNumSplits: 1.5 },
    1.5,
    'must be an integer from 1 to 256',
    'set maxNumSplits to an integer from 1 to 256, or remove it for the default 32',
  ],
  [
    'numWarmups',
    { numWarmups: -1 },
    -1,
    'must be an integer from 0 to 100',
    'set numWarmups to an integer from 0 to 100, or remove it for the default 1',
  ],
  [
    'numWarmups',
    { numWarmups: 101 },
    101,
    'must be an integer from 0 to 100',
    'set numWarmups to an integer from 0 to 100, or remove it for the default 1',
  ],
  [
    'fullCudaGraph',
    { fullCudaGraph: 'yes' },
    'yes',
    'must be a boolean',
    "remove fullCudaGraph (deprecated) and set mode instead, e.g. mode: 'full'",
  ],
  ['$schema', { $schema: 1 }, 1, 'must be a string (a JSON Schema URL or path)', 'make it a string or remove it'],
];

const knownOptions =
  'must be a known option: mode, captureSizes, maxCaptureSize, maxNumSplits, numWarmups, fullCudaGraph';

describe('input validation: every field rule', () => {
  it.each(inputRules)('%s: %o', (path, input, value, rule, fix) => {
    expect(issuesOf(input, ctx())).toEqual([{ code: 'invalid_value', path, value, rule, fix }]);
  });

  it.each([
    ['capture_sizes', 'rename it to captureSizes'],
    ['cudagraph_capture_sizes', 'rename it to captureSizes'],
    ['max_cudagraph_capture_size', 'remove max_cudagraph_capture_size'],
    ['max_num_splits', 'rename it to maxNumSplits'],
    ['maxCaptureSizes', 'rename it to maxCaptureSize'],
    ['modes', 'rename it to mode'],
    ['fullCudaGraphs', 'rename it to fullCudaGraph'],
    ['unrelated', 'remove unrelated'],
  ])('unknown option %s', (key, fix) => {
    expect(issuesOf({ [key]: 1 }, ctx())).toEqual([
      { code: 'unknown_option', path: key, value: 1, rule: knownOptions, fix },
    ]);
  });

  it.each([null, undefined, 'full', 3, [1, 2]])('the whole input %o must be an object', (input) => {
    expect(issuesOf(input, ctx())).toEqual([
      {
        code: 'invalid_value',
        path: '',
        value: input,
        rule: 'must be an object',
        fix: "pass an object such as { mode: 'full_and_piecewise' }",
      },
    ]);
  });
});

// [path, context, value, rule, fix]
const contextRules: [string, Record<string, unknown>, unknown, string, string][] = [
  [
    'context.maxNumSeqs',
    { maxNumBatchedTokens: 8192 },
    undefined,
    `${positive} (the most requests in one step)`,
    'set maxNumSeqs to the scheduler limit, e.g. 256',
  ],
  [
    'context.maxNumSeqs',
    { maxNumSeqs: -1, maxNumBatchedTokens: 8192 },
    -1,
    `${positive} (the most requests in one step)`,
    'set maxNumSeqs to the scheduler limit, e.g. 256',
  ],
  [
    'context.maxNumBatchedTokens',
    { maxNumSeqs: 8, maxNumBatchedTokens: '8192' },
    '8192',
    `${positive} (the most tokens in one step)`,
    'set maxNumBatchedTokens to the scheduler limit, e.g. 8192',
  ],
  [
    'context.uniformDecodeQueryLen',
    { maxNumSeqs: 8, maxNumBatchedTokens: 64, uniformDecodeQueryLen: 0 },
    0,
    `${positive} (1 + speculative tokens per request)`,
    'set uniformDecodeQueryLen to 1 + the number of speculative tokens, or remove it for 1',
  ],
  [
    'context.backend',
    { maxNumSeqs: 8, maxNumBatchedTokens: 64, backend: 'fa3' },
    'fa3',
    'must be an object { cudagraphSupport, aotScheduling, maxAotBatch? }',
    "pass the attention backend's declared capability, or remove it for flashgraph's FA3",
  ],
  [
    'context.backend.cudagraphSupport',
    { maxNumSeqs: 8, maxNumBatchedTokens: 64, backend: { cudagraphSupport: 'sometimes', aotScheduling: true } },
    'sometimes',
    "must be one of 'always', 'uniform_batch', 'uniform_single_token_decode', 'never'",
    'declare what the backend can run inside a full CUDA graph',
  ],
  [
    'context.backend.aotScheduling',
    { maxNumSeqs: 8, maxNumBatchedTokens: 64, backend: { cudagraphSupport: 'always' } },
    undefined,
    'must be a boolean',
    'declare whether the backend plans its schedule ahead of time (true for FA3)',
  ],
  [
    'context.backend.maxAotBatch',
    {
      maxNumSeqs: 8,
      maxNumBatchedTokens: 64,
      backend: { cudagraphSupport: 'always', aotScheduling: true, maxAotBatch: 0 },
    },
    0,
    `${positive} (the largest batch the AoT metadata holds)`,
    'set it to the limit of the backend, or remove it when there is none',
  ],
  [
    'context.supportsPiecewise',
    { maxNumSeqs: 8, maxNumBatchedTokens: 64, supportsPiecewise: 1 },
    1,
    'must be a boolean',
    'declare whether the runtime can capture piecewise graphs, or remove it for true',
  ],
];

describe('context validation: every field rule', () => {
  it.each(contextRules)('%s: %o', (path, context, value, rule, fix) => {
    expect(issuesOf({}, context)).toEqual([{ code: 'invalid_value', path, value, rule, fix }]);
  });

  it.each([null, undefined, 42])('the context %o must be an object', (context) => {
    expect(issuesOf({}, context)).toEqual([
      {
        code: 'invalid_value',
        path: 'context',
        value: context,
        rule: 'must be an object { maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen?, backend?, supportsPiecewise? }',
        fix: 'pass the runtime limits, e.g. { maxNumSeqs: 256, maxNumBatchedTokens: 8192 }',
      },
    ]);
  });

  it('unknown context and backend keys', () => {
    expect(
      issuesOf({}, { ...ctx(), max_num_seqs: 2, backend: { ...fa3BackendCapability, maxAotBatchSize: 3 } }),
    ).toEqual([
      {
        code: 'unknown_option',
        path: 'context.backend.maxAotBatchSize',
        value: 3,
        rule: 'must be a known option: cudagraphSupport, aotScheduling, maxAotBatch, headDims, attentionSinks',
        fix: 'rename it to maxAotBatch',
      },
      {
        code: 'unknown_option',
        path: 'context.max_num_seqs',
        value: 2,
        rule: 'must be a known option: maxNumSeqs, maxNumBatchedTokens, uniformDecodeQueryLen, backend, supportsPiecewise',
        fix: 'rename it to maxNumSeqs',
      },
    ]);
  });

  it("defaults the backend to flashgraph's FA3 capability", () => {
    expect(fa3BackendCapability).toEqual({
      cudagraphSupport: 'always',
      aotScheduling: true,
      headDims: [64, 96, 128, 192, 256],
      attentionSinks: true,
    });
    expect(Object.isFrozen(fa3BackendCapability.headDims)).toBe(true);
    expect(resolveGraphConfig({ mode: 'full' }, ctx({ backend: fa3BackendCapability })).mode).toBe('full');
    expect(Object.isFrozen(fa3BackendCapability)).toBe(true);
    expect(resolveGraphConfig({ mode: 'full' }, ctx()).mode).toBe('full');
  });
});

describe('ConfigError', () => {
  it('collects every problem at once, input first, with semantic checks on the valid parts', () => {
    const issues = issuesOf(
      { mode: 'full', captureSizes: [4, 'x', -1, 4096], numWarmups: 1e9, capturesizes: [1] },
      {
        maxNumSeqs: 0,
        maxNumBatchedTokens: 1024,
        backend: { cudagraphSupport: 'uniform_batch', aotScheduling: false },
      },
    );
    expect(issues.map((i) => `${i.code} ${i.path}`)).toEqual([
      'invalid_value captureSizes[1]',
      'invalid_value captureSizes[2]',
      'invalid_value numWarmups',
      'unknown_option capturesizes',
      'invalid_value context.maxNumSeqs',
      'aot_required mode',
    ]);
  });

  it('has a code, a name, frozen issues, and a message listing every issue with its fix', () => {
    let error: (ConfigError & Error) | undefined;
    try {
      resolveGraphConfig({ captureSizes: [8, 0], maxNumSplits: 300 }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(FlashgraphError);
    expect(error).toBeInstanceOf(Error);
    expect(isFlashgraphError(error)).toBe(true);
    expect(error!.name).toBe('ConfigError');
    expect(error!.code).toBe('invalid_config');
    expect([error!.path, error!.value]).toEqual(['captureSizes[1]', 0]);
    expect(Object.isFrozen(error!.issues)).toBe(true);
    expect(error!.message).toBe(
      [
        'Invalid CUDA graph configuration (2 problems):',
        '  - captureSizes[1] = 0',
        '    rule: must be an integer in [1, 2147483647] (a token count)',
        '    fix:  remove it or replace it with an integer in [1, 2147483647]',
        '  - maxNumSplits = 300',
        '    rule: must be an integer from 1 to 256',
        '    fix:  set maxNumSplits to an integer from 1 to 256, or remove it for the default 32',
      ].join('\n'),
    );
  });

  it('formats missing values, the root, strings, NaN and long values readably', () => {
    const message = (input: unknown, context: unknown) => {
      try {
        resolveGraphConfig(input as never, context as never);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(message(null, { maxNumBatchedTokens: 1 })).toContain(
      'Invalid CUDA graph configuration (2 problems):\n  - (config) = null',
    );
    expect(message({}, { maxNumBatchedTokens: 1 })).toContain('  - context.maxNumSeqs (missing)\n');
    expect(message({ captureSizes: [Number.NaN] }, ctx())).toContain('  - captureSizes[0] = NaN\n');
    expect(message({ mode: 'x' }, ctx())).toContain('  - mode = "x"\n');
    expect(message({ captureSizes: 'a'.repeat(200) }, ctx())).toContain(`captureSizes = "${'a'.repeat(76)}...\n`);
    expect((new ConfigError([{ code: 'x', path: 'p', value: 1n, rule: 'r', fix: 'f' }]) as Error).message).toBe(
      'Invalid CUDA graph configuration (1 problem):\n  - p = 1n\n    rule: r\n    fix:  f',
    );
  });
});
