// Issue 17: random hostile values at every public function and class. Each call returns a valid
// result or throws a FlashgraphError naming the argument; a rejected call leaves the object
// exactly as it was and still usable. Capacities are bounded up front (no raw "Invalid typed
// array length", no per-token structure beyond the stated bounds).
import { NoCudaDeviceError } from '@flashgraph/cuda';
import { hostile, hostileArrayLike, hostileRecord, typedOrValid } from '@flashgraph/tooling/hostile';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBuilderWithMemory } from '../src/builder.js';
import { createMetadataBuilder } from '../src/create-metadata-builder.js';
import { describe as describeMetadata } from '../src/describe.js';
import { forwardArgs, scheduleArgs } from '../src/forward-args.js';
import { createHostMetadataBuilder } from '../src/host-metadata-builder.js';
import { createHostMirror } from '../src/host-mirror.js';
import { metadataLayout } from '../src/layout.js';
import { isFullGraphStep } from '../src/split-bound.js';
import { stepOptionsFromPlan } from '../src/step-options-from-plan.js';
import { fakeMemory, fakeStream, graphConfig, recordingAttention } from './support/fakes.js';

const caps = { maxNumReqs: 4, maxNumTokens: 16, blockSize: 4, numBlocks: 32, maxBlocksPerReq: 4 };
const attentionOptions = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128,
  pageSize: 4,
  numPages: 32,
  maxNumReqs: 4,
  maxNumTokens: 16,
  maxNumPagesPerReq: 4,
  maxNumSplits: 16,
};
const goodRequest = { numNewTokens: 1, numComputedTokens: 4, blockIds: [1, 2] };
const runs = { numRuns: 400 };

/** Requests made of hostile parts (and sometimes valid ones). */
const hostileRequest = fc.oneof(
  hostile,
  hostileRecord(goodRequest),
  hostileRecord({ numNewTokens: 1, numComputedTokens: 0, blockTableRow: 0 }),
);
const hostileBatch = fc.oneof(
  hostile,
  fc.record({ requests: fc.oneof(hostileArrayLike, fc.array(hostileRequest, { maxLength: 6 })) }),
  fc.array(hostileRequest, { maxLength: 3 }).map((requests) => Object.create({ requests })),
);
const hostileStepOptions = fc.oneof(
  fc.constant(undefined),
  hostileRecord({ padToTokens: 8, padToReqs: 4, decodeGraph: false }),
);

