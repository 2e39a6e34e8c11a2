// Shared machinery of the fa3 GPU suites: seeded random problems in the GPU layouts, rounded to
// bf16/fp16 exactly as uploaded, device buffers, poisoning, and an every-element comparison with
// referenceAttention that names the failing config, request, token, head and dimension.
import {
  cudaStatus,
  DeviceBuffer,
  fromBf16,
  fromFp16,
  type GraphExec,
  type Stream,
  toBf16,
  toFp16,
} from '@flashgraph/cuda';
import { type Attention, type AttentionOptions, forwardKernel, planSplits, referenceAttention } from '@flashgraph/fa3';

/** Why the GPU suites skip, or undefined when a device is there. */
export function skipReason(): string | undefined {
  const s = cudaStatus();
  return s.available ? undefined : `no CUDA device: ${s.reason ?? 'unavailable'}`;
}

/** Seeded xorshift32: every config is reproducible from its seed. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let s = this.#s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.#s = s >>> 0;
    return this.#s / 2 ** 32;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** Integer in [lo, hi], log-uniform (lo >= 0). */
  logInt(lo: number, hi: number): number {
    const v = Math.exp(Math.log(lo + 1) + this.next() * (Math.log(hi + 1) - Math.log(lo + 1))) - 1;
    return Math.min(hi, Math.max(lo, Math.round(v)));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export type Dtype = 'bf16' | 'fp16';

/** Float32 values -> device bits and the exactly-representable values the GPU will see. */
export function quantize(values: Float32Array, dtype: Dtype): { bits: Uint16Array; values: Float32Array } {
  const bits = dtype === 'bf16' ? toBf16(values) : toFp16(values);
  return { bits, values: dtype === 'bf16' ? fromBf16(bits) : fromFp16(bits) };
}

export function dequantize(bits: Uint16Array, dtype: Dtype): Float32Array {
  return dtype === 'bf16' ? fromBf16(bits) : fromFp16(bits);
}

/** Per-request lengths of one step. */
export interface Batch {
  qLens: number[];
  kLens: number[];
}

/** The geometry of an Attention plus the inputs of one step, as host arrays. */
export interface Problem {
  opts: AttentionOptions;
  batch: Batch;
  numReqs: number;
  totalQ: number;
  stride: number; // page-table row length
  cuSeqlensQ: Int32Array;
  seqLens: Int32Array;
  pageTable: Int32Array; // [numReqs, stride]; entries past a request's pages are -1 (never read)
  qBits: Uint16Array;
  q: Float32Array;
  kBits: Uint16Array;
  vBits: Uint16Array;
  k: Float32Array;
  v: Float32Array;
  softmaxScale: number;
  /** Attention sinks, fp32 `[Hq]` (forward's `sinks`); absent = none. */
  sinks?: Float32Array;
}

/**
 * Sink logits for every query head of `p`: around the rows' LSE (log of the context length, give
 * or take), so the sink takes anything from almost none to almost all of a row's weight; one head
 * in 8 has -Infinity (its sink off).
 */
export function randomSinks(numHeadsQ: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: numHeadsQ }, () =>
    rng.chance(0.125) ? Number.NEGATIVE_INFINITY : (rng.next() * 16 - 4) * (rng.chance(0.5) ? 1 : 0.25),
  );
}

/** Key/value written into the unused tail of a request's last page: large, so reading it shows. */
const TAIL_K = 48;
const TAIL_V = 1000;

/**
 * Random inputs for `batch` under `opts`: q, K and V uniform in [-qScale, qScale) / [-1, 1) and
 * rounded to the dtype; pages of all requests handed out in a random order; the unused slots of
 * every request's last page hold large values that corrupt the output if the kernel reads them.
 */
