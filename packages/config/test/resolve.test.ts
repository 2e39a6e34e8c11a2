import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, type GraphConfigInput, graphModes, resolveGraphConfig } from '../src/index.js';
import { backend, ctx, issuesOf, messages } from './helpers.js';

describe('resolveGraphConfig: defaults and mode properties', () => {
  it('defaults: full_and_piecewise, vLLM sizes, 32 splits, 1 warm-up, no warnings', () => {
    const r = resolveGraphConfig({}, ctx());
    expect(r).toMatchObject({
      mode: 'full_and_piecewise',
      requestedMode: 'full_and_piecewise',
      maxCaptureSize: 512,
      maxNumSplits: 32,
      numWarmups: 1,
      warnings: [],
      uniformDecodeQueryLen: 1,
      hasFullGraphs: true,
      fullGraphsFor: 'uniform_decode',
      piecewise: true,
    });
    expect(r.captureSizes).toHaveLength(51);
  });

  it.each([
    ['none', false, 'none', false],
    ['piecewise', false, 'none', true],
    ['full', true, 'all', false],
    ['full_decode_only', true, 'uniform_decode', false],
    ['full_and_piecewise', true, 'uniform_decode', true],
  ] as const)(
    'mode %s: hasFullGraphs %s, fullGraphsFor %s, piecewise %s',
    (mode, hasFullGraphs, fullGraphsFor, piecewise) => {
      const r = resolveGraphConfig({ mode }, ctx());
      expect(r).toMatchObject({ mode, requestedMode: mode, hasFullGraphs, fullGraphsFor, piecewise, warnings: [] });
      expect(r.captureSizes.length).toBe(mode === 'none' ? 0 : 51);
      expect(r.maxCaptureSize).toBe(mode === 'none' ? 0 : 512);
    },
  );

  it('keeps maxNumSplits, numWarmups and uniformDecodeQueryLen', () => {
    const r = resolveGraphConfig({ maxNumSplits: 256, numWarmups: 0 }, ctx({ uniformDecodeQueryLen: 2 }));
    expect(r).toMatchObject({ maxNumSplits: 256, numWarmups: 0, uniformDecodeQueryLen: 2 });
  });

  it('accepts a $schema key (config files) and ignores it', () => {
    expect(resolveGraphConfig({ $schema: './graph-config.schema.json', mode: 'piecewise' }, ctx()).mode).toBe(
      'piecewise',
    );
  });

  it('returns a deeply frozen config', () => {
    const r = resolveGraphConfig({ fullCudaGraph: true }, ctx());
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.captureSizes)).toBe(true);
    expect(Object.isFrozen(r.warnings)).toBe(true);
    expect(r.warnings.every((w) => Object.isFrozen(w))).toBe(true);
  });

  it('does not modify the caller input', () => {
    const input = { captureSizes: [8, 2, 2, 99_999] };
    resolveGraphConfig(input, ctx());
    expect(input.captureSizes).toEqual([8, 2, 2, 99_999]);
  });
});

