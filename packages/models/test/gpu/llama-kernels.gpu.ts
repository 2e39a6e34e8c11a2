// The Llama-family kernels and cuBLASLt GEMMs of native/models against plain float64 references
// that round like transformers' bf16 modules (each torch op's result rounded to bf16): GEMMs
// (bf16 out, fp32 out, bias epilogue, every row bucket, inside a captured graph), the skinny GEMM
// kernel for m <= 8 (8B-model shapes and odd ones, bf16 and fp16, against float64 and cuBLASLt,
// eager == graph replay), embedding, residual add + RMSNorm, q/k norm + RoPE + split, SiLU x up,
// the sample rows' final norm, and dtype conversion. Also prints where cuBLASLt was found and the
// skinny kernel's and cuBLASLt's bandwidth on the 8B shapes (printed, not asserted).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cudaStatus, DeviceBuffer, Event, fromBf16, fromFp16, Stream, toBf16, toFp16 } from '@flashgraph/cuda';
import { loadModelsNative, type NativeModels } from '../../src/native.js';

const status = cudaStatus();
const native = loadModelsNative();
const skip = !status.available
  ? `no CUDA device: ${status.reason}`
  : native.addon
    ? false
    : `flashgraph_models.node did not load: ${native.reason}`;
const cublasSkip =
  skip || (native.addon?.cublasLt().available ? false : `no cuBLASLt: ${native.addon?.cublasLt().reason}`);

function addon(): NativeModels {
  if (!native.addon) throw new Error('no addon');
  return native.addon;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** Round to bf16 (nearest even) and back, as __float2bfloat16_rn. */
function r16(x: number): number {
  f32[0] = x;
  const u = u32[0] as number;
  if ((u & 0x7f800000) === 0x7f800000) return f32[0] as number;
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0] as number;
}

function randomBf16(next: () => number, n: number, scale = 1): { host: Float32Array; bits: Uint16Array } {
  const host = Float32Array.from({ length: n }, () => r16((next() * 2 - 1) * scale));
  return { host, bits: toBf16(host) };
}

function upload(bits: Uint16Array | Float32Array | Int32Array): DeviceBuffer {
  const b = DeviceBuffer.alloc(Math.max(bits.byteLength, 4));
  b.write(bits);
  return b;
}

function readBf16(b: DeviceBuffer, n: number): Float32Array {
  return fromBf16(b.read(new Uint16Array(n)));
}

/** max |got - want| / max(|want|, floor), in units of bf16 epsilon (2^-8 relative step). */
function ulps(got: Float32Array, want: ArrayLike<number>, floor = 1e-2): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as number;
    const g = got[i] as number;
    if (!Number.isFinite(g)) return Number.POSITIVE_INFINITY;
    worst = Math.max(worst, Math.abs(g - w) / Math.max(Math.abs(w), floor) / 2 ** -8);
  }
  return worst;
}

function relErr(got: Float32Array, want: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    const d = (got[i] as number) - (want[i] as number);
    if (!Number.isFinite(got[i] as number)) return Number.POSITIVE_INFINITY;
    num += d * d;
    den += (want[i] as number) ** 2;
  }
  return Math.sqrt(num / den);
}

/** Captures `body` on `stream`, replays the graph once and waits: the calls run from a graph. */
function runInGraph(stream: Stream, body: () => void): void {
  stream.beginCapture();
  body();
  using graph = stream.endCapture();
  using exec = graph.instantiate();
  exec.launch(stream);
  stream.synchronize();
}

const evenDims = {
  hiddenSize: 512,
  numHeadsQ: 8,
  numHeadsKv: 2,
  headDim: 64,
  intermediateSize: 1024,
  vocabSize: 3000,
  rmsNormEps: 1e-6,
  dtype: 0 as const,
  maxNumTokens: 64,
  maxNumReqs: 16,
};

test('cuBLASLt is found and reported', { skip }, () => {
  const lt = addon().cublasLt();
  console.log(`# cuBLASLt: ${JSON.stringify(lt)}`);
  assert.equal(typeof lt.available, 'boolean');
  assert.ok(Array.isArray(lt.tried));
});