export function makeProblem(
  opts: AttentionOptions,
  batch: Batch,
  rng: Rng,
  qScale = 1,
  sharedPageTable?: Int32Array,
): Problem {
  const { numHeadsQ: hq, numHeadsKv: hkv, headDim: d, pageSize, dtype } = opts;
  const numReqs = batch.qLens.length;
  const cuSeqlensQ = new Int32Array(numReqs + 1);
  batch.qLens.forEach((q, b) => {
    cuSeqlensQ[b + 1] = cuSeqlensQ[b]! + q;
  });
  const totalQ = cuSeqlensQ[numReqs]!;
  const seqLens = Int32Array.from(batch.kLens);
  const pages = batch.kLens.map((k) => Math.ceil(k / pageSize));
  const stride = opts.maxNumPagesPerReq;
  const used = pages.reduce((a, b) => a + b, 0);
  if (used > opts.numPages) throw new Error(`makeProblem: batch needs ${used} pages, cache has ${opts.numPages}`);
  let pageTable: Int32Array;
  if (sharedPageTable) {
    pageTable = sharedPageTable; // same layout, fresh values (layers of one step)
  } else {
    const order = Array.from({ length: opts.numPages }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    pageTable = new Int32Array(numReqs * stride).fill(-1);
    let next = 0;
    pages.forEach((n, b) => {
      for (let p = 0; p < n; p++) pageTable[b * stride + p] = order[next++]!;
    });
  }
  const row = hkv * d;
  const slots = opts.numPages * pageSize * row;
  const k = randomValues(slots, dtype, rng, 1);
  const v = randomValues(slots, dtype, rng, 1);
  const tail = (x: ReturnType<typeof randomValues>, value: number) => {
    const t = quantize(new Float32Array([value]), dtype);
    batch.kLens.forEach((kl, b) => {
      if (kl % pageSize === 0) return;
      const page = pageTable[b * stride + pages[b]! - 1]!;
      const from = (page * pageSize + (kl % pageSize)) * row;
      const to = (page + 1) * pageSize * row;
      x.bits.fill(t.bits[0]!, from, to);
      x.values.fill(t.values[0]!, from, to);
    });
  };
  tail(k, TAIL_K);
  tail(v, TAIL_V);
  const q = randomValues(totalQ * hq * d, dtype, rng, qScale);
  return {
    opts,
    batch,
    numReqs,
    totalQ,
    stride,
    cuSeqlensQ,
    seqLens,
    pageTable,
    qBits: q.bits,
    q: q.values,
    kBits: k.bits,
    vBits: v.bits,
    k: k.values,
    v: v.values,
    softmaxScale: 1 / Math.sqrt(d),
  };
}

/** 65536 uniform values in [-scale, scale) and their dtype bits, indexed by a random 16-bit word. */
const tables = new Map<string, { bits: Uint16Array; values: Float32Array }>();
function valueTable(dtype: Dtype, scale: number) {
  const key = `${dtype}:${scale}`;
  let t = tables.get(key);
  if (!t) {
    t = quantize(
      Float32Array.from({ length: 65536 }, (_, i) => ((i + 0.5) / 32768 - 1) * scale),
      dtype,
    );
    tables.set(key, t);
  }
  return t;
}

/** n random dtype values (bits and their exact float values); fast: one table lookup each. */
function randomValues(n: number, dtype: Dtype, rng: Rng, scale: number): { bits: Uint16Array; values: Float32Array } {
  const t = valueTable(dtype, scale);
  const bits = new Uint16Array(n);
  const values = new Float32Array(n);
  let s = (rng.next() * 2 ** 32) >>> 0 || 1;
  for (let i = 0; i < n; i += 2) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const lo = s & 0xffff;
    const hi = (s >>> 16) & 0xffff;
    bits[i] = t.bits[lo]!;
    values[i] = t.values[lo]!;
    if (i + 1 < n) {
      bits[i + 1] = t.bits[hi]!;
      values[i + 1] = t.values[hi]!;
    }
  }
  return { bits, values };
}

/** Device copies of a problem's inputs plus poisoned outputs with guard rows past totalQ. */
export class DeviceProblem implements Disposable {
  readonly buffers: DeviceBuffer[] = [];
  readonly q: DeviceBuffer;
  readonly kCache: DeviceBuffer;
  readonly vCache: DeviceBuffer;
  readonly out: DeviceBuffer;
  readonly lse: DeviceBuffer;
  readonly pageTable: DeviceBuffer;
  readonly cuSeqlensQ: DeviceBuffer;
  readonly seqLens: DeviceBuffer;
  /** fp32 [Hq] when the problem has sinks. */
  readonly sinks: DeviceBuffer | undefined;
  /** Token rows allocated in q / out / lse (>= totalQ; the rest are guard rows). */
  readonly rows: number;