describe('resolveGraphConfig: the legacy fullCudaGraph flag', () => {
  it.each([
    [
      { fullCudaGraph: true },
      'full',
      "deprecated_option @fullCudaGraph: fullCudaGraph is deprecated: use mode: 'full'",
    ],
    [
      { fullCudaGraph: true, mode: 'full' },
      'full',
      "deprecated_option @fullCudaGraph: fullCudaGraph is deprecated: use mode: 'full'",
    ],
    [
      { fullCudaGraph: false },
      'piecewise',
      "deprecated_option @fullCudaGraph: fullCudaGraph is deprecated: use mode: 'piecewise' (or another mode without full graphs)",
    ],
    [
      { fullCudaGraph: false, mode: 'none' },
      'none',
      "deprecated_option @fullCudaGraph: fullCudaGraph is deprecated: use mode: 'piecewise' (or another mode without full graphs)",
    ],
  ] as const)('%o -> %s with a deprecation warning', (input, mode, warning) => {
    expect(resolveGraphConfig(input, ctx()).mode).toBe(mode);
    expect(messages(input, ctx())).toEqual([warning]);
  });

  it.each([
    ['piecewise', true, "fullCudaGraph: true means mode 'full', which contradicts mode 'piecewise'"],
    ['full_and_piecewise', true, "fullCudaGraph: true means mode 'full', which contradicts mode 'full_and_piecewise'"],
    ['full', false, "fullCudaGraph: false means no full graphs, which contradicts mode 'full'"],
    ['full_decode_only', false, "fullCudaGraph: false means no full graphs, which contradicts mode 'full_decode_only'"],
  ] as const)('mode %s with fullCudaGraph %s is an error', (mode, fullCudaGraph, rule) => {
    expect(issuesOf({ mode, fullCudaGraph }, ctx())).toEqual([
      {
        code: 'mode_conflict',
        path: 'fullCudaGraph',
        value: fullCudaGraph,
        rule,
        fix: `remove fullCudaGraph (deprecated); mode '${mode}' alone says what to capture`,
      },
    ]);
  });
});

describe('resolveGraphConfig: user capture sizes', () => {
  it('de-duplicates and sorts', () => {
    const r = resolveGraphConfig({ captureSizes: [8, 2, 2, 4, 1, 8] }, ctx());
    expect(r.captureSizes).toEqual([1, 2, 4, 8]);
    expect(r.maxCaptureSize).toBe(8);
    expect(r.warnings).toEqual([]);
  });

  it('has no 992 cap', () => {
    const r = resolveGraphConfig({ captureSizes: [1, 992, 2048, 4096] }, ctx());
    expect(r.captureSizes).toEqual([1, 992, 2048, 4096]);
    expect(r.warnings).toEqual([]);
  });

  it('drops sizes above maxNumBatchedTokens with a warning', () => {
    const input = { captureSizes: [1, 64, 128, 129, 4096] };
    expect(resolveGraphConfig(input, ctx({ maxNumBatchedTokens: 128 })).captureSizes).toEqual([1, 64, 128]);
    expect(messages(input, ctx({ maxNumBatchedTokens: 128 }))).toEqual([
      'capture_sizes_dropped @captureSizes: capture sizes 129, 4096 dropped: above maxNumBatchedTokens 128, so no step could use them',
    ]);
  });

  it.each(['full', 'full_decode_only', 'full_and_piecewise'] as const)(
    'rounds up to multiples of uniformDecodeQueryLen in %s',
    (mode) => {
      const input = { mode, captureSizes: [5, 7, 3, 12] };
      expect(resolveGraphConfig(input, ctx({ uniformDecodeQueryLen: 3 })).captureSizes).toEqual([3, 6, 9, 12]);
      expect(messages(input, ctx({ uniformDecodeQueryLen: 3 }))).toEqual([
        'capture_sizes_rounded @captureSizes: capture sizes rounded up to multiples of uniformDecodeQueryLen 3, ' +
          'so a uniform decode batch fills a graph exactly: 5 -> 6, 7 -> 9',
      ]);
    },
  );

  it('does not round in piecewise mode (no full decode graphs)', () => {
    const r = resolveGraphConfig({ mode: 'piecewise', captureSizes: [5, 7] }, ctx({ uniformDecodeQueryLen: 3 }));
    expect(r.captureSizes).toEqual([5, 7]);
    expect(r.warnings).toEqual([]);
  });

  it('drops a size that rounding lifted above maxNumBatchedTokens', () => {
    const context = ctx({ uniformDecodeQueryLen: 3, maxNumBatchedTokens: 100 });
    expect(resolveGraphConfig({ captureSizes: [99, 100] }, context).captureSizes).toEqual([99]);
    expect(messages({ captureSizes: [99, 100] }, context)).toEqual([
      'capture_sizes_rounded @captureSizes: capture sizes rounded up to multiples of uniformDecodeQueryLen 3, ' +
        'so a uniform decode batch fills a graph exactly: 100 -> 102',
      'capture_sizes_dropped @captureSizes: capture sizes 102 dropped: above maxNumBatchedTokens 100, so no step could use them',
    ]);
  });

  it('accepts maxCaptureSize equal to the largest size', () => {
    expect(resolveGraphConfig({ captureSizes: [4, 16], maxCaptureSize: 16 }, ctx()).maxCaptureSize).toBe(16);
  });

  it('rejects maxCaptureSize different from the largest size, quoting both numbers', () => {
    expect(issuesOf({ captureSizes: [4, 16, 8], maxCaptureSize: 32 }, ctx())).toEqual([
      {
        code: 'max_capture_size_mismatch',
        path: 'maxCaptureSize',
        value: 32,
        rule: 'maxCaptureSize 32 must equal the largest of captureSizes, 16, when both are given',
        fix: 'set maxCaptureSize to 16, or remove it (the largest capture size is the max)',
      },
    ]);
  });

  it('rejects an empty list', () => {
    expect(issuesOf({ captureSizes: [] }, ctx())).toEqual([
      {
        code: 'empty_capture_sizes',
        path: 'captureSizes',
        value: [],
        rule: 'must list at least one capture size',
        fix: "remove captureSizes to use the defaults, or set mode: 'none' to capture no graphs",
      },
    ]);
  });

  it('rejects a list where no size fits maxNumBatchedTokens', () => {
    expect(issuesOf({ captureSizes: [200, 300] }, ctx({ maxNumBatchedTokens: 128 }))).toEqual([
      {
        code: 'no_capture_size_fits',
        path: 'captureSizes',
        value: [200, 300],
        rule: 'at least one capture size must be <= maxNumBatchedTokens 128',
        fix: 'add a capture size of at most 128, or raise maxNumBatchedTokens',
      },
    ]);
    expect(
      issuesOf({ captureSizes: [100] }, ctx({ maxNumBatchedTokens: 100, uniformDecodeQueryLen: 3 }))[0]!.rule,
    ).toBe(
      'at least one capture size must be <= maxNumBatchedTokens 100 after rounding up to multiples of uniformDecodeQueryLen 3',
    );
  });
});

