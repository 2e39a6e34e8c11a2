import { resolveGraphConfig } from '@flashgraph/config';
import { cudaStatus, NoCudaDeviceError } from '@flashgraph/cuda';
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
    ['options null', null, TypeError, /options must be/],
    ['config missing', { stream: fakeStream }, TypeError, /config must be a ResolvedGraphConfig/],
    [
      'config mode',
      { config: { ...config, mode: 'fast' }, stream: fakeStream },
      TypeError,
      /config\.mode must be one of/,
    ],
    [
      'config sizes',
      { config: { ...config, captureSizes: [4, 2] }, stream: fakeStream },
      RangeError,
      /strictly ascending/,
    ],
    [
      'config size 0',
      { config: { ...config, captureSizes: [0] }, stream: fakeStream },
      RangeError,
      /captureSizes\[0\]/,
    ],
    [
      'config max',
      { config: { ...config, maxCaptureSize: 7 }, stream: fakeStream },
      RangeError,
      /maxCaptureSize must equal/,
    ],
    ['config warmups', { config: { ...config, numWarmups: -1 }, stream: fakeStream }, RangeError, /numWarmups/],
    [
      'config query len',
      { config: { ...config, uniformDecodeQueryLen: 0 }, stream: fakeStream },
      RangeError,
      /uniformDecodeQueryLen/,
    ],
    [
      'config fullGraphsFor',
      { config: { ...config, fullGraphsFor: 'some' }, stream: fakeStream },
      TypeError,
      /fullGraphsFor/,
    ],
    [
      'config piecewise',
      { config: { ...config, piecewise: 1 }, stream: fakeStream },
      TypeError,
      /piecewise must be a boolean/,
    ],
    ['onProgress', { config, stream: fakeStream, onProgress: 'log' }, TypeError, /onProgress must be a function/],
    ['maxNumReqs', { config, stream: fakeStream, maxNumReqs: 0 }, RangeError, /maxNumReqs must be an integer >= 1/],
    [
      'stream missing',
      { config },
      TypeError,
      /stream must be a Stream from @flashgraph\/cuda or a cudaStream_t handle/,
    ],
    ['stream number', { config, stream: 5 }, TypeError, /stream must be/],
    ['legacy stream', { config, stream: 0n }, RangeError, /legacy default stream/],
  ])('%s', (_name, options, type, message) => {
    expect(() => createGraphRunner(options as never)).toThrow(type);
    expect(() => createGraphRunner(options as never)).toThrow(message);
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