  /**
   * Buffers sized for `rows` tokens and `reqs` requests (capacities, so later steps can reuse them).
   * At least maxNumTokens rows: forward checks q/out against min(maxNumTokens, numReqs x maxSeqlenQ).
   */
  constructor(p: Problem, rows = Math.max(p.totalQ + GUARD_ROWS, p.opts.maxNumTokens), reqs = p.numReqs) {
    const { numHeadsQ: hq, headDim: d } = p.opts;
    const alloc = (bytes: number) => {
      const b = DeviceBuffer.alloc(Math.max(16, bytes), { device: p.opts.device ?? 0 });
      this.buffers.push(b);
      return b;
    };
    this.rows = rows;
    this.q = alloc(rows * hq * d * 2);
    this.out = alloc(rows * hq * d * 2);
    this.lse = alloc(rows * hq * 4);
    this.kCache = alloc(p.kBits.byteLength);
    this.vCache = alloc(p.vBits.byteLength);
    this.pageTable = alloc(reqs * p.stride * 4);
    this.cuSeqlensQ = alloc((reqs + 1) * 4);
    this.seqLens = alloc(reqs * 4);
    this.sinks = p.sinks ? alloc(hq * 4) : undefined;
    this.upload(p);
  }

  /** Writes a step's inputs (same geometry) into the existing buffers and poisons the outputs. */
  upload(p: Problem): void {
    this.q.fill(0);
    this.q.write(p.qBits);
    this.kCache.write(p.kBits);
    this.vCache.write(p.vBits);
    this.pageTable.fill(0xff); // -1 everywhere, then the live rows
    this.pageTable.write(p.pageTable);
    this.cuSeqlensQ.write(p.cuSeqlensQ);
    this.seqLens.write(p.seqLens);
    if (p.sinks) this.sinks?.write(p.sinks);
    this.poison();
  }

  /** 0xFF bytes: NaN in bf16, fp16 and fp32, so any element the kernel fails to write shows. */
  poison(): void {
    this.out.fill(0xff);
    this.lse.fill(0xff);
  }

  [Symbol.dispose](): void {
    for (const b of this.buffers.splice(0)) b.dispose();
  }
}

export const GUARD_ROWS = 3;

/** The forward/schedule arguments of a problem on its device buffers. */
export function stepArgs(p: Problem, dev: DeviceProblem, stream: Stream, numSplits: number) {
  return {
    stream,
    q: dev.q,
    kCache: dev.kCache,
    vCache: dev.vCache,
    out: dev.out,
    lse: dev.lse,
    ...(dev.sinks ? { sinks: dev.sinks } : {}),
    pageTable: dev.pageTable,
    cuSeqlensQ: dev.cuSeqlensQ,
    seqLens: dev.seqLens,
    numReqs: p.numReqs,
    maxSeqlenQ: Math.max(0, ...p.batch.qLens),
    maxSeqlenK: Math.max(0, ...p.batch.kLens),
    softmaxScale: p.softmaxScale,
    numSplits,
  };
}

export interface Tolerance {
  /** max |out - ref| over a (token, head) row <= outRel x max |ref| over that row. */
  outRel: number;
  /** |lse - ref| <= lseTol x max(1, |ref|). */
  lseTol: number;
}
export const TOLERANCE: Tolerance = { outRel: 1e-2, lseTol: 1e-3 };

/**
 * Compares the device result of a problem with referenceAttention, every element, and checks the
 * guard rows past totalQ are still poisoned. Returns a list of failures (empty = pass).
 */