describe('resolveGraphConfig: default sizes and maxCaptureSize', () => {
  it('rounds the default sizes in decode-full modes, keeping floor(max / k) * k', () => {
    expect(resolveGraphConfig({}, ctx({ maxNumSeqs: 4, uniformDecodeQueryLen: 3 })).captureSizes).toEqual([
      3, 6, 9, 18, 24,
    ]);
    const big = resolveGraphConfig({}, ctx({ uniformDecodeQueryLen: 3 }));
    expect(big.maxCaptureSize).toBe(510);
    expect(big.captureSizes.every((s) => s % 3 === 0)).toBe(true);
    expect(big.warnings).toEqual([]);
  });

  it('does not round the default sizes in piecewise mode', () => {
    expect(
      resolveGraphConfig({ mode: 'piecewise' }, ctx({ maxNumSeqs: 4, uniformDecodeQueryLen: 3 })).captureSizes,
    ).toEqual([1, 2, 4, 8, 16, 24]);
  });

  it('maxCaptureSize alone sets the ladder max, above 992 too', () => {
    const r = resolveGraphConfig({ maxCaptureSize: 1024 }, ctx());
    expect(r.maxCaptureSize).toBe(1024);
    expect(r.captureSizes.slice(-4)).toEqual([976, 992, 1008, 1024]);
    expect(resolveGraphConfig({ maxCaptureSize: 20 }, ctx()).captureSizes).toEqual([1, 2, 4, 8, 16, 20]);
  });

  it('caps maxCaptureSize at maxNumBatchedTokens with a warning', () => {
    expect(resolveGraphConfig({ maxCaptureSize: 4096 }, ctx({ maxNumBatchedTokens: 40 })).maxCaptureSize).toBe(40);
    expect(messages({ maxCaptureSize: 4096 }, ctx({ maxNumBatchedTokens: 40 }))).toEqual([
      'max_capture_size_capped @maxCaptureSize: maxCaptureSize 4096 is above maxNumBatchedTokens 40; using 40',
    ]);
  });

  it('rejects a max capture size below uniformDecodeQueryLen in decode-full modes', () => {
    expect(issuesOf({ maxCaptureSize: 2 }, ctx({ uniformDecodeQueryLen: 4 }))).toEqual([
      {
        code: 'no_capture_size_fits',
        path: 'maxCaptureSize',
        value: 2,
        rule: 'the max capture size 2 is below uniformDecodeQueryLen 4, so no uniform decode batch fits a graph',
        fix: 'raise maxCaptureSize to at least 4',
      },
    ]);
    expect(issuesOf({}, ctx({ uniformDecodeQueryLen: 4, maxNumBatchedTokens: 3 }))).toEqual([
      {
        code: 'no_capture_size_fits',
        path: 'context.maxNumBatchedTokens',
        value: 3,
        rule: 'the max capture size 3 is below uniformDecodeQueryLen 4, so no uniform decode batch fits a graph',
        fix: 'raise maxNumBatchedTokens to at least 4',
      },
    ]);
  });

  it("warns that sizes are ignored in mode 'none'", () => {
    const input = { mode: 'none', captureSizes: [1, 2], maxCaptureSize: 2 } as const;
    expect(resolveGraphConfig(input, ctx()).captureSizes).toEqual([]);
    expect(messages(input, ctx())).toEqual([
      "option_ignored @captureSizes: captureSizes is ignored: mode is 'none', so no graphs are captured",
      "option_ignored @maxCaptureSize: maxCaptureSize is ignored: mode is 'none', so no graphs are captured",
    ]);
    expect(resolveGraphConfig({ mode: 'none', captureSizes: [] }, ctx()).warnings).toEqual([]);
  });
});

