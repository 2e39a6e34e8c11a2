// `@flashgraph/fa3/reference` loads no native code: imported from the build (as a user would) in a
// fresh Node process whose module resolution is recorded and whose `process.dlopen` throws, it
// resolves no @flashgraph/cuda module and opens no addon, and its functions work.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as reference from '../src/reference.js';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const built = existsSync(`${dist}reference.js`) && existsSync(`${dist}reference.cjs`);

const CHILD = `
import { register, createRequire } from 'node:module';
const resolved = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => resolved.push(url));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(\`
  let port;
  export function initialize(data) { port = data.port; }
  export async function resolve(specifier, context, next) {
    const result = await next(specifier, context);
    port.postMessage(result.url);
    return result;
  }\`), { data: { port: port2 }, transferList: [port2] });
process.dlopen = () => { throw new Error('dlopen called'); };
const entry = process.argv[1];
// require() in Node 20 bypasses the ESM hooks: the CJS build's modules are read from require.cache.
const req = createRequire(import.meta.url);
const m = entry.endsWith('.cjs') ? req(entry) : await import(entry);
for (const file of Object.keys(req.cache)) resolved.push('file://' + file);
const plan = m.planSplits({ cuSeqlensQ: Int32Array.of(0, 1), seqLens: Int32Array.of(4096), numReqs: 1,
  numHeadsQ: 32, numHeadsKv: 8, headDim: 128, maxNumSplits: 32, numSplits: 0, maxSeqlenQ: 1, maxSeqlenK: 4096 });
const att = m.referenceAttention({ q: new Float32Array(4), kCache: new Float32Array(64), vCache: new Float32Array(64).fill(1),
  pageTable: Int32Array.of(0), cuSeqlensQ: Int32Array.of(0, 1), seqLens: Int32Array.of(3), numHeadsQ: 1, numHeadsKv: 1,
  headDim: 4, pageSize: 16, causal: true });
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ resolved, bound: plan.numSplitsBound, out: Array.from(att.out) }));
`;

const run = (entry: string) => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, entry], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { resolved: string[]; bound: number; out: number[] };
};

describe('@flashgraph/fa3/reference', () => {
  it('exports the host-only API (and the main entry re-exports all of it)', async () => {
    expect(Object.keys(reference).sort()).toEqual(
      [
        'DECODE_MAX_ROWS',
        'DEFAULT_SM_COUNT',
        'DTYPE_BYTES',
        'E4M3_MAX',
        'E4M3_NAN',
        'KV_CACHE_DTYPES',
        'decodeE4m3',
        'encodeE4m3',
        'kvCacheDtypeBytes',
        'FA3_NATIVE_ERROR_CODES',
        'Fa3Error',
        'HEAD_DIMS',
        'MAX_NUM_HEADS_KV',
        'MAX_NUM_HEADS_Q',
        'MAX_NUM_SPLITS',
        'MAX_SM_COUNT',
        'WGMMA_BY_DEFAULT',
        'WGMMA_HEAD_DIMS',
        'attentionCaps',
        'forwardKernel',
        'kernelRequestFromEnv',
        'mergeSplitsReference',
        'planSplits',
        'referenceAttention',
        'tileShape',
        'writeKvCacheReference',
      ].sort(),
    );
    const main = (await import('../src/index.js')) as Record<string, unknown>;
    for (const [key, value] of Object.entries(reference)) expect(main[key]).toBe(value);
    expect(Object.keys(main).sort()).toEqual([...Object.keys(reference), 'createAttention'].sort());
  });

  it.skipIf(!built)('imports without touching the addon or @flashgraph/cuda (ESM and CJS builds)', () => {
    for (const entry of [`${dist}reference.js`, `${dist}reference.cjs`]) {
      const r = run(entry);
      expect(r.bound).toBeGreaterThanOrEqual(1);
      expect(r.out).toEqual([1, 1, 1, 1]);
      expect(r.resolved.some((u) => u.includes('fa3'))).toBe(true);
      expect(r.resolved.filter((u) => /packages\/cuda\/|@flashgraph\/cuda|\.node$/.test(u))).toEqual([]);
    }
    // The control: the main entry (createAttention and the addon loader) resolves @flashgraph/cuda.
    expect(run(`${dist}index.js`).resolved.some((u) => /packages\/cuda\//.test(u))).toBe(true);
  });
});
