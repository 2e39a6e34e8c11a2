// `@flashgraph/attn-metadata/host` loads no native code: imported (from the build, as a user
// would) in a fresh Node process whose module resolution is recorded and whose `process.dlopen`
// throws, it resolves no @flashgraph/cuda module and opens no addon, and its builder works.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as host from '../src/host.js';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const built = existsSync(`${dist}host.js`) && existsSync(`${dist}host.cjs`);

// Runs in the child: records every resolved module, forbids dlopen, imports the entry, uses it.
const CHILD = `
import { register } from 'node:module';
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
const req = (await import('node:module')).createRequire(import.meta.url);
const m = entry.endsWith('.cjs') ? req(entry) : await import(entry);
for (const file of Object.keys(req.cache)) resolved.push('file://' + file);
const builder = m.createHostMetadataBuilder({
  maxNumReqs: 2, maxNumTokens: 8, blockSize: 4, numBlocks: 8, maxBlocksPerReq: 2,
  graphConfig: { captureSizes: [1, 2], maxCaptureSize: 2, maxNumSplits: 4, uniformDecodeQueryLen: 1, hasFullGraphs: true, fullGraphsFor: 'all', piecewise: false, maxNumSeqs: 8 },
  attention: { options: { numHeadsQ: 4, numHeadsKv: 1, headDim: 64, pageSize: 4, numPages: 8, maxNumReqs: 2, maxNumTokens: 8, maxNumPagesPerReq: 2, maxNumSplits: 4 } },
});
const meta = builder.stage({ requests: [{ numNewTokens: 1, numComputedTokens: 3, blockIds: [5] }] });
const d = m.describe(meta);
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ resolved, fullGraph: meta.fullGraph, numSplits: meta.numSplits, splits: d.splitsPerRequest }));
`;

describe('@flashgraph/attn-metadata/host', () => {
  it('exports the host-only API (and the main entry re-exports all of it)', async () => {
    expect(Object.keys(host).sort()).toEqual(
      [
        'MetadataError',
        'NEUTRAL_BLOCK_ID',
        'NEUTRAL_POSITION',
        'NEUTRAL_SEQ_LEN',
        'NEUTRAL_SLOT',
        'createHostMetadataBuilder',
        'createHostMirror',
        'describe',
        'forwardArgs',
        'isFullGraphStep',
        'metadataLayout',
        'scheduleArgs',
        'stepOptionsFromPlan',
      ].sort(),
    );
    const main = await import('../src/index.js');
    for (const key of Object.keys(host))
      expect((main as Record<string, unknown>)[key]).toBe((host as Record<string, unknown>)[key]);
  });

  it.skipIf(!built)('imports without touching the addon or @flashgraph/cuda (ESM and CJS builds)', () => {
    for (const entry of [`${dist}host.js`, `${dist}host.cjs`]) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, entry], { encoding: 'utf8' });
      const result = JSON.parse(out.trim().split('\n').at(-1)!);
      expect(result).toMatchObject({ fullGraph: true, numSplits: 4, splits: [1] });
      const urls: string[] = result.resolved;
      expect(urls.some((u) => u.includes('attn-metadata'))).toBe(true);
      expect(urls.filter((u) => /packages\/cuda\/|@flashgraph\/cuda|\.node$/.test(u))).toEqual([]);
    }
    // The control: the main entry (the CUDA builder) does resolve @flashgraph/cuda.
    const main = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, `${dist}index.js`], {
      encoding: 'utf8',
    });
    const urls: string[] = JSON.parse(main.trim().split('\n').at(-1)!).resolved;
    expect(urls.some((u) => /packages\/cuda\//.test(u))).toBe(true);
  });
});