describe('resolveGraphConfig: AoT scheduling and backend capability', () => {
  const aotFix =
    "use mode 'full_and_piecewise' (full graphs for uniform decode batches) or 'piecewise', or a backend with AoT scheduling";
  const aotRule =
    "mode 'full' needs AoT scheduling (attention metadata planned on the device inside the graph, so one graph serves any batch), " +
    'but the backend declares aotScheduling: false';

  it("rejects mode 'full' without AoT scheduling", () => {
    expect(issuesOf({ mode: 'full' }, ctx({ backend: backend('always', false) }))).toEqual([
      { code: 'aot_required', path: 'mode', value: 'full', rule: aotRule, fix: aotFix },
    ]);
    expect(issuesOf({ fullCudaGraph: true }, ctx({ backend: backend('always', false) }))).toEqual([
      { code: 'aot_required', path: 'fullCudaGraph', value: true, rule: aotRule, fix: aotFix },
    ]);
  });

  it.each(['full_and_piecewise', 'full_decode_only', 'piecewise', 'none'] as const)(
    'allows %s without AoT scheduling',
    (mode) => {
      expect(resolveGraphConfig({ mode }, ctx({ backend: backend('always', false) })).mode).toBe(mode);
    },
  );

  it.each(['full', 'full_decode_only', 'full_and_piecewise'] as const)(
    "rejects %s with cudagraphSupport 'never'",
    (mode) => {
      expect(issuesOf({ mode }, ctx({ backend: backend('never') }))).toEqual([
        {
          code: 'full_graphs_unsupported',
          path: 'mode',
          value: mode,
          rule: `mode '${mode}' captures full graphs, but the backend declares cudagraphSupport 'never'`,
          fix: "use mode 'piecewise' (graphs between attention calls, attention eager) or 'none'",
        },
      ]);
    },
  );

  it("suggests only 'none' when the runtime cannot capture piecewise", () => {
    expect(issuesOf({ mode: 'full' }, ctx({ backend: backend('never'), supportsPiecewise: false }))[0]!.fix).toBe(
      "use mode 'none' (the runtime declares supportsPiecewise: false)",
    );
  });

  it('reports both the AoT and the capability problem at once', () => {
    expect(issuesOf({ mode: 'full' }, ctx({ backend: backend('never', false) })).map((i) => i.code)).toEqual([
      'aot_required',
      'full_graphs_unsupported',
    ]);
  });

  const downgrades: [string, GraphConfigInput, Parameters<typeof ctx>[0], string, string[]][] = [
    [
      'default mode with never',
      {},
      { backend: backend('never') },
      'piecewise',
      [
        "mode_downgraded @mode: the default mode 'full_and_piecewise' captures full graphs, but the backend declares cudagraphSupport 'never'; using 'piecewise'",
      ],
    ],
    [
      'default mode with never, no piecewise',
      {},
      { backend: backend('never'), supportsPiecewise: false },
      'none',
      [
        "mode_downgraded @mode: the default mode 'full_and_piecewise' captures full graphs, but the backend declares cudagraphSupport 'never'; using 'none'",
      ],
    ],
    [
      'full with uniform_batch',
      { mode: 'full' },
      { backend: backend('uniform_batch') },
      'full_and_piecewise',
      [
        "mode_downgraded @mode: mode 'full' needs cudagraphSupport 'always' (full graphs for mixed prefill/decode batches), but the backend declares 'uniform_batch'; using 'full_and_piecewise': full graphs for uniform decode batches, piecewise graphs for the rest",
      ],
    ],
    [
      'full with uniform_single_token_decode',
      { mode: 'full' },
      { backend: backend('uniform_single_token_decode') },
      'full_and_piecewise',
      [
        "mode_downgraded @mode: mode 'full' needs cudagraphSupport 'always' (full graphs for mixed prefill/decode batches), but the backend declares 'uniform_single_token_decode'; using 'full_and_piecewise': full graphs for uniform decode batches, piecewise graphs for the rest",
      ],
    ],
    [
      'full with uniform_batch, no piecewise',
      { mode: 'full' },
      { backend: backend('uniform_batch'), supportsPiecewise: false },
      'full_decode_only',
      [
        "mode_downgraded @mode: mode 'full' needs cudagraphSupport 'always' (full graphs for mixed prefill/decode batches), but the backend declares 'uniform_batch'; using 'full_decode_only': full graphs for uniform decode batches, the rest runs eagerly",
      ],
    ],
    [
      'fullCudaGraph with uniform_batch',
      { fullCudaGraph: true },
      { backend: backend('uniform_batch') },
      'full_and_piecewise',
      [
        "deprecated_option @fullCudaGraph: fullCudaGraph is deprecated: use mode: 'full'",
        "mode_downgraded @fullCudaGraph: mode 'full' needs cudagraphSupport 'always' (full graphs for mixed prefill/decode batches), but the backend declares 'uniform_batch'; using 'full_and_piecewise': full graphs for uniform decode batches, piecewise graphs for the rest",
      ],
    ],
    [
      'full_and_piecewise, spec decode, single-token backend',
      { mode: 'full_and_piecewise' },
      { backend: backend('uniform_single_token_decode'), uniformDecodeQueryLen: 2 },
      'piecewise',
      [
        "mode_downgraded @mode: mode 'full_and_piecewise' captures full graphs of decode batches with 2 query tokens per request (uniformDecodeQueryLen 2), but the backend declares cudagraphSupport 'uniform_single_token_decode'; using 'piecewise'",
      ],
    ],
    [
      'full_decode_only, spec decode, single-token backend, no piecewise',
      { mode: 'full_decode_only' },
      { backend: backend('uniform_single_token_decode'), uniformDecodeQueryLen: 2, supportsPiecewise: false },
      'none',
      [
        "mode_downgraded @mode: mode 'full_decode_only' captures full graphs of decode batches with 2 query tokens per request (uniformDecodeQueryLen 2), but the backend declares cudagraphSupport 'uniform_single_token_decode'; using 'none'",
      ],
    ],
    [
      'full, spec decode, single-token backend: two steps',
      { mode: 'full' },
      { backend: backend('uniform_single_token_decode'), uniformDecodeQueryLen: 4 },
      'piecewise',
      [
        "mode_downgraded @mode: mode 'full' needs cudagraphSupport 'always' (full graphs for mixed prefill/decode batches), but the backend declares 'uniform_single_token_decode'; using 'full_and_piecewise': full graphs for uniform decode batches, piecewise graphs for the rest",
        "mode_downgraded @mode: mode 'full_and_piecewise' captures full graphs of decode batches with 4 query tokens per request (uniformDecodeQueryLen 4), but the backend declares cudagraphSupport 'uniform_single_token_decode'; using 'piecewise'",
      ],
    ],
    [
      'piecewise without piecewise support',
      { mode: 'piecewise' },
      { supportsPiecewise: false },
      'none',
      [
        "mode_downgraded @mode: mode 'piecewise' captures piecewise graphs, but the runtime declares supportsPiecewise: false; using 'none'",
      ],
    ],
    [
      'full_and_piecewise without piecewise support',
      { mode: 'full_and_piecewise' },
      { supportsPiecewise: false },
      'full_decode_only',
      [
        "mode_downgraded @mode: mode 'full_and_piecewise' captures piecewise graphs, but the runtime declares supportsPiecewise: false; using 'full_decode_only'",
      ],
    ],
  ];

  it.each(downgrades)('%s', (_, input, context, mode, warnings) => {
    const r = resolveGraphConfig(input, ctx(context));
    expect(r.mode).toBe(mode);
    expect(messages(input, ctx(context))).toEqual(warnings);
  });

  it.each([
    ['always', 'full', 1],
    ['uniform_batch', 'full_and_piecewise', 2],
    ['uniform_batch', 'full_decode_only', 4],
    ['uniform_single_token_decode', 'full_decode_only', 1],
    ['uniform_single_token_decode', 'full_and_piecewise', 1],
  ] as const)('%s backend runs %s with uniformDecodeQueryLen %i unchanged', (support, mode, k) => {
    const r = resolveGraphConfig({ mode }, ctx({ backend: backend(support), uniformDecodeQueryLen: k }));
    expect(r.mode).toBe(mode);
    expect(r.warnings).toEqual([]);
  });

  it('the downgraded mode decides the rounding', () => {
    // full -> full_and_piecewise -> piecewise: no full decode graphs remain, so no rounding.
    const r = resolveGraphConfig(
      { mode: 'full', captureSizes: [5] },
      ctx({ backend: backend('uniform_single_token_decode'), uniformDecodeQueryLen: 4 }),
    );
    expect(r.captureSizes).toEqual([5]);
  });
});

