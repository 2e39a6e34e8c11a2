// The fp8 e4m3 KV cache on the device (kvDtype 'fp8_e4m3'):
// (a) writeKvCache quantizes every bf16 and every fp16 bit pattern exactly as encodeE4m3 does
//     (writeKvCacheReference), with per-head descales, slot -1 skipped;
// (b) random configs (the random-configs suite's geometry and batches: decode, spec, prefill,
//     mixed, padded; every 4th with an explicit split count forwarded with maxSeqlenQ 0, so the
//     decode kernel takes every tile) against referenceAttention on the codes and descales (the
//     fp64 reference of the dequantized cache);
// (c) graph replay == eager, and descales rewritten between replays take effect without recapture;
// (d) NaN codes propagate as referenceAttention says (a NaN key poisons its rows, a NaN value its
//     column), on one split.
// (e) bf16 queries far outside fp16's range (x 2^-40 .. 2^40, softmax scale compensating), on
//     the decode kernel: the fast path's per-row power-of-two scale into fp16.
// (b), (e) and the decode-kernel cases of (c) and (d) run twice: on an Attention of the standard
// fp8 decode kernel (FLASHGRAPH_FA3_FP8_FAST=0) and on one created with FLASHGRAPH_FA3_FP8_FAST=1
// (the decode kernel's fast path, the default since run U: hardware e4m3 -> fp16, fp16 MMAs, K
// straight into registers); (b) also prints each path's worst error against the reference (the fast
// path computes in fp16, P included, so it is not expected to give the standard path's bits).
//   FA3_FP8_CONFIGS=n   random configs (default 64)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceBuffer, Stream } from '@flashgraph/cuda';
import {
  type Attention,
  type AttentionOptions,
  createAttention,
  encodeE4m3,
  referenceAttention,
  writeKvCacheReference,
} from '@flashgraph/fa3';
import {
  captureGraph,
  checkMetadata,
  checkResult,
  DeviceProblem,
  type Dtype,
  dequantize,
  describeProblem,
  makeProblem,
  optionsFor,
  type Problem,
  Rng,
  readResult,
  skipReason,
  stepArgs,
} from './harness.js';
import { sampleConfig } from './random-config.js';

const skip = skipReason();
const CONFIGS = Number(process.env.FA3_FP8_CONFIGS ?? 64);
const SEED = 20261205;

/** Descale factors spread so the codes cover the e4m3 range (subnormals to saturation at 448). */
function randomDescales(n: number, r: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => r.pick([1 / 512, 1 / 256, 1 / 64, 0.01, 0.3, 1]));
}

/**
 * The problem's K / V quantized to codes on the host (what the device reads), by encodeE4m3 of
 * each 16-bit value: one table of the 65,536 bit patterns per (dtype, descale), then a lookup.
 */
const codeTables = new Map<string, Uint8Array>();
function quantizeCache(bits: Uint16Array, dtype: Dtype, descale: Float32Array, d: number): Uint8Array {
  const tables = Array.from(descale, (s) => {
    const key = `${dtype}:${s}`;
    let t = codeTables.get(key);
    if (!t) {
      const values = dequantize(
        Uint16Array.from({ length: 65536 }, (_, i) => i),
        dtype,
      );
      t = Uint8Array.from(values, (x) => encodeE4m3(x, s));
      codeTables.set(key, t);
    }
    return t;
  });
  const hkv = descale.length;
  const out = new Uint8Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = tables[Math.floor(i / d) % hkv]![bits[i]!]!;
  return out;
}

interface Fp8Problem {
  p: Problem;
  kCodes: Uint8Array;
  vCodes: Uint8Array;
  kDescale: Float32Array;
  vDescale: Float32Array;
}

function fp8Problem(p: Problem, r: Rng): Fp8Problem {
  const hkv = p.opts.numHeadsKv;
  const kDescale = randomDescales(hkv, r);
  const vDescale = randomDescales(hkv, r);
  return {
    p,
    kDescale,
    vDescale,
    kCodes: quantizeCache(p.kBits, p.opts.dtype, kDescale, p.opts.headDim),
    vCodes: quantizeCache(p.vBits, p.opts.dtype, vDescale, p.opts.headDim),
  };
}