test('GEMM y = x @ W^T matches float64 (bf16 out, fp32 out, bias), at every bucket and in a graph', {
  skip: cublasSkip,
}, () => {
  const next = rng(11);
  using ws = DeviceBuffer.alloc(32 << 20);
  using stream = Stream.create();
  for (const [n, k, maxM, outDtype, withBias] of [
    [256, 128, 64, 0, false],
    [384, 256, 300, 0, true],
    [1000, 512, 40, 2, false],
    [2048, 1024, 200, 0, false],
    [3000, 512, 16, 2, false],
  ] as const) {
    const x = randomBf16(next, maxM * k);
    const w = randomBf16(next, n * k, 0.1);
    const bias = randomBf16(next, n);
    using dx = upload(x.bits);
    using dw = upload(w.bits);
    using db = upload(bias.bits);
    const outBytes = outDtype === 2 ? 4 : 2;
    using dy = DeviceBuffer.alloc(maxM * n * outBytes);
    const g = new (addon().Gemm)({
      n,
      k,
      maxM,
      inDtype: 0,
      outDtype,
      workspace: ws.ptr,
      workspaceBytes: 32 << 20,
      ...(withBias ? { bias: db.ptr } : {}),
    });
    try {
      for (const m of [1, 3, Math.min(maxM, 17), maxM]) {
        const padded = g.paddedRows(m);
        assert.ok(padded >= m && padded <= maxM, `padded rows ${padded} for m=${m}`);
        dy.fill(0xff); // NaN poison
        g.run(dx.ptr, dw.ptr, dy.ptr, m, stream.handle);
        stream.synchronize();
        const got = outDtype === 2 ? dy.read(new Float32Array(m * n)) : fromBf16(dy.read(new Uint16Array(m * n)));
        const want = new Float64Array(m * n);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let acc = withBias ? (bias.host[j] as number) : 0;
            for (let t = 0; t < k; t++) acc += (x.host[i * k + t] as number) * (w.host[j * k + t] as number);
            want[i * n + j] = acc;
          }
        }
        const err = relErr(got, want);
        assert.ok(err < (outDtype === 2 ? 1e-5 : 6e-3), `gemm ${m}x${n}x${k} out=${outDtype}: rel err ${err}`);
      }
      // Captured and replayed: the same numbers.
      const m = Math.min(maxM, 5);
      dy.fill(0xff);
      runInGraph(stream, () => g.run(dx.ptr, dw.ptr, dy.ptr, m, stream.handle));
      const first = dy.read(new Uint8Array(m * n * outBytes));
      dy.fill(0xff);
      g.run(dx.ptr, dw.ptr, dy.ptr, m, stream.handle);
      stream.synchronize();
      assert.deepEqual(dy.read(new Uint8Array(m * n * outBytes)), first, 'graph replay equals the eager call');
      console.log(`# gemm n=${n} k=${k} maxM=${maxM} out=${outDtype} bias=${withBias}: buckets ${g.buckets().length}`);
    } finally {
      g.dispose();
    }
  }
});

// The row kernels take 16-byte vectors where rows are whole vectors (hidden 512, intermediate 1024)
// and scalar kernels otherwise (hidden 100, intermediate 36): both must round the same way.
const oddDims = { ...evenDims, hiddenSize: 100, intermediateSize: 36 };

