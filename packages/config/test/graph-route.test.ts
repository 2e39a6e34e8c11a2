// The one full-graph decision (graph-route.ts): the routes of each mode, decode graphs exactly at
// the sizes decodeGraphSizes names, the bound lookup equal to the one-shot call, and hostile input.
import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  captureSizeRoutes,
  decodeGraphSizes,
  type GraphMode,
  graphModes,
  graphRoute,
  graphRouteLookup,
  resolveGraphConfig,
} from '../src/index.js';

const context = { maxNumSeqs: 4, maxNumBatchedTokens: 16 };
const resolve = (mode: GraphMode) => resolveGraphConfig({ mode, captureSizes: [1, 2, 4, 8, 16] }, context);
const short = (r: { graph: string; captureSize: number; decodeGraph: boolean }) =>
  `${r.graph}${r.graph === 'eager' ? '' : ` ${r.captureSize}`}${r.decodeGraph ? ' decode' : ''}`;

describe('graphRoute', () => {
  it.each<[GraphMode, string[], string[]]>([
    // numTokens 3, 8, 16, 17: mixed routes, then uniform decode routes (at most 4 requests of 1 token).
    ['none', ['eager', 'eager', 'eager', 'eager'], ['eager', 'eager', 'eager', 'eager']],
    [
      'piecewise',
      ['piecewise 4', 'piecewise 8', 'piecewise 16', 'eager'],
      ['piecewise 4', 'piecewise 8', 'piecewise 16', 'eager'],
    ],
    ['full', ['full 4', 'full 8', 'full 16', 'eager'], ['full 4 decode', 'full 8', 'full 16', 'eager']],
    ['full_decode_only', ['eager', 'eager', 'eager', 'eager'], ['full 4 decode', 'eager', 'eager', 'eager']],
    [
      'full_and_piecewise',
      ['piecewise 4', 'piecewise 8', 'piecewise 16', 'eager'],
      ['full 4 decode', 'piecewise 8', 'piecewise 16', 'eager'],
    ],
  ])('%s', (mode, mixed, decode) => {
    const config = resolve(mode);
    expect([3, 8, 16, 17].map((n) => short(graphRoute(config, n, false)))).toEqual(mixed);
    expect([3, 8, 16, 17].map((n) => short(graphRoute(config, n, true)))).toEqual(decode);
  });

  it('decode graphs sit exactly at decodeGraphSizes; the lookup equals the one-shot call (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...graphModes),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 200 }),
        (mode, k, maxNumSeqs, maxNumReqs, numTokens) => {
          const config = resolveGraphConfig(
            { mode },
            { maxNumSeqs, maxNumBatchedTokens: 64 * k, uniformDecodeQueryLen: k },
          );
          const decodeSizes = decodeGraphSizes(config, maxNumReqs);
          const routes = captureSizeRoutes(config, maxNumReqs);
          expect(routes.map((r) => r.size)).toEqual(config.captureSizes);
          expect(routes.filter((r) => r.decode.decodeGraph).map((r) => r.size)).toEqual(decodeSizes);
          const lookup = graphRouteLookup(config, maxNumReqs);
          for (const u of [false, true]) {
            const route = lookup(numTokens, u);
            expect(route).toEqual(graphRoute(config, numTokens, u, maxNumReqs));
            expect(Object.isFrozen(route)).toBe(true);
            if (route.graph !== 'eager') expect(route.captureSize).toBeGreaterThanOrEqual(numTokens);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects hostile arguments with an InvalidArgumentError naming them', () => {
    const config = resolve('full');
    const bad: [() => unknown, string][] = [
      [() => graphRoute(config, 0, false), 'numTokens'],
      [() => graphRoute(config, 1.5, false), 'numTokens'],
      [() => graphRoute(config, 1, 'yes' as never), 'uniformDecode'],
      [() => graphRoute(config, 1, false, 0), 'maxNumReqs'],
      [() => graphRoute(null as never, 1, false), 'resolved'],
      [() => graphRoute({ ...config, fullGraphsFor: 'some' } as never, 1, false), 'resolved.fullGraphsFor'],
      [() => graphRoute({ ...config, maxNumSeqs: Number.NaN }, 1, false), 'resolved.maxNumSeqs'],
      [() => graphRoute({ ...config, captureSizes: [4, 2] }, 1, false), 'resolved.captureSizes[1]'],
      [() => graphRouteLookup(config)(Number.POSITIVE_INFINITY, false), 'numTokens'],
      [() => graphRouteLookup(config)(1, 1 as never), 'uniformDecode'],
      [() => captureSizeRoutes(config, 2 ** 31), 'maxNumReqs'],
    ];
    for (const [call, path] of bad) {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(isFlashgraphError(caught), path).toBe(true);
      expect(caught).toBeInstanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).path).toBe(path);
    }
  });
});