function fp8Reference(f: Fp8Problem, kDescale = f.kDescale, vDescale = f.vDescale) {
  const p = f.p;
  return referenceAttention({
    q: p.q,
    kCache: f.kCodes,
    vCache: f.vCodes,
    kvDtype: 'fp8_e4m3',
    kDescale,
    vDescale,
    pageTable: p.pageTable,
    cuSeqlensQ: p.cuSeqlensQ,
    seqLens: p.seqLens,
    numHeadsQ: p.opts.numHeadsQ,
    numHeadsKv: p.opts.numHeadsKv,
    headDim: p.opts.headDim,
    pageSize: p.opts.pageSize,
    causal: p.opts.causal,
    softmaxScale: p.softmaxScale,
    window: p.opts.window,
    softcap: p.opts.softcap,
    pageTableStride: p.stride,
  });
}

/** Device buffers of a problem with the fp8 caches and the descales in place of the 16-bit caches. */
function uploadFp8(f: Fp8Problem): {
  dev: DeviceProblem;
  kCache: DeviceBuffer;
  vCache: DeviceBuffer;
  kd: DeviceBuffer;
  vd: DeviceBuffer;
} {
  const dev = new DeviceProblem(f.p);
  const alloc = (bytes: number) => {
    const b = DeviceBuffer.alloc(Math.max(16, bytes), { device: f.p.opts.device ?? 0 });
    dev.buffers.push(b); // disposed with the problem
    return b;
  };
  const kCache = alloc(f.kCodes.byteLength);
  const vCache = alloc(f.vCodes.byteLength);
  kCache.write(f.kCodes);
  vCache.write(f.vCodes);
  const kd = alloc(4 * f.kDescale.length);
  const vd = alloc(4 * f.vDescale.length);
  kd.write(f.kDescale);
  vd.write(f.vDescale);
  return { dev, kCache, vCache, kd, vd };
}

/** A step's arguments over an uploaded fp8 problem: the fp8 caches and their descales. */
function fp8StepArgs(p: Problem, up: ReturnType<typeof uploadFp8>, stream: Stream, numSplits: number) {
  return {
    ...stepArgs(p, up.dev, stream, numSplits),
    kCache: up.kCache,
    vCache: up.vCache,
    kDescale: up.kd,
    vDescale: up.vd,
  };
}

/** One eager step (schedule + forward) over an uploaded fp8 problem, synchronized; its result. */
function runFp8Step(attn: Attention, p: Problem, up: ReturnType<typeof uploadFp8>, stream: Stream) {
  const args = fp8StepArgs(p, up, stream, 0);
  attn.schedule(args);
  attn.forward(args);
  stream.synchronize();
  return { args, ...readResult(up.dev, p) };
}

const FP8_FAST_ENV = 'FLASHGRAPH_FA3_FP8_FAST';
const VARIANTS = [
  { fast: false, name: 'fp8' },
  { fast: true, name: 'fp8 fast path' },
] as const;

/** Max over (token, head) rows of max |out - ref| / max |ref| (rows the reference sees keys in). */
function worstRowError(p: Problem, outBits: Uint16Array, ref: ReturnType<typeof fp8Reference>): number {
  const { numHeadsQ: hq, headDim: d, dtype } = p.opts;
  const out = dequantize(outBits, dtype);
  let worst = 0;
  for (let r = 0; r < p.totalQ * hq; r++) {
    let rowMax = 0;
    let err = 0;
    for (let x = r * d; x < (r + 1) * d; x++) {
      rowMax = Math.max(rowMax, Math.abs(ref.out[x]!));
      err = Math.max(err, Math.abs(out[x]! - ref.out[x]!));
    }
    if (rowMax > 0) worst = Math.max(worst, err / rowMax);
  }
  return worst;
}