describe('resolveGraphConfig: maxAotBatch (FA3-compatible strict mode)', () => {
  it("rejects a default max capture size above it in mode 'full', naming both numbers", () => {
    expect(issuesOf({ mode: 'full' }, ctx({ backend: backend('always', true, 256) }))).toEqual([
      {
        code: 'max_aot_batch_exceeded',
        path: 'maxCaptureSize',
        value: 512,
        rule: "the max capture size 512 is above the backend's maxAotBatch 256: its AoT metadata holds at most 256 tokens",
        fix: "set maxCaptureSize: 256, or use mode 'piecewise'",
      },
    ]);
  });

  it("rejects user sizes above it in mode 'full'", () => {
    expect(
      issuesOf({ mode: 'full', captureSizes: [1, 992, 1024] }, ctx({ backend: backend('always', true, 992) })),
    ).toEqual([
      {
        code: 'max_aot_batch_exceeded',
        path: 'captureSizes',
        value: 1024,
        rule: "the max capture size 1024 is above the backend's maxAotBatch 992: its AoT metadata holds at most 992 tokens",
        fix: "remove capture sizes above 992, or use mode 'piecewise'",
      },
    ]);
  });

  it('applies only to sizes with full graphs: decode-only modes check the size decode batches pad to', () => {
    // 64 requests of 1 token: full decode graphs exist only up to 64, so 1024 (piecewise) is fine.
    const fine = resolveGraphConfig(
      { mode: 'full_and_piecewise', captureSizes: [1, 64, 1024] },
      ctx({ maxNumSeqs: 64, backend: backend('always', true, 992) }),
    );
    expect(fine.captureSizes).toEqual([1, 64, 1024]);
    // 1000 requests pad to 1024, which then gets a full decode graph above the limit.
    expect(
      issuesOf(
        { mode: 'full_decode_only', captureSizes: [1, 64, 1024] },
        ctx({ maxNumSeqs: 1000, backend: backend('always', true, 992) }),
      ).map((i) => [i.code, i.path, i.value]),
    ).toEqual([['max_aot_batch_exceeded', 'captureSizes', 1024]]);
  });

  it.each([
    ['at the limit', { maxCaptureSize: 256 }, 'full'],
    ['below the limit', { captureSizes: [1, 8] }, 'full'],
    ['piecewise mode (no full graphs)', {}, 'piecewise'],
    ['none mode', {}, 'none'],
  ] as const)('accepts %s', (_, input, mode) => {
    expect(() => resolveGraphConfig({ ...input, mode }, ctx({ backend: backend('always', true, 256) }))).not.toThrow();
  });
});

