// Every error docs/errors.md lists for attn-metadata, produced through the public API: the code,
// the class and the brand (isFlashgraphError) of each, and no documented code left unexercised.
import { readFileSync } from 'node:fs';
import { DisposedError, FlashgraphError, InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { describe as describeMetadata } from '../src/describe.js';
import { MetadataError } from '../src/errors.js';
import { forwardArgs } from '../src/forward-args.js';
import { createHostMetadataBuilder } from '../src/host-metadata-builder.js';
import { createHostMirror } from '../src/host-mirror.js';
import { fakeMemory, graphConfig, recordingAttention } from './support/fakes.js';

const caps = { maxNumReqs: 2, maxNumTokens: 8, blockSize: 4, numBlocks: 16, maxBlocksPerReq: 2 };
const req = (over: Record<string, unknown> = {}) => ({ numNewTokens: 1, numComputedTokens: 0, blockIds: [1], ...over });
const mirror = () => createHostMirror(caps);

const metadataCases: Record<string, () => unknown> = {
  capacity_mismatch: () =>
    createHostMetadataBuilder({
      ...caps,
      graphConfig: graphConfig(),
      attention: { options: { ...recordingAttention().options, pageSize: 8 } },
    }),
  invalid_batch: () => mirror().write({ requests: { length: -1 } } as never),
  not_integer: () => mirror().write({ requests: [req({ numNewTokens: 0.5 })] }),
  out_of_range: () => mirror().write({ requests: [req({ numComputedTokens: -1 })] }),
  too_many_requests: () => mirror().write({ requests: [req(), req(), req()] }),
  too_many_tokens: () => mirror().write({ requests: [req({ numNewTokens: 8, blockIds: [1, 2] }), req()] }),
  request_too_long: () => mirror().write({ requests: [req({ numComputedTokens: 8 })] }),
  too_many_blocks: () => mirror().write({ requests: [req({ blockIds: [1, 2, 3] })] }),
  not_enough_blocks: () => mirror().write({ requests: [req({ numComputedTokens: 4, blockIds: [1] })] }),
  invalid_block_id: () => mirror().write({ requests: [req({ blockIds: [16] })] }),
  no_free_row: () => {
    const rows = mirror().blockTableRows;
    rows.acquireRow();
    rows.acquireRow();
    rows.acquireRow();
  },
  invalid_row: () => mirror().blockTableRows.appendBlock(2, 1),
  row_not_acquired: () => mirror().blockTableRows.appendBlock(0, 1),
  duplicate_row: () => {
    const m = mirror();
    const row = m.blockTableRows.acquireRow();
    m.blockTableRows.appendBlock(row, 1);
    const r = { numNewTokens: 1, numComputedTokens: 0, blockTableRow: row };
    m.write({ requests: [r, r] });
  },
  invalid_padding: () => mirror().write({ requests: [req()] }, { padToTokens: 0 }),
  not_uniform_decode: () => mirror().write({ requests: [req({ numNewTokens: 2 })] }, { decodeGraph: true }),
  invalid_stream: () =>
    createBuilderWithMemory(
      { ...caps, attention: recordingAttention({ maxNumPagesPerReq: 2, pageSize: 4 }), graphConfig: graphConfig() },
      fakeMemory,
    ).build({ requests: [req()] }, {} as never),
  invalid_metadata: () => describeMetadata({} as never),
  stale_metadata: () => {
    const host = createHostMetadataBuilder({
      ...caps,
      graphConfig: graphConfig(),
      attention: { options: { ...recordingAttention().options, pageSize: 4, maxNumPagesPerReq: 2 } },
    });
    const first = host.stage({ requests: [req()] });
    host.stage({ requests: [req()] });
    describeMetadata(first);
  },
};

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** The codes docs/errors.md lists for a class of this package. */
function documentedCodes(className: string): string[] {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const codes: string[] = [];
  for (const line of doc.split('\n')) {
    const m = /^\| `([a-z_]+)` \| `(\w+)` \(attn-metadata\) \|/.exec(line);
    if (m && m[2] === className) codes.push(m[1]!);
  }
  return codes;
}

describe('documented errors of attn-metadata', () => {
  it('every documented MetadataError code is thrown with its class and brand', () => {
    const documented = documentedCodes('MetadataError');
    expect(documented.sort()).toEqual(Object.keys(metadataCases).sort());
    for (const [code, call] of Object.entries(metadataCases)) {
      const err = caught(call);
      expect(err, code).toBeInstanceOf(MetadataError);
      expect(isFlashgraphError(err)).toBe(true);
      expect((err as MetadataError).code).toBe(code);
      expect((err as MetadataError).path.length).toBeGreaterThan(0);
    }
  });

  it('option and argument errors are the kit InvalidArgumentError; use after dispose is DisposedError', () => {
    for (const [call, code] of [
      [() => createHostMirror({ ...caps, maxNumReqs: 0 }), 'out_of_range'],
      [() => createHostMirror({ ...caps, maxNumReqs: '2' } as never), 'invalid_type'],
      [() => createHostMirror({ ...caps, typo: 1 } as never), 'unknown_option'],
      [
        () => createHostMetadataBuilder({ ...caps, graphConfig: graphConfig({ fullGraphsFor: 'x' as never }) }),
        'invalid_value',
      ],
      [() => forwardArgs(null as never, {} as never), 'invalid_type'],
    ] as const) {
      const err = caught(call);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err).toBeInstanceOf(FlashgraphError);
      expect((err as InvalidArgumentError).code).toBe(code);
    }
    const builder = createBuilderWithMemory(
      { ...caps, attention: recordingAttention({ maxNumPagesPerReq: 2, pageSize: 4 }), graphConfig: graphConfig() },
      fakeMemory,
    );
    builder.dispose();
    const err = caught(() => builder.stage({ requests: [req()] }));
    expect(err).toBeInstanceOf(DisposedError);
    expect(err).toMatchObject({ code: 'disposed', path: 'MetadataBuilder.stage' });
    expect(documentedCodes('FlashgraphError')).toEqual(['internal_error']);
  });
});
