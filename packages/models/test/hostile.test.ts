// Hostile input (issue 17): random hostile values thrown at the package's public functions. Each
// call gives a valid result or a typed FlashgraphError that says where the problem is; none
// crashes, hangs or leaves a good model unusable afterwards.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlashgraphError, isFlashgraphError } from '@flashgraph/errors';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  llamaTensorSpecs,
  loadHfModel,
  openCheckpoint,
  parseLlamaConfig,
  ropeInverseFrequencies,
  writeTinyModel,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-hostile-'));
const good = join(root, 'good');
let goodConfig: Record<string, unknown>;
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await writeTinyModel(good, { architecture: 'Qwen3ForCausalLM', seed: 5 });
  goodConfig = JSON.parse(readFileSync(join(good, 'config.json'), 'utf8'));
});

const hostile = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    -1,
    0.5,
    2 ** 31,
    2 ** 53,
    null,
    undefined,
    '',
    '__proto__',
    [],
    {},
    true,
  ),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer(), { maxLength: 4 }),
);

/** A typed error with a code and a place, or a normal return. */
function typedOrValid<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (!isFlashgraphError(error)) throw new Error(`not a FlashgraphError: ${String(error)}`, { cause: error });
    expect(error.code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
    expect(typeof error.path === 'string' && error.path.length > 0).toBe(true);
    return undefined;
  }
}

async function typedOrValidAsync<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (!isFlashgraphError(error)) throw new Error(`not a FlashgraphError: ${String(error)}`, { cause: error });
    expect(typeof error.path === 'string' && error.path.length > 0).toBe(true);
    return undefined;
  }
}

describe('hostile input: @flashgraph/models', () => {
  it('parseLlamaConfig: one field of a good config replaced by a hostile value', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(goodConfig), '__proto__', 'constructor', 'rope_parameters'),
        hostile,
        (key, value) => {
          const config = JSON.parse(JSON.stringify(goodConfig)) as Record<string, unknown>;
          Object.defineProperty(config, key, { value, enumerable: true, configurable: true, writable: true });
          const parsed = typedOrValid(() => parseLlamaConfig(config));
          if (parsed) {
            // A config that parses is one the model code can size: every derived count is sane.
            const specs = llamaTensorSpecs(parsed);
            for (const spec of specs) for (const d of spec.shape) expect(Number.isSafeInteger(d) && d > 0).toBe(true);
            expect(ropeInverseFrequencies(parsed).every(Number.isFinite)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parseLlamaConfig: wholly hostile inputs', () => {
    fc.assert(
      fc.property(hostile, hostile, (config, generation) => {
        typedOrValid(() => parseLlamaConfig(config, generation));
      }),
      { numRuns: 200 },
    );
  });

  it('openCheckpoint: hostile folder arguments and random safetensors headers', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (dir) => {
        await typedOrValidAsync(() => openCheckpoint(dir as string));
      }),
      { numRuns: 60 },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.oneof(fc.json(), fc.string({ maxLength: 64 })),
        fc.uint8Array({ maxLength: 64 }),
        async (length, header, data) => {
          const dir = join(root, `random-${n++}`);
          const prefix = Buffer.alloc(8);
          prefix.writeBigUInt64LE(length);
          const { mkdirSync } = await import('node:fs');
          mkdirSync(dir);
          writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([prefix, Buffer.from(header), data]));
          const checkpoint = await typedOrValidAsync(() => openCheckpoint(dir));
          await checkpoint?.close();
        },
      ),
      { numRuns: 80 },
    );
  });

  it('writeTinyModel and loadHfModel: hostile options, then the good model still loads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('architecture', 'seed', 'configLayout', 'dtype', 'shards', '__proto__', 'bogus'),
        hostile,
        async (key, value) => {
          const options: Record<string, unknown> = { architecture: 'LlamaForCausalLM' };
          Object.defineProperty(options, key, { value, enumerable: true, configurable: true, writable: true });
          await typedOrValidAsync(() => writeTinyModel(join(root, `tiny-${key}`), options as never));
        },
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('name', 'onProgress', 'constructor', 'bogus'), hostile, async (key, value) => {
        const options: Record<string, unknown> = {};
        Object.defineProperty(options, key, { value, enumerable: true, configurable: true, writable: true });
        const model = await typedOrValidAsync(() => loadHfModel(good, options as never));
        await model?.close();
      }),
      { numRuns: 40 },
    );
    const model = await loadHfModel(good);
    expect(model.shape.numLayers).toBeGreaterThan(0);
    await model.close();
    expect(new FlashgraphError({ code: 'x', problem: 'y' })).toBeInstanceOf(FlashgraphError);
  });
});
