// One owner per constant (issue 19): the split limit config validates maxNumSplits against is
// fa3's (the kernel's); config keeps a copy because it loads no native code, pinned here.
import { graphConfigLimits } from '@flashgraph/config';
import { MAX_NUM_SPLITS } from '@flashgraph/fa3';
import { expect, test } from 'vitest';

test("config's maxNumSplits limit is fa3's MAX_NUM_SPLITS", () => {
  expect(graphConfigLimits.maxNumSplits).toBe(MAX_NUM_SPLITS);
});