export function checkResult(
  p: Problem,
  outBits: Uint16Array,
  lse: Float32Array,
  ref = referenceFor(p),
  tol: Tolerance = TOLERANCE,
  rows = outBits.length / (p.opts.numHeadsQ * p.opts.headDim),
): string[] {
  const { numHeadsQ: hq, headDim: d, dtype } = p.opts;
  const fails: string[] = [];
  const note = (s: string) => {
    if (fails.length < 12) fails.push(s);
    else if (fails.length === 12) fails.push('... (more)');
  };
  const out = dequantize(outBits, dtype);
  const reqOf = (t: number) => {
    let b = 0;
    while (p.cuSeqlensQ[b + 1]! <= t) b++;
    return b;
  };
  for (let t = 0; t < p.totalQ; t++) {
    for (let h = 0; h < hq; h++) {
      const base = (t * hq + h) * d;
      const rl = ref.lse[h * p.totalQ + t]!;
      const gl = lse[h * p.totalQ + t]!;
      const where = () => `req ${reqOf(t)} token ${t} head ${h}`;
      if (rl === Number.NEGATIVE_INFINITY) {
        if (gl !== Number.NEGATIVE_INFINITY) note(`${where()}: sees no key, lse ${gl} (want -Infinity)`);
        for (let x = 0; x < d; x++) {
          if (out[base + x] !== 0) {
            note(`${where()} dim ${x}: sees no key, out ${out[base + x]} (want 0)`);
            break;
          }
        }
        continue;
      }
      if (!(Math.abs(gl - rl) <= tol.lseTol * Math.max(1, Math.abs(rl)))) note(`${where()}: lse ${gl}, want ${rl}`);
      let rowMax = 0;
      for (let x = 0; x < d; x++) rowMax = Math.max(rowMax, Math.abs(ref.out[base + x]!));
      const bound = tol.outRel * rowMax + 1e-6;
      for (let x = 0; x < d; x++) {
        const g = out[base + x]!;
        const r = ref.out[base + x]!;
        if (!(Math.abs(g - r) <= bound)) {
          note(`${where()} dim ${x}: out ${g}, want ${r} (row max |ref| ${rowMax.toExponential(3)})`);
          break;
        }
      }
    }
  }
  // Guard rows past totalQ: still all-ones bytes (NaN poison).
  for (let i = p.totalQ * hq * d; i < rows * hq * d; i++) {
    if (outBits[i] !== 0xffff) {
      note(`out guard row ${Math.floor(i / (hq * d))} (>= totalQ ${p.totalQ}) was written`);
      break;
    }
  }
  const lseWords = new Uint32Array(lse.buffer, lse.byteOffset, lse.length);
  for (let i = p.totalQ * hq; i < lseWords.length; i++) {
    if (lseWords[i] !== 0xffffffff) {
      note(`lse element ${i} past [Hq, totalQ] = ${hq * p.totalQ} was written`);
      break;
    }
  }
  return fails;
}

/** Captures `body` on `stream` into an executable graph (the captured graph itself is released). */
export function captureGraph(stream: Stream, body: () => void): GraphExec {
  stream.beginCapture();
  let graph: ReturnType<Stream['endCapture']>;
  try {
    body();
  } finally {
    graph = stream.endCapture();
  }
  try {
    return graph.instantiate();
  } finally {
    graph.dispose();
  }
}

export function referenceFor(p: Problem) {
  return referenceAttention({
    q: p.q,
    kCache: p.k,
    vCache: p.v,
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
    ...(p.sinks ? { sinks: p.sinks } : {}),
    pageTableStride: p.stride,
  });
}

/** Reads back the (poisoned + written) outputs of a step. */
export function readResult(dev: DeviceProblem, p: Problem): { outBits: Uint16Array; lse: Float32Array } {
  const { numHeadsQ: hq, headDim: d } = p.opts;
  const outBits = dev.out.read(new Uint16Array(dev.rows * hq * d));
  // lse is [Hq, totalQ] at the start of the buffer; the rest of the buffer is guard.
  const lse = dev.lse.read(new Float32Array(dev.rows * hq));
  return { outBits, lse };
}

