// The glossary of docs/architecture.md says how attn-metadata's names (vLLM's) map to fa3's
// (FA3's); forwardArgs is the one place that maps them. Every row whose names are step fields is
// checked against what forwardArgs actually does.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { forwardArgs } from '../src/forward-args.js';
import { createHostMetadataBuilder } from '../src/host-metadata-builder.js';
import { graphConfig } from './support/fakes.js';

/** [attn-metadata name, fa3 name] pairs from the glossary table (names paired by position). */
function glossaryPairs(): [string, string][] {
  const doc = readFileSync(new URL('../../../docs/architecture.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Glossary'));
  const pairs: [string, string][] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !cells[1]!.startsWith('`')) continue;
    const names = (cell: string) => [...cell.replace(/\(.*?\)/g, '').matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    const left = names(cells[1]!);
    const right = names(cells[2]!);
    left.forEach((name, i) => {
      if (right[i] !== undefined) pairs.push([name, right[i]!]);
    });
  }
  return pairs;
}

describe('the glossary matches forwardArgs', () => {
  it('every pair of step-field names maps as documented', () => {
    const caps = { maxNumReqs: 4, maxNumTokens: 16, blockSize: 4, numBlocks: 16, maxBlocksPerReq: 4 };
    const builder = createHostMetadataBuilder({ ...caps, graphConfig: graphConfig() });
    const metadata = builder.stage(
      { requests: [{ numNewTokens: 2, numComputedTokens: 3, blockIds: [1, 2] }] },
      { padToTokens: 4, padToReqs: 2 },
    );
    const args = forwardArgs(metadata, { stream: 0, q: 1, kCache: 2, vCache: 3, out: 4 }) as unknown as Record<
      string,
      unknown
    >;
    const m = metadata as unknown as Record<string, unknown>;
    const checked = glossaryPairs().filter(([left, right]) => left in m && right in args);
    expect(checked.map(([l]) => l).sort()).toEqual(
      [
        'blockTable',
        'blockTableStride',
        'maxSeqlenK',
        'maxSeqlenQ',
        'numPaddedReqs',
        'numSplits',
        'queryStartLoc',
        'seqLens',
      ].sort(),
    );
    for (const [left, right] of checked) expect([left, args[right]]).toEqual([left, m[left]]);
  });
});
