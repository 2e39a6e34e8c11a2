import { resolveGraphConfig } from '@flashgraph/config';
import { expect, test } from 'vitest';
import { createCpuGraphRunner } from '../src/index.js';

// Keeps the numbers printed by the first README example true.
test('the README example prints what it says', () => {
  const config = resolveGraphConfig({ mode: 'full' }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 });
  const x = new Float32Array(64);
  const y = new Float32Array(64);
  const runner = createCpuGraphRunner(config, 8);
  runner.capture((ctx) =>
    ctx.stream.launch(() => {
      for (let i = 0; i < ctx.numTokens; i++) y[i] = 2 * x[i]!;
    }),
  );
  x.set([1, 2, 3]);
  expect(runner.run({ numTokens: 3, numReqs: 3, uniformDecode: true })).toEqual({
    mode: 'full',
    paddedTokens: 4,
    paddedReqs: 4,
    decodeGraph: true,
  });
  expect(Array.from(y.subarray(0, 3))).toEqual([2, 4, 6]);
  runner.dispose();
});