/** Metadata on the device equals planSplits for this step (scheduled with maxSeqlenQ), tails included. */
export function checkMetadata(
  attn: Attention,
  p: Problem,
  numSplits: number,
  maxSeqlenQ = Math.max(0, ...p.batch.qLens),
): string[] {
  const o = attn.options;
  // The kernel the step runs: planSplits takes no cache dtype, and the wgmma kernel's steps run
  // the general kernel on an fp8 cache (its tiles are the ones prepare numbers then).
  const kernel = forwardKernel(maxSeqlenQ, o.numHeadsQ / o.numHeadsKv, o.headDim);
  const plan = planSplits({
    cuSeqlensQ: p.cuSeqlensQ,
    seqLens: p.seqLens,
    numReqs: p.numReqs,
    numHeadsQ: o.numHeadsQ,
    numHeadsKv: o.numHeadsKv,
    headDim: o.headDim,
    maxNumSplits: o.maxNumSplits,
    numSplits,
    maxSeqlenQ,
    maxSeqlenK: Math.max(0, ...p.batch.kLens),
    smCount: attn.smCount,
    kernel: kernel === 'wgmma' && o.kvDtype === 'fp8_e4m3' ? 'general' : kernel,
  });
  const md = attn.readMetadata();
  const fails: string[] = [];
  for (let b = 0; b < o.maxNumReqs && fails.length < 8; b++) {
    const want = b < p.numReqs ? plan.splits[b]! : 0;
    if (md.splits[b] !== want)
      fails.push(
        `splits[${b}] = ${md.splits[b]}, planSplits says ${want}${b >= p.numReqs ? ' (tail past numReqs)' : ''}`,
      );
  }
  for (let b = 0; b <= o.maxNumReqs && fails.length < 8; b++) {
    const want = b <= p.numReqs ? plan.tileOffsets[b]! : plan.totalTiles;
    if (md.tileOffsets[b] !== want) fails.push(`tileOffsets[${b}] = ${md.tileOffsets[b]}, planSplits says ${want}`);
  }
  for (let i = 0; i < o.maxNumReqs && fails.length < 8; i++) {
    const want = i < p.numReqs ? plan.order[i]! : i;
    if (md.order[i] !== want) fails.push(`order[${i}] = ${md.order[i]}, planSplits says ${want}`);
  }
  if (md.totalTiles !== plan.totalTiles)
    fails.push(`totalTiles = ${md.totalTiles}, planSplits says ${plan.totalTiles}`);
  return fails;
}

/** A compact description of a config for failure messages. */
export function describeProblem(p: Problem, extra: Record<string, unknown> = {}): string {
  const o = p.opts;
  const q = p.batch.qLens;
  const k = p.batch.kLens;
  const lens =
    q.length <= 12
      ? q.map((x, i) => `${x}/${k[i]}`).join(' ')
      : `${q.length} reqs, q max ${Math.max(...q)}, k max ${Math.max(...k)}`;
  return (
    JSON.stringify({
      ...extra,
      dtype: o.dtype,
      Hq: o.numHeadsQ,
      Hkv: o.numHeadsKv,
      D: o.headDim,
      page: o.pageSize,
      causal: o.causal,
      window: o.window,
      softcap: o.softcap,
      sinks: p.sinks ? Array.from(p.sinks, (x) => Math.round(x * 100) / 100) : undefined,
      S: o.maxNumSplits,
      numReqs: p.numReqs,
      totalQ: p.totalQ,
    }) + ` q/k: ${lens}`
  );
}

/** Options sized exactly for one problem's batch (with some slack), everything else from `geo`. */
export function optionsFor(
  geo: Pick<
    AttentionOptions,
    'numHeadsQ' | 'numHeadsKv' | 'headDim' | 'dtype' | 'pageSize' | 'causal' | 'window' | 'softcap' | 'maxNumSplits'
  >,
  batch: Batch,
  slack = { reqs: 0, tokens: 0, pages: 1 },
): AttentionOptions {
  const pages = batch.kLens.map((k) => Math.ceil(k / geo.pageSize));
  return {
    ...geo,
    numPages: pages.reduce((a, b) => a + b, 0) + slack.pages,
    maxNumReqs: batch.qLens.length + slack.reqs,
    maxNumTokens: Math.max(1, batch.qLens.reduce((a, b) => a + b, 0) + slack.tokens),
    maxNumPagesPerReq: Math.max(1, ...pages),
  };
}