/** createAttention with the fast fp8 path switched on or off (createAttention reads the switch). */
function createFp8Attention(opts: AttentionOptions, fast: boolean) {
  const saved = process.env[FP8_FAST_ENV];
  process.env[FP8_FAST_ENV] = fast ? '1' : '0';
  try {
    return createAttention(opts);
  } finally {
    if (saved === undefined) delete process.env[FP8_FAST_ENV];
    else process.env[FP8_FAST_ENV] = saved;
  }
}

test('writeKvCache quantizes every bf16 and fp16 bit pattern as writeKvCacheReference does', { skip }, () => {
  const stream = Stream.create();
  try {
    for (const dtype of ['bf16', 'fp16'] as const) {
      const hkv = 2;
      const d = 128;
      const row = hkv * d;
      const numTokens = 65536 / row; // every 16-bit pattern once, as key and (reversed) as value
      const opts: AttentionOptions = {
        numHeadsQ: 2,
        numHeadsKv: hkv,
        headDim: d,
        dtype,
        kvDtype: 'fp8_e4m3',
        pageSize: 16,
        numPages: numTokens / 16 + 2,
        maxNumReqs: 1,
        maxNumTokens: numTokens,
        maxNumPagesPerReq: 1,
        maxNumSplits: 1,
        causal: true,
      };
      using attn = createAttention(opts);
      const keyBits = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const valueBits = Uint16Array.from({ length: 65536 }, (_, i) => 65535 - i);
      // Token t -> slot numSlots - 1 - t, except every 7th token, which is padding (-1).
      const numSlots = opts.numPages * opts.pageSize;
      const slots = Int32Array.from({ length: numTokens }, (_, t) => (t % 7 === 3 ? -1 : numSlots - 1 - t));
      const kDescale = Float32Array.of(1, 1 / 64);
      const vDescale = Float32Array.of(0.3, 1);
      const bufs: DeviceBuffer[] = [];
      const alloc = (bytes: number) => {
        const b = DeviceBuffer.alloc(bytes);
        bufs.push(b);
        return b;
      };
      try {
        const key = alloc(keyBits.byteLength);
        const value = alloc(valueBits.byteLength);
        const kCache = alloc(numSlots * row);
        const vCache = alloc(numSlots * row);
        const slotMapping = alloc(slots.byteLength);
        const kd = alloc(8);
        const vd = alloc(8);
        key.write(keyBits);
        value.write(valueBits);
        kCache.fill(0x55);
        vCache.fill(0x55);
        slotMapping.write(slots);
        kd.write(kDescale);
        vd.write(vDescale);
        attn.writeKvCache({ stream, key, value, kCache, vCache, slotMapping, numTokens, kDescale: kd, vDescale: vd });
        stream.synchronize();
        const toValues = (bits: Uint16Array) => {
          // Exact values of the bit patterns (NaNs stay NaN, infinities stay infinite).
          const f = new Float32Array(bits.length);
          const u = new Uint32Array(f.buffer);
          for (let i = 0; i < bits.length; i++) {
            const b = bits[i]!;
            if (dtype === 'bf16') u[i] = b << 16;
            else {
              const s = b & 0x8000 ? -1 : 1;
              const e = (b >> 10) & 0x1f;
              const m = b & 0x3ff;
              f[i] =
                e === 0
                  ? s * m * 2 ** -24
                  : e === 31
                    ? m
                      ? Number.NaN
                      : s * Number.POSITIVE_INFINITY
                    : s * (1 + m / 1024) * 2 ** (e - 15);
            }
          }
          return f;
        };
        const wantK = new Uint8Array(numSlots * row).fill(0x55);
        const wantV = new Uint8Array(numSlots * row).fill(0x55);
        writeKvCacheReference({
          key: toValues(keyBits),
          value: toValues(valueBits),
          kCache: wantK,
          vCache: wantV,
          slotMapping: slots,
          numHeadsKv: hkv,
          headDim: d,
          pageSize: opts.pageSize,
          kvDtype: 'fp8_e4m3',
          kDescale,
          vDescale,
        });
        const gotK = kCache.read(new Uint8Array(numSlots * row));
        const gotV = vCache.read(new Uint8Array(numSlots * row));
        for (const [name, got, want] of [
          ['kCache', gotK, wantK],
          ['vCache', gotV, wantV],
        ] as const) {
          let bad = -1;
          for (let i = 0; i < want.length; i++) {
            if (got[i] !== want[i]) {
              bad = i;
              break;
            }
          }
          assert.equal(
            bad,
            -1,
            `${dtype} ${name}[${bad}] (slot ${Math.floor(bad / row)}) = 0x${got[bad]?.toString(16)}, writeKvCacheReference says 0x${want[bad]?.toString(16)}`,
          );
        }
      } finally {
        for (const b of bufs) b.dispose();
      }
    }
  } finally {
    stream.dispose();
  }
});