for (const dims of [evenDims, oddDims])
  test(`embedding, residual add + RMSNorm and the final gather-norm round like transformers (H ${dims.hiddenSize})`, {
    skip,
  }, () => {
    const next = rng(12);
    const k = new (addon().LlamaKernels)(dims);
    using stream = Stream.create();
    const H = dims.hiddenSize;
    const T = 13;
    const table = randomBf16(next, dims.vocabSize * H);
    const ids = Int32Array.from({ length: T }, (_, i) =>
      i === 5 ? dims.vocabSize + 3 : Math.floor(next() * dims.vocabSize),
    );
    using dTable = upload(table.bits);
    using dIds = upload(ids);
    using dx = DeviceBuffer.alloc(T * H * 2);
    k.embed(dTable.ptr, dIds.ptr, dx.ptr, T, stream.handle);
    stream.synchronize();
    const x = readBf16(dx, T * H);
    for (let t = 0; t < T; t++) {
      const id = ids[t] as number;
      for (let i = 0; i < H; i++) {
        const want = id < dims.vocabSize ? (table.host[id * H + i] as number) : 0;
        assert.equal(x[t * H + i], want, `embed row ${t}`);
      }
    }
    const delta = randomBf16(next, T * H, 2);
    const weight = randomBf16(next, H, 1.5);
    using dDelta = upload(delta.bits);
    using dW = upload(weight.bits);
    using dOut = DeviceBuffer.alloc(T * H * 2);
    k.addRmsNorm(dx.ptr, dDelta.ptr, dW.ptr, dOut.ptr, T, stream.handle);
    stream.synchronize();
    const summed = readBf16(dx, T * H);
    const normed = readBf16(dOut, T * H);
    const wantSum = new Float64Array(T * H);
    const wantNorm = new Float64Array(T * H);
    for (let t = 0; t < T; t++) {
      let ss = 0;
      for (let i = 0; i < H; i++) {
        const v = r16((x[t * H + i] as number) + (delta.host[t * H + i] as number));
        wantSum[t * H + i] = v;
        ss += v * v;
      }
      const r = 1 / Math.sqrt(ss / H + dims.rmsNormEps);
      for (let i = 0; i < H; i++)
        wantNorm[t * H + i] = r16(r16((wantSum[t * H + i] as number) * r) * (weight.host[i] as number));
    }
    assert.equal(ulps(summed, wantSum), 0, 'residual add is one bf16 rounding');
    const normUlps = ulps(normed, wantNorm);
    console.log(`# addRmsNorm: max ${normUlps.toFixed(2)} bf16 steps from the reference`);
    assert.ok(normUlps <= 2, `rmsnorm off by ${normUlps} bf16 steps`);

    // Final norm of the sample rows only (x + delta, x untouched); -1 gives a zero row.
    const rows = Int32Array.from([3, -1, 12, 0]);
    using dRows = upload(rows);
    using dFinal = DeviceBuffer.alloc(dims.maxNumReqs * H * 2);
    const before = dx.read(new Uint8Array(T * H * 2));
    k.gatherFinalNorm(dx.ptr, dDelta.ptr, dW.ptr, dRows.ptr, dFinal.ptr, rows.length, T, stream.handle);
    stream.synchronize();
    assert.deepEqual(dx.read(new Uint8Array(T * H * 2)), before, 'gatherFinalNorm leaves x alone');
    const fin = readBf16(dFinal, rows.length * H);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r] as number;
      const want = new Float64Array(H);
      if (row >= 0) {
        let ss = 0;
        const s = new Float64Array(H);
        for (let i = 0; i < H; i++) {
          s[i] = r16((summed[row * H + i] as number) + (delta.host[row * H + i] as number));
          ss += (s[i] as number) ** 2;
        }
        const rr = 1 / Math.sqrt(ss / H + dims.rmsNormEps);
        for (let i = 0; i < H; i++) want[i] = r16(r16((s[i] as number) * rr) * (weight.host[i] as number));
      }
      const u = ulps(fin.subarray(r * H, (r + 1) * H), want);
      assert.ok(u <= 2, `final norm of request ${r} off by ${u} bf16 steps`);
    }
  });

