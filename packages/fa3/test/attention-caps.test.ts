// attentionCaps says what fa3 runs, and the checks agree with it: every head dim it lists passes
// createAttention's option checks and the scheduling maths, every other one is a typed error
// before any device work; config's declared FA3 capability says the same.
import { fa3BackendCapability } from '@flashgraph/config';
import { InvalidArgumentError } from '@flashgraph/errors';
import { describe, expect, it } from 'vitest';
import {
  attentionCaps,
  createAttention,
  forwardKernel,
  HEAD_DIMS,
  tileShape,
  WGMMA_BY_DEFAULT,
  WGMMA_HEAD_DIMS,
} from '../src/index.js';
import { resolveOptions } from '../src/options.js';

const opts = {
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 128,
  dtype: 'bf16',
  pageSize: 16,
  numPages: 64,
  maxNumReqs: 4,
  maxNumTokens: 64,
  maxNumPagesPerReq: 16,
  maxNumSplits: 8,
  causal: true,
} as const;

describe('attentionCaps', () => {
  it('lists the head dims, dtypes and features, frozen all the way down', () => {
    expect(attentionCaps).toEqual({
      headDims: [64, 96, 128, 192, 256],
      dtypes: ['bf16', 'fp16'],
      kvCacheDtypes: ['bf16', 'fp16', 'fp8_e4m3'],
      dtypeBytes: 2,
      kernelHeadDims: { general: [64, 96, 128, 192, 256], decode: [64, 96, 128, 192, 256], wgmma: [64, 128, 256] },
      sinks: true,
      softcap: true,
      causal: true,
      slidingWindow: true,
      maxNumHeadsQ: 4096,
      maxNumHeadsKv: 1024,
      maxNumSplits: 256,
    });
    expect(attentionCaps.headDims).toEqual([...HEAD_DIMS]);
    expect(attentionCaps.kernelHeadDims.wgmma).toEqual([...WGMMA_HEAD_DIMS]);
    for (const x of [
      attentionCaps,
      attentionCaps.headDims,
      attentionCaps.dtypes,
      attentionCaps.kvCacheDtypes,
      attentionCaps.kernelHeadDims,
    ])
      expect(Object.isFrozen(x)).toBe(true);
    for (const list of Object.values(attentionCaps.kernelHeadDims)) expect(Object.isFrozen(list)).toBe(true);
  });

  it("config's fa3BackendCapability declares the same head dims and sinks", () => {
    expect(fa3BackendCapability.headDims).toEqual(attentionCaps.headDims);
    expect(fa3BackendCapability.attentionSinks).toBe(attentionCaps.sinks);
  });

  it('every head dim, 96 and 192 included, is taken with no opt-in (all have run on a GPU)', () => {
    for (const headDim of attentionCaps.headDims)
      expect(resolveOptions({ ...opts, headDim }).options.headDim).toBe(headDim);
  });

  it('every listed head dim passes the option checks and the scheduling maths', () => {
    for (const headDim of attentionCaps.headDims) {
      expect(resolveOptions({ ...opts, headDim }).options.headDim).toBe(headDim);
      expect(tileShape(headDim, 4)).toEqual({ blockM: 64, blockN: headDim <= 64 ? 128 : 64 });
      expect(forwardKernel(1, 4, headDim, 'auto')).toBe('decode');
      const wgmma = attentionCaps.kernelHeadDims.wgmma.includes(headDim);
      expect(forwardKernel(512, 4, headDim, 'auto')).toBe(WGMMA_BY_DEFAULT && wgmma ? 'wgmma' : 'general');
      // wgmma only where it is built; elsewhere the request falls back to the general kernel.
      expect(forwardKernel(512, 4, headDim, 'wgmma')).toBe(wgmma ? 'wgmma' : 'general');
    }
  });

  it('createAttention rejects every other head dim with a typed error naming the supported ones, before any device work', () => {
    for (let headDim = 8; headDim <= 512; headDim += 8) {
      if ((attentionCaps.headDims as readonly number[]).includes(headDim)) continue;
      let err: unknown;
      try {
        createAttention({ ...opts, headDim: headDim as never });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err).toMatchObject({ code: 'invalid_value', path: 'createAttention.headDim', value: headDim });
      expect((err as Error).message).toContain('one of 64, 96, 128, 192, 256');
    }
  });
});
