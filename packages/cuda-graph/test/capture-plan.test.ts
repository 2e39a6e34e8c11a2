import { captureSizeIndex, padToCaptureSize, resolveGraphConfig } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { buildCapturePlan, padRequestCount } from '../src/capture-plan.js';

describe('padRequestCount', () => {
  test.each([
    // paddedTokens, uniformDecode, k, maxNumReqs, expected
    [8, false, 1, undefined, 8],
    [8, true, 1, undefined, 8],
    [8, true, 2, undefined, 4],
    [10, true, 4, undefined, 3], // ceil: the last dummy request is shorter
    [512, false, 1, 256, 256],
    [512, true, 1, 256, 256],
    [16, true, 4, 2, 2],
    [1, false, 1, 1, 1],
  ])('(%i tokens, uniform %s, k %i, max %s) -> %i', (paddedTokens, uniformDecode, k, maxNumReqs, expected) => {
    expect(
      padRequestCount({
        paddedTokens,
        uniformDecode,
        uniformDecodeQueryLen: k,
        ...(maxNumReqs === undefined ? {} : { maxNumReqs }),
      }),
    ).toBe(expected);
  });

  test.each([
    [{ paddedTokens: 0, uniformDecode: false, uniformDecodeQueryLen: 1 }, 'args.paddedTokens'],
    [{ paddedTokens: 2 ** 31, uniformDecode: false, uniformDecodeQueryLen: 1 }, 'args.paddedTokens'],
    [{ paddedTokens: 4, uniformDecode: false, uniformDecodeQueryLen: 0 }, 'args.uniformDecodeQueryLen'],
    [{ paddedTokens: 4, uniformDecode: false, uniformDecodeQueryLen: 1, maxNumReqs: 1.5 }, 'args.maxNumReqs'],
  ])('rejects %o', (args, path) => {
    expect(() => padRequestCount(args)).toThrow(InvalidArgumentError);
    expect(() => padRequestCount(args)).toThrow(expect.objectContaining({ code: 'out_of_range', path }));
  });

  test('rejects null and a non-boolean uniformDecode', () => {
    expect(() => padRequestCount(null as never)).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'args' }),
    );
    expect(() => padRequestCount({ paddedTokens: 4, uniformDecode: 1 as never, uniformDecodeQueryLen: 1 })).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'args.uniformDecode' }),
    );
  });

  test('a real batch always fits its padded request count (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 64 }),
        (reqs, k, extra) => {
          const paddedTokens = reqs * k + extra;
          expect(
            padRequestCount({ paddedTokens, uniformDecode: true, uniformDecodeQueryLen: k }),
          ).toBeGreaterThanOrEqual(reqs);
          expect(
            padRequestCount({ paddedTokens, uniformDecode: false, uniformDecodeQueryLen: k, maxNumReqs: reqs }),
          ).toBe(reqs);
        },
      ),
    );
  });
});

describe('buildCapturePlan', () => {
  const context = { maxNumSeqs: 256, maxNumBatchedTokens: 8192 };

  test('default sizes for 256 sequences: 51 sizes, mixed full graphs for all in mode full, decode ones where reachable', () => {
    const config = resolveGraphConfig({ mode: 'full' }, context);
    const plan = buildCapturePlan(config, 256);
    expect(plan.sizes).toHaveLength(51);
    expect(plan.sizes.every((s) => s.fullMixed && !s.piecewise)).toBe(true);
    // A uniform decode batch of up to 256 one-token requests pads to the sizes <= 256 only.
    const decodeSizes = plan.sizes.filter((s) => s.fullDecode).map((s) => s.size);
    expect(decodeSizes).toEqual(config.captureSizes.filter((s) => s <= 256));
    expect(decodeSizes).toHaveLength(35);
    expect(plan.sizes.at(-1)).toMatchObject({ size: 512, mixedReqs: 256, decodeReqs: 256 });
    expect(plan.maxCaptureSize).toBe(512);
  });

  test('full decode graphs only for sizes a uniform decode batch can reach', () => {
    const config = resolveGraphConfig({ mode: 'full_and_piecewise' }, context);
    const plan = buildCapturePlan(config, 256);
    const decodeSizes = plan.sizes.filter((s) => s.fullDecode).map((s) => s.size);
    expect(decodeSizes).toEqual(config.captureSizes.filter((s) => s <= 256));
    expect(plan.sizes.every((s) => s.piecewise)).toBe(true);
  });

  test('with query length 4 only sizes some r * 4 pads to get decode graphs', () => {
    const config = resolveGraphConfig(
      { mode: 'full_decode_only', captureSizes: [4, 8, 12, 16, 32] },
      { maxNumSeqs: 6, maxNumBatchedTokens: 64, uniformDecodeQueryLen: 4 },
    );
    const plan = buildCapturePlan(config, 6);
    // r = 1..6 -> 4, 8, 12, 16, 20 -> 32, 24 -> 32
    expect(plan.sizes.map((s) => [s.size, s.fullDecode, s.decodeReqs])).toEqual([
      [4, true, 1],
      [8, true, 2],
      [12, true, 3],
      [16, true, 4],
      [32, true, 6],
    ]);
    const capped = buildCapturePlan(config, 3);
    expect(capped.sizes.filter((s) => s.fullDecode).map((s) => s.size)).toEqual([4, 8, 12]);
  });

  test('mode full plans the same decode graphs as full_decode_only, next to a mixed graph per size', () => {
    const input = { captureSizes: [4, 8, 12, 16, 32] };
    const ctx = { maxNumSeqs: 3, maxNumBatchedTokens: 64, uniformDecodeQueryLen: 4 };
    const full = buildCapturePlan(resolveGraphConfig({ mode: 'full', ...input }, ctx), 3);
    const decodeOnly = buildCapturePlan(resolveGraphConfig({ mode: 'full_decode_only', ...input }, ctx), 3);
    // r = 1..3 -> 4, 8, 12; 16 and 32 are above three requests.
    expect(full.sizes.map((s) => [s.size, s.fullMixed, s.fullDecode, s.mixedReqs, s.decodeReqs])).toEqual([
      [4, true, true, 3, 1],
      [8, true, true, 3, 2],
      [12, true, true, 3, 3],
      [16, true, false, 3, 3],
      [32, true, false, 3, 3],
    ]);
    expect(full.sizes.map((s) => s.fullDecode)).toEqual(decodeOnly.sizes.map((s) => s.fullDecode));
  });

  test.each(['none', 'full', 'full_decode_only', 'piecewise', 'full_and_piecewise'] as const)(
    'plan sizes line up with captureSizeIndex and padToCaptureSize (%s)',
    (mode) => {
      const config = resolveGraphConfig({ mode }, context);
      const plan = buildCapturePlan(config, undefined);
      expect(plan.sizes.map((s) => s.size)).toEqual(config.captureSizes);
      for (let n = 1; n <= config.maxCaptureSize; n++) {
        expect(plan.sizes[captureSizeIndex(config, n)]!.size).toBe(padToCaptureSize(config, n));
      }
      expect(plan.sizes.some((s) => s.fullMixed)).toBe(config.fullGraphsFor === 'all');
      expect(plan.sizes.some((s) => s.fullDecode)).toBe(config.fullGraphsFor !== 'none');
      expect(plan.sizes.some((s) => s.piecewise)).toBe(config.piecewise);
    },
  );
});