test('q/k norm + RoPE + split round like transformers', { skip }, () => {
  const dims = evenDims;
  const next = rng(13);
  using stream = Stream.create();
  for (const [headDim, qkNorm] of [
    [64, false],
    [128, true],
    [256, false],
  ] as const) {
    const d = { ...dims, headDim };
    const k = new (addon().LlamaKernels)(d);
    const T = 9;
    const D = headDim;
    const Hq = d.numHeadsQ;
    const Hkv = d.numHeadsKv;
    const width = (Hq + 2 * Hkv) * D;
    const qkv = randomBf16(next, T * width, 3);
    const qn = randomBf16(next, D, 1.5);
    const kn = randomBf16(next, D, 1.5);
    const positions = Int32Array.from({ length: T }, (_, t) => (t === 0 ? 0 : Math.floor(next() * 8000)));
    const inv = Float32Array.from({ length: D / 2 }, (_, i) => 1 / 500000 ** ((2 * i) / D));
    using dQkv = upload(qkv.bits);
    using dQn = upload(qn.bits);
    using dKn = upload(kn.bits);
    using dPos = upload(positions);
    using dInv = upload(inv);
    using dq = DeviceBuffer.alloc(T * Hq * D * 2);
    using dk = DeviceBuffer.alloc(T * Hkv * D * 2);
    using dv = DeviceBuffer.alloc(T * Hkv * D * 2);
    k.qkvRope(
      dQkv.ptr,
      qkNorm ? dQn.ptr : 0n,
      qkNorm ? dKn.ptr : 0n,
      dInv.ptr,
      dPos.ptr,
      dq.ptr,
      dk.ptr,
      dv.ptr,
      T,
      stream.handle,
    );
    stream.synchronize();
    const q = readBf16(dq, T * Hq * D);
    const kk = readBf16(dk, T * Hkv * D);
    const v = readBf16(dv, T * Hkv * D);
    const wantQ = new Float64Array(T * Hq * D);
    const wantK = new Float64Array(T * Hkv * D);
    const half = D / 2;
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < Hq + Hkv; h++) {
        const src = t * width + h * D;
        let head = Array.from({ length: D }, (_, i) => qkv.host[src + i] as number);
        if (qkNorm) {
          const w = h < Hq ? qn.host : kn.host;
          const ss = head.reduce((a, x) => a + x * x, 0);
          const r = 1 / Math.sqrt(ss / D + d.rmsNormEps);
          head = head.map((x, i) => r16(r16(x * r) * (w[i] as number)));
        }
        const out = h < Hq ? wantQ : wantK;
        const base = h < Hq ? (t * Hq + h) * D : (t * Hkv + (h - Hq)) * D;
        for (let j = 0; j < half; j++) {
          const angle = Math.fround((inv[j] as number) * (positions[t] as number));
          const c = r16(Math.cos(angle));
          const s = r16(Math.sin(angle));
          const lo = head[j] as number;
          const hi = head[j + half] as number;
          out[base + j] = r16(r16(lo * c) + r16(-hi * s));
          out[base + j + half] = r16(r16(hi * c) + r16(lo * s));
        }
      }
      for (let i = 0; i < Hkv * D; i++) {
        assert.equal(v[t * Hkv * D + i], qkv.host[t * width + (Hq + Hkv) * D + i], 'v is copied');
      }
    }
    const uq = ulps(q, wantQ, 0.05);
    const uk = ulps(kk, wantK, 0.05);
    console.log(`# qkvRope D=${D} qkNorm=${qkNorm}: max ${Math.max(uq, uk).toFixed(2)} bf16 steps`);
    assert.ok(uq <= 2 && uk <= 2, `rope D=${D}: q ${uq}, k ${uk} bf16 steps`);
  }
});

for (const dims of [evenDims, oddDims])
  test(`SiLU x up rounds like transformers (I ${dims.intermediateSize})`, { skip }, () => {
    const next = rng(14);
    using stream = Stream.create();
    const k = new (addon().LlamaKernels)(dims);
    const T = 7;
    const I = dims.intermediateSize;
    const gu = randomBf16(next, T * 2 * I, 6);
    using dGu = upload(gu.bits);
    using dAct = DeviceBuffer.alloc(T * I * 2);
    k.siluMul(dGu.ptr, dAct.ptr, T, stream.handle);
    stream.synchronize();
    const act = readBf16(dAct, T * I);
    const want = new Float64Array(T * I);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < I; i++) {
        const g = gu.host[t * 2 * I + i] as number;
        want[t * I + i] = r16(r16(g / (1 + Math.exp(-g))) * (gu.host[t * 2 * I + I + i] as number));
      }
    }
    const u = ulps(act, want);
    console.log(`# siluMul: max ${u.toFixed(2)} bf16 steps`);
    assert.ok(u <= 2, `siluMul off by ${u} bf16 steps`);
  });

test('convert: fp32 -> bf16 -> fp16 -> fp32 on the device', { skip }, () => {
  const next = rng(14);
  using stream = Stream.create();
  const n = 10001;
  const src = Float32Array.from({ length: n }, () => (next() * 2 - 1) * 100);
  using dSrc = upload(src);
  using dB = DeviceBuffer.alloc(n * 2);
  using dH = DeviceBuffer.alloc(n * 2);
  using dF = DeviceBuffer.alloc(n * 4);
  addon().convert(dSrc.ptr, 2, dB.ptr, 0, n, stream.handle);
  addon().convert(dB.ptr, 0, dH.ptr, 1, n, stream.handle);
  addon().convert(dH.ptr, 1, dF.ptr, 2, n, stream.handle);
  stream.synchronize();
  const bf = readBf16(dB, n);
  for (let i = 0; i < n; i++) assert.equal(bf[i], r16(src[i] as number));
  const back = dF.read(new Float32Array(n));
  for (let i = 0; i < n; i++)
    assert.ok(Math.abs((back[i] as number) - (bf[i] as number)) <= Math.abs(bf[i] as number) * 2 ** -10);
});