describe('hostile input: constructors and pure functions', () => {
  it('createHostMirror', () => {
    fc.assert(
      fc.property(hostileRecord({ ...caps, uniformDecodeQueryLen: 1 }), (options) => {
        typedOrValid(
          () => createHostMirror(options as never),
          (mirror) => {
            // Valid options: the mirror works.
            expect(mirror.write({ requests: [] }).numReqs).toBe(0);
          },
        );
      }),
      runs,
    );
  });

  it('createHostMirror bounds every capacity up front (no raw typed-array errors)', () => {
    for (const [key, value] of [
      ['maxNumReqs', 2 ** 31 - 2],
      ['maxNumTokens', 2 ** 31 - 1],
      ['maxBlocksPerReq', 2 ** 20],
      ['blockSize', 2 ** 20],
    ] as const) {
      expect(() =>
        createHostMirror({ ...caps, maxNumReqs: key === 'maxBlocksPerReq' ? 1024 : 4, [key]: value }),
      ).toThrow(expect.objectContaining({ code: 'out_of_range', path: `options.${key}` }));
    }
  });

  it('createHostMetadataBuilder and the CUDA builder (on simulated memory)', () => {
    fc.assert(
      fc.property(
        hostileRecord({ ...caps, graphConfig: graphConfig({ maxCaptureSize: 8, captureSizes: [1, 2, 4, 8] }) }),
        hostileRecord(attentionOptions),
        (options, attention) => {
          typedOrValid(() =>
            createHostMetadataBuilder({ ...(options as object), attention: { options: attention } } as never),
          );
          let allocated = 0;
          typedOrValid(() =>
            createBuilderWithMemory(
              { ...(options as object), attention: { ...recordingAttention(), options: attention } } as never,
              (bytes) => {
                allocated++;
                return fakeMemory(bytes);
              },
            ),
          );
          expect(allocated).toBeLessThanOrEqual(1);
        },
      ),
      runs,
    );
  });

  it('createMetadataBuilder (public): options are rejected before CUDA is touched', () => {
    fc.assert(
      fc.property(hostileRecord({ ...caps, graphConfig: graphConfig() }), (options) => {
        typedOrValid(() => {
          try {
            return createMetadataBuilder({
              ...(options as object),
              attention: recordingAttention(attentionOptions),
            } as never);
          } catch (err) {
            // Valid options reach the CUDA layer; on a machine without a GPU it says so.
            if (err instanceof NoCudaDeviceError) return undefined;
            throw err;
          }
        });
      }),
      { numRuns: 200 },
    );
  });

  it('createHostMirror storage', () => {
    fc.assert(
      fc.property(
        fc.oneof(hostile, fc.constantFrom(new Int32Array(4), new Int32Array(1 << 12), new Float32Array(1 << 12))),
        (storage) => {
          typedOrValid(() => createHostMirror(caps, storage as never));
        },
      ),
      runs,
    );
  });

  it('metadataLayout never returns NaN offsets', () => {
    fc.assert(
      fc.property(hostileRecord(caps), (c) => {
        typedOrValid(
          () => metadataLayout(c as never),
          (layout) => {
            for (const v of Object.values(layout)) expect(Number.isSafeInteger(v)).toBe(true);
          },
        );
      }),
      runs,
    );
  });

  it('isFullGraphStep, stepOptionsFromPlan, describe, forwardArgs, scheduleArgs', () => {
    fc.assert(
      fc.property(hostileRecord({ ...graphConfig() }), hostile, hostile, (config, n, u) => {
        typedOrValid(() => isFullGraphStep(config as never, n as never, u as never));
      }),
      runs,
    );
    fc.assert(
      fc.property(hostileRecord({ mode: 'full', paddedTokens: 8, paddedReqs: 4, decodeGraph: true }), (plan) => {
        typedOrValid(() => stepOptionsFromPlan(plan as never));
      }),
      runs,
    );
    const host = createHostMetadataBuilder({
      ...caps,
      graphConfig: graphConfig(),
      attention: { options: attentionOptions },
    });
    const metadata = host.stage({ requests: [goodRequest] });
    fc.assert(
      fc.property(
        fc.oneof(hostile, hostileRecord({ ...metadata })),
        hostileRecord({ stream: 0n, q: 1, kCache: 2, vCache: 3, out: 4 }),
        (m, inputs) => {
          typedOrValid(() => describeMetadata(m as never));
          typedOrValid(() => forwardArgs(m as never, inputs as never));
          typedOrValid(() => scheduleArgs(m as never, inputs));
          typedOrValid(() => forwardArgs(metadata, inputs as never));
        },
      ),
      runs,
    );
  });
});

