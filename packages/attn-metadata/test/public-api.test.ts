import { cudaStatus, NoCudaDeviceError } from '@flashgraph/cuda';
import { InvalidArgumentError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { graphConfig, recordingAttention } from './support/fakes.js';

describe('public entry', () => {
  it('exports exactly the public API', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'MetadataError',
        'NEUTRAL_BLOCK_ID',
        'NEUTRAL_POSITION',
        'NEUTRAL_SEQ_LEN',
        'NEUTRAL_SLOT',
        'createHostMetadataBuilder',
        'createHostMirror',
        'createMetadataBuilder',
        'describe',
        'forwardArgs',
        'isFullGraphStep',
        'metadataLayout',
        'scheduleArgs',
        'stepOptionsFromPlan',
      ].sort(),
    );
  });

  it('createMetadataBuilder rejects bad options before touching CUDA', () => {
    const attention = recordingAttention({ pageSize: 16 });
    expect(() =>
      api.createMetadataBuilder({
        attention,
        graphConfig: graphConfig(),
        maxNumReqs: 8,
        maxNumTokens: 64,
        blockSize: 32,
        numBlocks: 16,
        maxBlocksPerReq: 8,
      } as never),
    ).toThrow(expect.objectContaining({ code: 'capacity_mismatch', path: 'options.blockSize' }));
    expect(() => api.createMetadataBuilder({} as never)).toThrow(InvalidArgumentError);
  });

  it.skipIf(cudaStatus().available)('without a GPU, valid options fail with the CUDA layer error, not a crash', () => {
    const attention = recordingAttention({ maxNumPagesPerReq: 8 });
    expect(() =>
      api.createMetadataBuilder({
        attention,
        graphConfig: graphConfig(),
        maxNumReqs: 8,
        maxNumTokens: 64,
        blockSize: 16,
        numBlocks: 16,
        maxBlocksPerReq: 8,
      } as never),
    ).toThrow(NoCudaDeviceError);
  });
});