describe('resolveGraphConfig: properties', () => {
  it('sizes are ascending, unique, within maxNumBatchedTokens, multiples of k in decode-full modes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(...graphModes),
        (captureSizes, maxNumBatchedTokens, k, mode) => {
          let r: ReturnType<typeof resolveGraphConfig>;
          try {
            r = resolveGraphConfig({ mode, captureSizes }, ctx({ maxNumBatchedTokens, uniformDecodeQueryLen: k }));
          } catch (error) {
            // The one way a valid list fails: nothing fits after rounding.
            expect((error as ConfigError).issues.map((i) => i.code)).toEqual(['no_capture_size_fits']);
            return;
          }
          const sizes = r.captureSizes;
          if (mode === 'none') {
            expect(sizes).toEqual([]);
            return;
          }
          for (let i = 1; i < sizes.length; i++) expect(sizes[i]!).toBeGreaterThan(sizes[i - 1]!);
          expect(sizes.every((s) => s <= maxNumBatchedTokens)).toBe(true);
          if (r.hasFullGraphs && k > 1) expect(sizes.every((s) => s % k === 0)).toBe(true);
          expect(r.maxCaptureSize).toBe(sizes[sizes.length - 1]);
          const changed = sizes.length !== captureSizes.length || sizes.some((s) => !captureSizes.includes(s));
          if (!changed) expect(r.warnings).toEqual([]);
        },
      ),
    );
  });

  it('never throws anything but ConfigError, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (input, context) => {
        try {
          resolveGraphConfig(input as never, context as never);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).issues.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('never throws anything but ConfigError for objects with the right keys and any values', () => {
    const value = fc.oneof(
      fc.anything(),
      fc.integer({ min: -3, max: 600 }),
      fc.constantFrom(...graphModes),
      fc.boolean(),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            mode: value,
            captureSizes: fc.oneof(fc.array(value), value),
            maxCaptureSize: value,
            maxNumSplits: value,
            numWarmups: value,
            fullCudaGraph: value,
          },
          { requiredKeys: [] },
        ),
        fc.record(
          {
            maxNumSeqs: value,
            maxNumBatchedTokens: value,
            uniformDecodeQueryLen: value,
            supportsPiecewise: value,
            backend: fc.record(
              {
                cudagraphSupport: fc.constantFrom(
                  'always',
                  'uniform_batch',
                  'uniform_single_token_decode',
                  'never',
                  'x',
                ),
                aotScheduling: value,
                maxAotBatch: value,
              },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: [] },
        ),
        (input, context) => {
          try {
            const r = resolveGraphConfig(input as never, context as never);
            expect(Object.isFrozen(r)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            expect((error as ConfigError).issues.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