test(`fa3 forward over an fp8 cache vs referenceAttention: ${CONFIGS} random configs`, { skip }, () => {
  const stream = Stream.create();
  const failures: string[] = [];
  const kernels = { understated: 0 };
  const worst = VARIANTS.map(() => 0); // max over configs of max |out - ref| / max |ref| per row
  try {
    for (let i = 0; i < CONFIGS; i++) {
      const cfg = sampleConfig(SEED + i);
      const slackRng = new Rng(cfg.seed ^ 0x27d4eb2d);
      const opts = {
        ...optionsFor(cfg.geo, cfg.batch, { reqs: slackRng.int(0, 4), tokens: slackRng.int(0, 32), pages: 1 }),
        kvDtype: 'fp8_e4m3' as const,
      };
      const p = makeProblem(opts, cfg.batch, new Rng(cfg.seed * 7 + 1), cfg.qScale);
      const f = fp8Problem(p, new Rng(cfg.seed * 13 + 5));
      const understate = i % 4 === 3 && cfg.numSplits > 0;
      const label = `${describeProblem(p, { config: i, seed: cfg.seed, kind: cfg.kind, numSplits: cfg.numSplits, kvDtype: 'fp8_e4m3', kDescale: Array.from(f.kDescale), vDescale: Array.from(f.vDescale) })}${understate ? ' forward maxSeqlenQ=0' : ''}`;
      const ref = fp8Reference(f);
      for (const [vi, v] of VARIANTS.entries()) {
        let attn: ReturnType<typeof createAttention> | undefined;
        let up: ReturnType<typeof uploadFp8> | undefined;
        try {
          attn = createFp8Attention(opts, v.fast);
          up = uploadFp8(f);
          const args = fp8StepArgs(p, up, stream, cfg.numSplits);
          attn.schedule(args);
          attn.forward(understate ? { ...args, maxSeqlenQ: 0 } : args);
          if (understate && !v.fast) kernels.understated++;
          stream.synchronize();
          const md = checkMetadata(attn, p, cfg.numSplits);
          const { outBits, lse } = readResult(up.dev, p);
          worst[vi] = Math.max(worst[vi]!, worstRowError(p, outBits, ref));
          const fails = [...md, ...checkResult(p, outBits, lse, ref)];
          if (fails.length) failures.push(`FAILED (${v.name}) ${label}\n    ${fails.join('\n    ')}`);
        } catch (err) {
          failures.push(`ERROR (${v.name}) ${label}\n    ${(err as Error).stack ?? err}`);
        } finally {
          up?.dev[Symbol.dispose]();
          attn?.dispose();
        }
      }
      if (failures.length >= 10) break;
    }
  } finally {
    stream.dispose();
  }
  console.log(
    `fp8 configs: ${CONFIGS}, forward with maxSeqlenQ understated ${kernels.understated}; worst row error / row max |ref|: ${VARIANTS.map((v, i) => `${v.name} ${worst[i]!.toExponential(2)}`).join(', ')}`,
  );
  assert.equal(failures.length, 0, `${failures.length} config(s) failed:\n${failures.join('\n')}`);
});