/** Random bf16 (dtype 0) or fp16 (1) bits, |v| in [scale/8, scale) with a random sign: fast enough for 10^8 elements. */
function randomBits(next: () => number, n: number, dtype: 0 | 1, scale: number): Uint16Array {
  const out = new Uint16Array(n);
  // bf16: 8 exponent bits (bias 127), 7 mantissa bits; fp16: 5 (bias 15), 10.
  const [mant, bias] = dtype === 0 ? [7, 127] : [10, 15];
  const top = Math.floor(Math.log2(scale)) + bias; // exponents top-3 .. top-1
  let s = Math.floor(next() * 2 ** 32) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const e = top - 1 - ((s >>> 13) % 3);
    out[i] = ((s >>> 31) << 15) | (e << mant) | ((s >>> 3) & ((1 << mant) - 1));
  }
  return out;
}

function decode(bits: Uint16Array, dtype: 0 | 1): Float32Array {
  return dtype === 0 ? fromBf16(bits) : fromFp16(bits);
}

interface SkinnyCase {
  n: number;
  k: number;
  inDtype: 0 | 1;
  outDtype: 0 | 1 | 2;
  bias: boolean;
  name: string;
}

// 8B Llama's shapes at bf16, then odd ones: n not a multiple of the 16-row tile, k a multiple of 8
// but not of the 128-k step, fp16 in and out (with a bias), fp32 out, a k shorter than one step.
// (No fp32 bias: the model never asks for one, and cuBLASLt's side of the comparison may not plan it.)
const SKINNY_CASES: SkinnyCase[] = [
  { n: 6144, k: 4096, inDtype: 0, outDtype: 0, bias: true, name: 'qkv (+bias)' },
  { n: 4096, k: 4096, inDtype: 0, outDtype: 0, bias: false, name: 'o' },
  { n: 28672, k: 4096, inDtype: 0, outDtype: 0, bias: false, name: 'gate/up' },
  { n: 4096, k: 14336, inDtype: 0, outDtype: 0, bias: false, name: 'down' },
  { n: 50007, k: 4096, inDtype: 0, outDtype: 2, bias: false, name: 'head-like, fp32 out' },
  { n: 1000, k: 520, inDtype: 1, outDtype: 1, bias: true, name: 'fp16 odd' },
  { n: 3001, k: 4104, inDtype: 1, outDtype: 2, bias: false, name: 'fp16 in, fp32 out' },
  { n: 100, k: 72, inDtype: 0, outDtype: 0, bias: true, name: 'tiny' },
];

/** The columns checked against float64: the first and last tiles whole, and 96 random ones. */
function sampleColumns(next: () => number, n: number): number[] {
  const cols = new Set<number>();
  for (let j = 0; j < Math.min(n, 16); j++) cols.add(j);
  for (let j = Math.max(0, n - 16); j < n; j++) cols.add(j);
  for (let i = 0; i < 96; i++) cols.add(Math.floor(next() * n));
  return [...cols].sort((a, b) => a - b);
}

function readOut(b: DeviceBuffer, count: number, outDtype: 0 | 1 | 2): Float32Array {
  if (outDtype === 2) return b.read(new Float32Array(count));
  return decode(b.read(new Uint16Array(count)), outDtype);
}

/** max |got - want| / max(|want|, floor) in units of the output dtype's relative step. */
function outSteps(got: number, want: number, outDtype: 0 | 1 | 2, floor: number): number {
  const step = outDtype === 0 ? 2 ** -8 : outDtype === 1 ? 2 ** -11 : 2 ** -23;
  if (!Number.isFinite(got)) return Number.POSITIVE_INFINITY;
  return Math.abs(got - want) / Math.max(Math.abs(want), floor) / step;
}

