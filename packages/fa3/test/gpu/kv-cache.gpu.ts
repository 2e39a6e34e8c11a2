// (f) writeKvCache against writeKvCacheReference, bit for bit over the whole cache: every slot
// written exactly where slotMapping says, padding tokens (slot -1) skipped, nothing else touched.
// Eager and inside a captured graph, bf16 and fp16, several geometries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceBuffer, Stream } from '@flashgraph/cuda';
import { type AttentionOptions, createAttention, writeKvCacheReference } from '@flashgraph/fa3';
import { Rng, skipReason } from './harness.js';

const skip = skipReason();

const geos: AttentionOptions[] = [
  {
    numHeadsQ: 32,
    numHeadsKv: 8,
    headDim: 128,
    dtype: 'bf16',
    pageSize: 16,
    numPages: 300,
    maxNumReqs: 64,
    maxNumTokens: 512,
    maxNumPagesPerReq: 64,
    maxNumSplits: 8,
    causal: true,
  },
  {
    numHeadsQ: 4,
    numHeadsKv: 1,
    headDim: 64,
    dtype: 'fp16',
    pageSize: 256,
    numPages: 9,
    maxNumReqs: 8,
    maxNumTokens: 1000,
    maxNumPagesPerReq: 4,
    maxNumSplits: 1,
    causal: false,
  },
  {
    numHeadsQ: 16,
    numHeadsKv: 16,
    headDim: 256,
    dtype: 'bf16',
    pageSize: 64,
    numPages: 40,
    maxNumReqs: 8,
    maxNumTokens: 64,
    maxNumPagesPerReq: 8,
    maxNumSplits: 4,
    causal: true,
  },
];

function randomBits(r: Rng, n: number): Uint16Array {
  // Arbitrary bit patterns (NaN payloads included): the copy must be exact, not a conversion.
  return Uint16Array.from({ length: n }, () => r.int(0, 0xffff));
}

for (const [gi, o] of geos.entries()) {
  for (const mode of ['eager', 'graph'] as const) {
    test(`writeKvCache == writeKvCacheReference (${mode}, Hkv ${o.numHeadsKv}, D ${o.headDim}, page ${o.pageSize}, ${o.dtype})`, {
      skip,
    }, () => {
      const r = new Rng(100 + gi * 2 + (mode === 'graph' ? 1 : 0));
      const row = o.numHeadsKv * o.headDim;
      const slots = o.numPages * o.pageSize;
      using stream = Stream.create();
      using attn = createAttention(o);
      const kHost = randomBits(r, slots * row);
      const vHost = randomBits(r, slots * row);
      using kCache = DeviceBuffer.alloc(kHost.byteLength);
      using vCache = DeviceBuffer.alloc(vHost.byteLength);
      using key = DeviceBuffer.alloc(o.maxNumTokens * row * 2);
      using value = DeviceBuffer.alloc(o.maxNumTokens * row * 2);
      using slotMapping = DeviceBuffer.alloc(o.maxNumTokens * 4);
      kCache.write(kHost);
      vCache.write(vHost);
      for (const numTokens of [o.maxNumTokens, 1, Math.ceil(o.maxNumTokens / 3)]) {
        // Distinct slots (a permutation prefix), about 20% padding (-1).
        const perm = Array.from({ length: slots }, (_, i) => i);
        for (let i = perm.length - 1; i > 0; i--) {
          const j = r.int(0, i);
          [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        }
        const mapping = Int32Array.from({ length: numTokens }, (_, t) => (r.chance(0.2) ? -1 : perm[t % slots]!));
        const kNew = randomBits(r, numTokens * row);
        const vNew = randomBits(r, numTokens * row);
        key.write(kNew);
        value.write(vNew);
        slotMapping.write(mapping);
        // Tokens past numTokens carry a valid slot: writing them would be a bug that shows.
        if (numTokens < o.maxNumTokens)
          slotMapping.write(new Int32Array(o.maxNumTokens - numTokens).fill(0), { offset: numTokens * 4 });
        const args = { stream, key, value, kCache, vCache, slotMapping, numTokens };
        if (mode === 'eager') {
          attn.writeKvCache(args);
        } else {
          stream.beginCapture();
          let graph: ReturnType<Stream['endCapture']>;
          try {
            attn.writeKvCache(args);
          } finally {
            graph = stream.endCapture();
          }
          const exec = graph.instantiate();
          graph.dispose();
          try {
            exec.launch(stream);
          } finally {
            stream.synchronize();
            exec.dispose();
          }
        }
        stream.synchronize();
        writeKvCacheReference({
          key: kNew,
          value: vNew,
          kCache: kHost,
          vCache: vHost,
          slotMapping: mapping,
          numHeadsKv: o.numHeadsKv,
          headDim: o.headDim,
          pageSize: o.pageSize,
        });
        const kDev = kCache.read(new Uint16Array(kHost.length));
        const vDev = vCache.read(new Uint16Array(vHost.length));
        for (const [name, dev, host] of [
          ['kCache', kDev, kHost],
          ['vCache', vDev, vHost],
        ] as const) {
          for (let i = 0; i < host.length; i++) {
            if (dev[i] !== host[i]) {
              const slot = Math.floor(i / row);
              const t = mapping.indexOf(slot);
              assert.fail(
                `${name} element ${i} (slot ${slot}, head ${Math.floor((i % row) / o.headDim)}, dim ${i % o.headDim}): device 0x${dev[i]!.toString(16)}, reference 0x${host[i]!.toString(16)}; ` +
                  `slot written by token ${t} (numTokens ${numTokens}, ${mapping.filter((s) => s === -1).length} padding)`,
              );
            }
          }
        }
      }
    });
  }
}