test('fp8 cache: graph replay == eager, and descales rewritten between replays take effect', { skip }, () => {
  const stream = Stream.create();
  try {
    const cases: {
      name: string;
      geo: Parameters<typeof optionsFor>[0];
      qLens: number[];
      kLens: number[];
      decodeKernel: boolean;
    }[] = [
      {
        name: 'decode, splits (decode kernel)',
        decodeKernel: true,
        geo: {
          numHeadsQ: 32,
          numHeadsKv: 8,
          headDim: 128,
          dtype: 'bf16',
          pageSize: 16,
          causal: true,
          maxNumSplits: 32,
        },
        qLens: [1, 1, 1, 1],
        kLens: [4000, 17, 900, 2048],
      },
      {
        // D 64 fp16: one 16-byte K piece per lane on the fast path, fp16 queries as they are; G 4
        // x 4 queries = one 16-row slice.
        name: 'decode of 4 tokens, fp16, D 64, splits (decode kernel)',
        decodeKernel: true,
        geo: { numHeadsQ: 8, numHeadsKv: 2, headDim: 64, dtype: 'fp16', pageSize: 32, causal: true, maxNumSplits: 8 },
        qLens: [4, 4, 4],
        kLens: [3000, 40, 1500],
      },
      {
        name: 'prefill + decode, fp16, D 64 (general kernel)',
        decodeKernel: false,
        geo: { numHeadsQ: 8, numHeadsKv: 2, headDim: 64, dtype: 'fp16', pageSize: 64, causal: true, maxNumSplits: 8 },
        qLens: [77, 1, 5],
        kLens: [300, 1000, 5],
      },
    ];
    // The fast path is the decode kernel's: the general kernel's case runs once.
    for (const [c, v] of cases.flatMap((c) =>
      (c.decodeKernel ? VARIANTS : VARIANTS.slice(0, 1)).map(
        (v) => [{ ...c, name: `${c.name}, ${v.name}` }, v] as const,
      ),
    )) {
      const opts = { ...optionsFor(c.geo, { qLens: c.qLens, kLens: c.kLens }), kvDtype: 'fp8_e4m3' as const };
      const p = makeProblem(opts, { qLens: c.qLens, kLens: c.kLens }, new Rng(99));
      const f = fp8Problem(p, new Rng(7));
      using attn = createFp8Attention(opts, v.fast);
      const up = uploadFp8(f);
      try {
        const eager = runFp8Step(attn, p, up, stream);
        const args = eager.args;
        assert.deepEqual(checkResult(p, eager.outBits, eager.lse, fp8Reference(f)), [], `${c.name}: eager`);
        const exec = captureGraph(stream, () => {
          attn.schedule(args);
          attn.forward(args);
        });
        try {
          for (let rep = 0; rep < 3; rep++) {
            up.dev.poison();
            exec.launch(stream);
            stream.synchronize();
            const g = readResult(up.dev, p);
            assert.deepEqual(Array.from(g.outBits), Array.from(eager.outBits), `${c.name}: replay ${rep} out == eager`);
            assert.deepEqual(Array.from(g.lse), Array.from(eager.lse), `${c.name}: replay ${rep} lse == eager`);
          }
          // New descales in the same buffers: the captured graph reads them at replay.
          const kd2 = Float32Array.from(f.kDescale, (x) => x * 2);
          const vd2 = Float32Array.from(f.vDescale, (x) => x * 0.5);
          up.kd.write(kd2);
          up.vd.write(vd2);
          up.dev.poison();
          exec.launch(stream);
          stream.synchronize();
          const g2 = readResult(up.dev, p);
          assert.deepEqual(
            checkResult(p, g2.outBits, g2.lse, fp8Reference(f, kd2, vd2)),
            [],
            `${c.name}: replay after rewriting the descales matches the reference with the new descales`,
          );
          assert.notDeepEqual(
            Array.from(g2.outBits),
            Array.from(eager.outBits),
            `${c.name}: the new descales changed the output`,
          );
        } finally {
          exec.dispose();
        }
      } finally {
        up.dev[Symbol.dispose]();
      }
    }
  } finally {
    stream.dispose();
  }
});

