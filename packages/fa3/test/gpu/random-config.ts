// The random configurations of random-configs.gpu.ts: geometry, batch shape and split settings
// drawn from a seed, with the per-request lengths shrunk to a CPU-reference work budget.
import type { AttentionOptions } from '@flashgraph/fa3';
import { type Batch, Rng, randomSinks } from './harness.js';

/** Query-key-dim products per config the CPU reference can afford (~0.1 s each). */
const WORK_BUDGET = 1.6e7;
/** Cache elements (K alone) per config: bounds host memory and upload time. */
const CACHE_BUDGET = 8e6;
/** A few configs keep their long requests at full length (32k contexts at Hq 32, D 128). */
const LONG_WORK_BUDGET = 1e8;
const LONG_CACHE_BUDGET = 2.5e7;

export interface Config {
  seed: number;
  geo: Omit<AttentionOptions, 'numPages' | 'maxNumReqs' | 'maxNumTokens' | 'maxNumPagesPerReq'>;
  batch: Batch;
  numSplits: number;
  qScale: number;
  kind: string;
  /** fp32 [Hq] attention sinks, or none. */
  sinks?: Float32Array;
}

export function sampleConfig(seed: number): Config {
  const r = new Rng(seed);
  // Head dims 96 / 192 and sinks come from their own stream, so every other draw of a seed is what
  // it was before they existed (earlier runs' failures stay reproducible).
  const extra = new Rng(seed ^ 0x2545f491);
  let headDim: 64 | 96 | 128 | 192 | 256 = r.pick([64, 128, 256] as const);
  if (extra.chance(0.3)) headDim = extra.pick([96, 192] as const);
  const g = r.pick([1, 2, 4, 8]);
  const numHeadsKv = r.pick([1, 2, 4, 8]);
  const numHeadsQ = g * numHeadsKv;
  let pageSize = r.pick([16, 32, 64, 256]); // 16 / 32 / 64: the wgmma kernel's TMA per page of a block
  const dtype = r.chance(0.75) ? ('bf16' as const) : ('fp16' as const);
  const causal = r.chance(0.6);
  let window: [number, number] | undefined;
  if (r.chance(0.25))
    window = [r.chance(0.2) ? -1 : r.logInt(0, 4096), causal ? r.pick([-1, 0]) : r.pick([-1, 0, r.logInt(0, 256)])];
  const softcap = r.chance(0.2) ? r.pick([5, 15, 30, 50]) : undefined;
  const qScale = r.pick([1, 1, 2, 4]);

  // Batch shape: mostly decode, also speculative decode, prefill, mixed, and graph padding.
  const kind = r.pick(['decode', 'decode', 'spec', 'prefill', 'mixed', 'padded']);
  const u = r.next();
  let numReqs = u < 0.45 ? r.int(1, 16) : u < 0.7 ? r.int(17, 256) : u < 0.88 ? r.int(257, 1200) : r.int(1201, 4096);
  if (kind === 'prefill') numReqs = Math.min(numReqs, r.int(1, 12));
  const qOf = () => {
    if (kind === 'decode' || kind === 'padded') return 1;
    if (kind === 'spec') return r.int(1, 8);
    if (kind === 'prefill') return r.logInt(1, 512);
    return r.chance(0.7) ? 1 : r.logInt(1, 512);
  };
  const qLens: number[] = [];
  const kLens: number[] = [];
  for (let b = 0; b < numReqs; b++) {
    const q = qOf();
    // Context includes this step's queries; sometimes shorter (causal rows that see no key).
    let k = r.logInt(0, 32768);
    if (r.chance(0.9)) k = Math.max(k, q);
    qLens.push(q);
    kLens.push(k);
  }
  if (kind === 'padded') {
    for (let b = 0; b < numReqs; b++) if (r.chance(0.3)) qLens[b] = kLens[b] = 0;
    qLens[0] = Math.max(1, qLens[0]!);
  }
  // Budget: up to 3 long requests keep their length (the ones that want the most splits), the
  // rest shrink until the reference work and the cache fit.
  const cost = (b: number) => qLens[b]! * kLens[b]! * numHeadsQ * headDim;
  const long = r.chance(0.1);
  const longBudget = long ? LONG_WORK_BUDGET : WORK_BUDGET / 2;
  const cacheBudget = long ? LONG_CACHE_BUDGET : CACHE_BUDGET;
  const longs = new Set<number>();
  for (let i = 0; i < Math.min(3, numReqs); i++) longs.add(r.int(0, numReqs - 1));
  let longCost = 0;
  for (const b of longs) {
    if (long && qLens[b]! > 0) kLens[b] = Math.max(kLens[b]!, r.int(16384, 32768));
    while (longCost + cost(b) > longBudget && qLens[b]! > 1) qLens[b] = Math.ceil(qLens[b]! / 2);
    while (longCost + cost(b) > longBudget && kLens[b]! > 1) kLens[b] = Math.floor(kLens[b]! / 2);
    longCost += cost(b);
  }
  const restBudget = WORK_BUDGET / 2;
  let rest = 0;
  for (let b = 0; b < numReqs; b++) if (!longs.has(b)) rest += cost(b);
  if (rest > restBudget) {
    const f = restBudget / rest;
    for (let b = 0; b < numReqs; b++) {
      if (longs.has(b)) continue;
      kLens[b] = Math.floor(kLens[b]! * Math.sqrt(f));
      qLens[b] = Math.max(qLens[b]! > 0 ? 1 : 0, Math.floor(qLens[b]! * Math.sqrt(f)));
    }
  }
  // Cache budget: page padding of big batches with big pages adds up.
  const cacheElems = () =>
    kLens.reduce((a, k) => a + Math.ceil(k / pageSize) * pageSize, pageSize) * numHeadsKv * headDim;
  while (cacheElems() > cacheBudget && pageSize > 16) pageSize = Math.max(16, pageSize / 4);
  while (cacheElems() > cacheBudget) {
    let big = 0;
    for (let b = 1; b < numReqs; b++) if (kLens[b]! > kLens[big]!) big = b;
    kLens[big] = Math.floor(kLens[big]! / 2);
  }
  // S: up to 256, bounded so the fp32 partials (4 x S x Hq x T x (D + 1)) stay under 1 GiB.
  const tokens = qLens.reduce((a, b) => a + b, 0);
  let maxNumSplits = r.pick([1, 2, 4, 8, 16, 32, 64, 128, 256]);
  while (maxNumSplits > 1 && 4 * maxNumSplits * numHeadsQ * tokens * (headDim + 1) > 2 ** 30) maxNumSplits >>= 1;
  const numSplits = r.chance(0.4) ? 0 : r.int(0, maxNumSplits);
  const sinks = extra.chance(0.3) ? randomSinks(numHeadsQ, extra) : undefined;
  return {
    seed,
    kind: `${long ? `${kind}+long` : kind}${sinks ? '+sinks' : ''}`,
    qScale,
    numSplits,
    ...(sinks ? { sinks } : {}),
    geo: { numHeadsQ, numHeadsKv, headDim, dtype, pageSize, causal, window, softcap, maxNumSplits },
    batch: { qLens, kLens },
  };
}