describe('hostile input: stateful objects stay unchanged and usable after a rejection', () => {
  it('mirror.write and host builder stage', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(hostileBatch, hostileStepOptions), { minLength: 1, maxLength: 5 }), (calls) => {
        const mirror = createHostMirror(caps);
        const host = createHostMetadataBuilder({ ...caps, graphConfig: graphConfig() });
        const row = mirror.blockTableRows.acquireRow();
        mirror.blockTableRows.appendBlocks(row, [3, 4]);
        host.blockTableRows.appendBlocks(host.blockTableRows.acquireRow(), [3, 4]);
        for (const [batch, options] of calls) {
          const before = mirror.buffer.slice();
          const ok = typedOrValid(() => mirror.write(batch as never, options as never));
          if (!ok) expect(mirror.buffer).toEqual(before);
          const hostBefore = host.host.buffer.slice();
          const okHost = typedOrValid(() => host.stage(batch as never, options as never));
          if (!okHost) expect(host.host.buffer).toEqual(hostBefore);
        }
        // Still usable, and still right.
        expect(mirror.write({ requests: [goodRequest] }).numActualTokens).toBe(1);
        expect(Array.from(mirror.slotMapping.subarray(0, 1))).toEqual([2 * 4]);
        expect(host.stage({ requests: [goodRequest] }).numReqs).toBe(1);
      }),
      runs,
    );
  });

  it('mirror.write({ requests: { length: -1 } }) is rejected and changes nothing', () => {
    const mirror = createHostMirror(caps);
    mirror.write({ requests: [goodRequest, goodRequest] });
    const before = mirror.buffer.slice();
    for (const requests of [{ length: -1 }, { length: 2 ** 53 }, { length: 1.5 }]) {
      expect(() => mirror.write({ requests } as never)).toThrow(
        expect.objectContaining({ code: 'invalid_batch', path: 'batch.requests' }),
      );
    }
    expect(mirror.buffer).toEqual(before);
  });

  it('block-table rows: appendBlocks / appendBlock / truncate / releaseRow / rowLength / blockIds', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(
              'appendBlocks',
              'appendBlock',
              'truncate',
              'releaseRow',
              'rowLength',
              'blockIds',
              'isAcquired',
            ),
            hostile,
            fc.oneof(hostile, hostileArrayLike),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        (calls) => {
          const mirror = createHostMirror(caps);
          const rows = mirror.blockTableRows;
          const row = rows.acquireRow();
          rows.appendBlocks(row, [1, 2]);
          for (const [method, a, b] of calls) {
            const state = [rows.numAcquired, rows.isAcquired(row) ? Array.from(rows.blockIds(row)) : null];
            const ok = typedOrValid(() => (rows[method] as (x: unknown, y: unknown) => unknown).call(rows, a, b));
            if (!ok)
              expect([rows.numAcquired, rows.isAcquired(row) ? Array.from(rows.blockIds(row)) : null]).toEqual(state);
          }
          // Every row can still be acquired (none leaked) and used.
          while (rows.numAcquired < rows.numRows) rows.acquireRow();
          for (let r = 0; r < rows.numRows; r++) rows.releaseRow(r);
          const fresh = rows.acquireRow();
          rows.appendBlocks(fresh, [7]);
          expect(Array.from(rows.blockIds(fresh))).toEqual([7]);
        },
      ),
      runs,
    );
  });

  it('rows.appendBlocks(row, { length: -2 }) neither shrinks the row nor leaks it', () => {
    const rows = createHostMirror(caps).blockTableRows;
    const row = rows.acquireRow();
    rows.appendBlocks(row, [1, 2, 3]);
    expect(() => rows.appendBlocks(row, { length: -2 } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_batch' }),
    );
    expect(rows.rowLength(row)).toBe(3);
    const fresh = rows.acquireRow();
    expect(() => rows.appendBlocks(fresh, { length: -2 } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_batch' }),
    );
    expect(rows.rowLength(fresh)).toBe(0);
    rows.releaseRow(fresh);
    rows.releaseRow(row);
    expect(rows.numAcquired).toBe(0);
  });

  it('builder build / stage with a hostile batch, options and stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(hostileBatch, hostileStepOptions, hostile), { minLength: 1, maxLength: 4 }),
        (calls) => {
          const attention = recordingAttention(attentionOptions);
          let memory: ReturnType<typeof fakeMemory> | undefined;
          const builder = createBuilderWithMemory({ ...caps, attention, graphConfig: graphConfig() }, (bytes) => {
            memory = fakeMemory(bytes);
            return memory;
          });
          const stream = fakeStream();
          for (const [batch, options, streamArg] of calls) {
            const before = builder.host.buffer.slice();
            const schedules = attention.calls.length;
            const buildOptions = options === undefined ? { stream } : { ...(options as object), stream };
            const ok = typedOrValid(() => builder.build(batch as never, buildOptions as never));
            if (!ok) {
              expect(builder.host.buffer).toEqual(before);
              expect(attention.calls.length).toBe(schedules);
            }
            typedOrValid(() => builder.build(batch as never, { stream: streamArg } as never));
            typedOrValid(() => builder.stage(batch as never, options as never));
          }
          expect(builder.build({ requests: [goodRequest] }, { stream }).numReqs).toBe(1);
          expect(memory!.deviceInt32).toEqual(builder.host.buffer);
        },
      ),
      runs,
    );
  });
});