test('skinny GEMM (m <= 8) matches float64 and cuBLASLt, writes only m rows, is batch-invariant and replays bit-exactly', {
  skip: cublasSkip,
}, () => {
  const a = addon();
  const next = rng(21);
  const maxM = 16;
  using ws = DeviceBuffer.alloc(32 << 20);
  using stream = Stream.create();
  for (const c of SKINNY_CASES) {
    const xBits = randomBits(next, maxM * c.k, c.inDtype, 1);
    const wBits = randomBits(next, c.n * c.k, c.inDtype, 0.125);
    const x = decode(xBits, c.inDtype);
    const outBytes = c.outDtype === 2 ? 4 : 2;
    const biasHost = Float32Array.from({ length: c.n }, () => (next() * 2 - 1) * 2);
    const biasStored = c.outDtype === 2 ? biasHost : c.outDtype === 0 ? toBf16(biasHost) : toFp16(biasHost);
    const bias = c.outDtype === 2 ? biasHost : decode(biasStored as Uint16Array, c.outDtype);
    using dx = upload(xBits);
    using dw = upload(wBits);
    using db = upload(biasStored);
    using dy = DeviceBuffer.alloc(maxM * c.n * outBytes);
    using dRef = DeviceBuffer.alloc(maxM * c.n * outBytes);
    const options = {
      n: c.n,
      k: c.k,
      maxM,
      inDtype: c.inDtype,
      outDtype: c.outDtype,
      workspace: ws.ptr,
      workspaceBytes: 32 << 20,
      ...(c.bias ? { bias: db.ptr } : {}),
    };
    const skinny = new a.Gemm({ ...options, skinny: true });
    const lt = new a.Gemm({ ...options, skinny: false });
    try {
      const st = skinny.skinny();
      assert.equal(st.enabled, true, c.name);
      // The plan is the split maths' answer for this device's SMs.
      assert.deepEqual(st.plan, a.skinnyGemmPlan(c.n, c.k, status.devices[0]?.multiProcessorCount ?? 132));
      assert.equal(lt.kernelFor(1), 'cublaslt');
      const cols = sampleColumns(next, c.n);
      // float64 reference for the sampled columns, every row.
      const want = new Float64Array(maxM * cols.length);
      for (let ci = 0; ci < cols.length; ci++) {
        const j = cols[ci] as number;
        const wRow = decode(wBits.subarray(j * c.k, (j + 1) * c.k), c.inDtype);
        for (let i = 0; i < 8; i++) {
          let acc = c.bias ? (bias[j] as number) : 0;
          for (let t = 0; t < c.k; t++) acc += (x[i * c.k + t] as number) * (wRow[t] as number);
          want[i * cols.length + ci] = acc;
        }
      }
      let worst = 0;
      let worstVsLt = 0;
      const floor = c.outDtype === 2 ? 1 : 0.05;
      const rowsAt: Uint8Array[] = []; // rowsAt[m - 1]: the bytes of rows 0..m-1 from a call of m rows
      for (let m = 1; m <= 8; m++) {
        assert.equal(skinny.kernelFor(m), 'skinny');
        dy.fill(0xff); // NaN poison: rows past m must keep it
        skinny.run(dx.ptr, dw.ptr, dy.ptr, m, stream.handle);
        dRef.fill(0xff);
        lt.run(dx.ptr, dw.ptr, dRef.ptr, m, stream.handle);
        stream.synchronize();
        const raw = dy.read(new Uint8Array(maxM * c.n * outBytes));
        for (let b = m * c.n * outBytes; b < raw.length; b++) {
          if (raw[b] !== 0xff) assert.fail(`${c.name} m=${m}: byte ${b} past row ${m} was written`);
        }
        rowsAt.push(raw.slice(0, m * c.n * outBytes));
        const got = readOut(dy, m * c.n, c.outDtype);
        const ref = readOut(dRef, m * c.n, c.outDtype);
        for (let i = 0; i < m; i++) {
          for (let ci = 0; ci < cols.length; ci++) {
            const j = cols[ci] as number;
            worst = Math.max(
              worst,
              outSteps(got[i * c.n + j] as number, want[i * cols.length + ci] as number, c.outDtype, floor),
            );
          }
          for (let j = 0; j < c.n; j++) {
            const g = got[i * c.n + j] as number;
            if (!Number.isFinite(g)) assert.fail(`${c.name} m=${m}: y[${i}, ${j}] = ${g}`);
            worstVsLt = Math.max(worstVsLt, outSteps(g, ref[i * c.n + j] as number, c.outDtype, floor));
          }
        }
      }
      // Batch invariance: each row's mma column is computed on its own, with a split that does not
      // depend on m, so a row's bits are the same whichever m the call had.
      const all = rowsAt[7] as Uint8Array;
      for (let m = 1; m < 8; m++) {
        assert.deepEqual(
          all.subarray(0, m * c.n * outBytes),
          rowsAt[m - 1],
          `${c.name}: rows of m=${m} differ from m=8's`,
        );
      }
      // bf16/fp16 out: one rounding of an fp32 sum, at most one step (a step is 2^-8 or 2^-11 of
      // |want|, half an ulp at the bottom of a binade) plus the accumulation error; cuBLASLt's own
      // rounding may land one ulp (two steps) away. fp32 out: the fp32 accumulation of k products
      // (|y| ~ 2), measured against max(|want|, 1): 2^10 fp32 steps is 1.2e-4, far below what a
      // wrong fragment or split would give (errors of order |y|).
      const limit = c.outDtype === 2 ? 2 ** 10 : 1.5;
      console.log(
        `# skinny gemm ${c.name} n=${c.n} k=${c.k} in=${c.inDtype} out=${c.outDtype} plan ${JSON.stringify(st.plan)}: ` +
          `max ${worst.toFixed(2)} steps from float64, ${worstVsLt.toFixed(2)} from cuBLASLt`,
      );
      assert.ok(worst <= limit, `${c.name}: ${worst} output steps from float64`);
      assert.ok(worstVsLt <= 2 * limit, `${c.name}: ${worstVsLt} output steps from cuBLASLt`);

      // Deterministic: two eager calls and a graph replay give the same bits.
      for (const m of [1, 5, 8]) {
        const bytes = m * c.n * outBytes;
        skinny.run(dx.ptr, dw.ptr, dy.ptr, m, stream.handle);
        stream.synchronize();
        const eager = dy.read(new Uint8Array(bytes));
        dy.fill(0xff);
        skinny.run(dx.ptr, dw.ptr, dy.ptr, m, stream.handle);
        stream.synchronize();
        assert.deepEqual(dy.read(new Uint8Array(bytes)), eager, `${c.name} m=${m}: eager calls differ`);
        dy.fill(0xff);
        runInGraph(stream, () => skinny.run(dx.ptr, dw.ptr, dy.ptr, m, stream.handle));
        assert.deepEqual(dy.read(new Uint8Array(bytes)), eager, `${c.name} m=${m}: graph replay differs from eager`);
      }
      // Rows past 8 take cuBLASLt.
      assert.equal(skinny.kernelFor(9), 'cublaslt');
    } finally {
      skinny.dispose();
      lt.dispose();
    }
  }
});