test('fp8 cache: NaN codes propagate as in referenceAttention (decode and general kernels)', { skip }, () => {
  const stream = Stream.create();
  try {
    // The fast path is the decode kernel's (qLen 1); the general kernel (qLen 40) ignores it. D 256
    // on the fast path converts the bf16 query in shared memory (two barriers): the round check
    // runs this test under racecheck.
    for (const [qLen, headDim, v] of [
      [1, 128, VARIANTS[0]],
      [1, 128, VARIANTS[1]],
      [1, 256, VARIANTS[1]],
      [40, 128, VARIANTS[0]],
    ] as const) {
      // One split: what a merge does with a NaN partial is the split merge's business (the same for
      // every cache dtype), not the dequantization's.
      const geo = {
        numHeadsQ: 4,
        numHeadsKv: 2,
        headDim,
        dtype: 'bf16' as const,
        pageSize: 16,
        causal: true,
        maxNumSplits: 1,
      };
      const batch = { qLens: [qLen], kLens: [200] };
      const opts = { ...optionsFor(geo, batch), kvDtype: 'fp8_e4m3' as const };
      const p = makeProblem(opts, batch, new Rng(5));
      const f = fp8Problem(p, new Rng(6));
      // Key 10 of KV head 0 gets a NaN in dim 3; value 20 of KV head 1 a NaN in dim 7.
      const slot = (pos: number) => p.pageTable[Math.floor(pos / geo.pageSize)]! * geo.pageSize + (pos % geo.pageSize);
      const row = geo.numHeadsKv * geo.headDim;
      f.kCodes[slot(10) * row + 0 * geo.headDim + 3] = 0x7f;
      f.vCodes[slot(20) * row + 1 * geo.headDim + 7] = 0xff;
      using attn = createFp8Attention(opts, v.fast);
      const up = uploadFp8(f);
      try {
        const { outBits } = runFp8Step(attn, p, up, stream);
        const ref = fp8Reference(f);
        const out = new Float32Array(outBits.length);
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < outBits.length; i++) u[i] = outBits[i]! << 16;
        let nans = 0;
        for (let i = 0; i < p.totalQ * geo.numHeadsQ * geo.headDim; i++) {
          assert.equal(
            Number.isNaN(out[i]),
            Number.isNaN(ref.out[i]),
            `${v.name}, qLen ${qLen}, D ${headDim}: out[${i}]: NaN on the device iff in the reference`,
          );
          if (Number.isNaN(ref.out[i])) nans++;
        }
        assert.ok(nans > 0, 'the reference has NaN outputs');
      } finally {
        up.dev[Symbol.dispose]();
      }
    }
  } finally {
    stream.dispose();
  }
});

test('fp8 cache, decode kernel: bf16 queries outside fp16 range (2^-40 .. 2^40) match the reference', { skip }, () => {
  const stream = Stream.create();
  try {
    for (const headDim of [128, 256] as const) {
      for (const shift of [-40, -20, 20, 40]) {
        for (const v of VARIANTS) {
          const geo = {
            numHeadsQ: 16,
            numHeadsKv: 4,
            headDim,
            dtype: 'bf16' as const,
            pageSize: 16,
            causal: true,
            maxNumSplits: 4,
          };
          const batch = { qLens: [1, 1, 1], kLens: [700, 33, 2000] };
          const opts = { ...optionsFor(geo, batch), kvDtype: 'fp8_e4m3' as const };
          const p = makeProblem(opts, batch, new Rng(11 + shift));
          // q x 2^shift, exactly (bf16: the exponent field; every value is a normal well inside
          // the range), and the softmax scale x 2^-shift: the same scores, q beyond fp16 either way.
          for (let i = 0; i < p.qBits.length; i++) {
            p.qBits[i] = p.qBits[i]! + (shift << 7);
            p.q[i] = p.q[i]! * 2 ** shift;
          }
          p.softmaxScale = 2 ** -shift / Math.sqrt(headDim);
          const f = fp8Problem(p, new Rng(12));
          using attn = createFp8Attention(opts, v.fast);
          const up = uploadFp8(f);
          try {
            const { outBits, lse } = runFp8Step(attn, p, up, stream);
            assert.deepEqual(
              checkResult(p, outBits, lse, fp8Reference(f)),
              [],
              `${v.name}, D ${headDim}, q x 2^${shift}`,
            );
          } finally {
            up.dev[Symbol.dispose]();
          }
        }
      }
    }
  } finally {
    stream.dispose();
  }
});
