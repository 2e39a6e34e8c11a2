import { resolveGraphConfig } from '@flashgraph/config';
import { cudaStatus, NoCudaDeviceError } from '@flashgraph/cuda';
import { InvalidArgumentError } from '@flashgraph/errors';
import { describe, expect, test } from 'vitest';
import { createGraphRunner } from '../src/index.js';

const config = resolveGraphConfig({ mode: 'full' }, { maxNumSeqs: 8, maxNumBatchedTokens: 64 });
const fakeStream = {
  handle: 1234n,
  device: 0,
  beginCapture() {},
  endCapture() {},
  isCapturing: () => false,
  synchronize() {},
};

describe('createGraphRunner validates before any GPU work', () => {
  test.each([
    ['options null', null, 'invalid_type', 'options'],
    ['unknown option', { config, stream: fakeStream, maxNumSeq: 8 }, 'unknown_option', 'options.maxNumSeq'],
    ['config missing', { stream: fakeStream }, 'invalid_type', 'options.config'],
    [
      'config mode',
      { config: { ...config, mode: 'fast' }, stream: fakeStream },
      'invalid_value',
      'options.config.mode',
    ],
    [
      'config sizes',
      { config: { ...config, captureSizes: [4, 2] }, stream: fakeStream },
      'invalid_value',
      'options.config.captureSizes[1]',
    ],
    [
      'config size 0',
      { config: { ...config, captureSizes: [0] }, stream: fakeStream },
      'out_of_range',
      'options.config.captureSizes[0]',
    ],
    [
      'config max',
      { config: { ...config, maxCaptureSize: 7 }, stream: fakeStream },
      'out_of_range',
      'options.config.maxCaptureSize',
    ],
    [
      'config warmups',
      { config: { ...config, numWarmups: -1 }, stream: fakeStream },
      'out_of_range',
      'options.config.numWarmups',
    ],
    [
      'config query len',
      { config: { ...config, uniformDecodeQueryLen: 0 }, stream: fakeStream },
      'out_of_range',
      'options.config.uniformDecodeQueryLen',
    ],
    [
      'config token limit',
      { config: { ...config, maxNumBatchedTokens: 4 }, stream: fakeStream },
      'out_of_range',
      'options.config.maxNumBatchedTokens',
    ],
    [
      'config fullGraphsFor',
      { config: { ...config, fullGraphsFor: 'some' }, stream: fakeStream },
      'invalid_value',
      'options.config.fullGraphsFor',
    ],
    [
      'config piecewise',
      { config: { ...config, piecewise: 1 }, stream: fakeStream },
      'invalid_type',
      'options.config.piecewise',
    ],
    ['onProgress', { config, stream: fakeStream, onProgress: 'log' }, 'invalid_type', 'options.onProgress'],
    ['maxNumReqs', { config, stream: fakeStream, maxNumReqs: 0 }, 'out_of_range', 'options.maxNumReqs'],
    ['stream missing', { config }, 'invalid_type', 'options.stream'],
    ['stream number', { config, stream: 5 }, 'invalid_type', 'options.stream'],
    ['legacy stream', { config, stream: 0n }, 'out_of_range', 'options.stream'],
  ])('%s', (_name, options, code, path) => {
    expect(() => createGraphRunner(options as never)).toThrow(InvalidArgumentError);
    expect(() => createGraphRunner(options as never)).toThrow(expect.objectContaining({ code, path }));
  });

  test('a config read from own keys only: an inherited mode is not a mode', () => {
    const inherited = Object.assign(Object.create({ mode: 'full' }), { ...config, mode: undefined });
    delete inherited.mode;
    expect(() => createGraphRunner({ config: inherited, stream: fakeStream as never })).toThrow(
      expect.objectContaining({ code: 'invalid_type', path: 'options.config.mode', value: undefined }),
    );
  });
});

describe('without a CUDA device', () => {
  test.skipIf(cudaStatus?.().available !== false)('valid options throw NoCudaDeviceError naming the reason', () => {
    for (const stream of [fakeStream, 7n]) {
      let error: unknown;
      try {
        createGraphRunner({ config, stream: stream as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NoCudaDeviceError);
      expect((error as Error).message).toMatch(
        /no CUDA device available: .*createGraphRunner captures CUDA graphs and needs a usable device/,
      );
    }
  });
});