test('skinny GEMM vs cuBLASLt: W bandwidth on the 8B shapes (printed)', { skip: cublasSkip }, () => {
  const a = addon();
  using ws = DeviceBuffer.alloc(32 << 20);
  using stream = Stream.create();
  using start = Event.create({ timing: true });
  using end = Event.create({ timing: true });
  const copyMs = (() => {
    using src = DeviceBuffer.alloc(1 << 30);
    using dst = DeviceBuffer.alloc(1 << 30);
    src.fill(1);
    dst.copyFrom(src, { stream });
    start.record(stream);
    for (let i = 0; i < 5; i++) dst.copyFrom(src, { stream });
    end.record(stream);
    end.synchronize();
    return start.elapsedMs(end) / 5;
  })();
  console.log(`# skinny-bw copy: ${((2 * 2 ** 30) / (copyMs / 1000) / 1e9).toFixed(0)} GB/s (read + write of 1 GiB)`);
  for (const [n, k, outDtype, name] of [
    [6144, 4096, 0, 'qkv'],
    [4096, 4096, 0, 'o'],
    [28672, 4096, 0, 'gate/up'],
    [4096, 14336, 0, 'down'],
    [128256, 4096, 2, 'head'],
  ] as const) {
    const wBytes = n * k * 2;
    const copies = Math.max(2, Math.ceil((400 << 20) / wBytes));
    const ws8 = Array.from({ length: copies }, () => {
      const b = DeviceBuffer.alloc(wBytes);
      b.fill(0x3c);
      return b;
    });
    using dx = DeviceBuffer.alloc(8 * k * 2);
    dx.fill(0x3c);
    using dy = DeviceBuffer.alloc(8 * n * 4);
    const line: string[] = [];
    try {
      for (const m of [1, 8]) {
        for (const skinnyOn of [true, false]) {
          const g = new a.Gemm({
            n,
            k,
            maxM: 8,
            inDtype: 0,
            outDtype,
            workspace: ws.ptr,
            workspaceBytes: 32 << 20,
            skinny: skinnyOn,
          });
          try {
            const calls = 2 * copies;
            stream.beginCapture();
            for (let i = 0; i < calls; i++)
              g.run(dx.ptr, (ws8[i % copies] as DeviceBuffer).ptr, dy.ptr, m, stream.handle);
            using graph = stream.endCapture();
            using exec = graph.instantiate();
            exec.launch(stream);
            start.record(stream);
            for (let r = 0; r < 3; r++) exec.launch(stream);
            end.record(stream);
            end.synchronize();
            const us = (start.elapsedMs(end) * 1000) / (3 * calls);
            line.push(
              `m=${m} ${skinnyOn ? 'skinny' : 'cublaslt'} ${us.toFixed(1)} us ${(wBytes / us / 1e3).toFixed(0)} GB/s`,
            );
          } finally {
            g.dispose();
          }
        }
      }
    } finally {
      for (const b of ws8) b.dispose();
    }
    console.log(`# skinny-bw ${name} n=${n} k=${k}: ${line.join(', ')}`);
  }
});

test('skinny gate/up GEMM + SiLU x up in one launch equals the GEMM then siluMul bit for bit', {
  skip: cublasSkip,
}, () => {
  const a = addon();
  const next = rng(23);
  using ws = DeviceBuffer.alloc(32 << 20);
  using stream = Stream.create();
  for (const [inter, k, dtype] of [
    [14336, 4096, 0], // 8B Llama's MLP
    [1000, 520, 1],
    [100, 72, 0],
  ] as const) {
    const n = 2 * inter;
    // x large enough that SiLU sees both signs and its saturating tails.
    const xBits = randomBits(next, 8 * k, dtype, 4);
    const wBits = randomBits(next, n * k, dtype, 0.125);
    using dx = upload(xBits);
    using dw = upload(wBits);
    using dGateUp = DeviceBuffer.alloc(8 * n * 2);
    using dTwo = DeviceBuffer.alloc(8 * inter * 2);
    using dOne = DeviceBuffer.alloc(8 * inter * 2);
    const g = new a.Gemm({
      n,
      k,
      maxM: 8,
      inDtype: dtype,
      outDtype: dtype,
      workspace: ws.ptr,
      workspaceBytes: 32 << 20,
      skinny: true,
    });
    const kernels = new (addon().LlamaKernels)({
      ...evenDims,
      hiddenSize: k,
      intermediateSize: inter,
      dtype,
      maxNumTokens: 8,
    });
    try {
      for (let m = 1; m <= 8; m++) {
        const bytes = m * inter * 2;
        g.run(dx.ptr, dw.ptr, dGateUp.ptr, m, stream.handle);
        kernels.siluMul(dGateUp.ptr, dTwo.ptr, m, stream.handle);
        dOne.fill(0xff);
        g.runSiluMul(dx.ptr, dw.ptr, dOne.ptr, m, stream.handle);
        stream.synchronize();
        const two = dTwo.read(new Uint8Array(bytes));
        const one = dOne.read(new Uint8Array(8 * inter * 2));
        assert.deepEqual(one.subarray(0, bytes), two, `I=${inter} k=${k} m=${m}: fused differs from GEMM + siluMul`);
        for (let b = bytes; b < one.length; b++) {
          if (one[b] !== 0xff) assert.fail(`I=${inter} m=${m}: byte ${b} past row ${m} was written`);
        }
      }
      // Captured and replayed: the same bits.
      dOne.fill(0xff);
      runInGraph(stream, () => g.runSiluMul(dx.ptr, dw.ptr, dOne.ptr, 8, stream.handle));
      assert.deepEqual(
        dOne.read(new Uint8Array(8 * inter * 2)),
        dTwo.read(new Uint8Array(8 * inter * 2)),
        'graph replay',
      );
      console.log(
        `# skinny gemm+silu I=${inter} k=${k} dtype=${dtype}: bit-identical to GEMM + siluMul at m = 1..8 and in a graph`,
      );
    } finally {
      g.dispose();
    }
  }
});
