// loadHfModel's Model: what it declares to the engine, load progress, backends, close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHfModel, type WeightLoadProgress, writeTinyModel } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('loadHfModel', () => {
  it('declares shape, eos ids and backends, and reports each tensor load reads', async () => {
    const dir = join(root, 'qwen3');
    await writeTinyModel(dir, { architecture: 'Qwen3ForCausalLM', numLayers: 3 });
    const events: WeightLoadProgress[] = [];
    const model = await loadHfModel(dir, { onProgress: (e) => events.push(e) });
    expect(model.name).toBe('qwen3 (Qwen3ForCausalLM)');
    expect(model.backends).toEqual(['cpu']);
    expect(model.shape).toEqual({
      numLayers: 3,
      numHeadsQ: 4,
      numHeadsKv: 2,
      headDim: 64,
      hiddenSize: 128,
      vocabSize: model.tokenizer!.vocabSize,
      dtype: 'bf16',
      slidingWindow: null,
      maxPositions: 512,
    });
    expect(model.eosTokenIds).toEqual(model.config.eosTokenIds);
    expect(model.eosTokenIds.length).toBe(2);
    expect(events).toEqual([]); // nothing is read before load
    const loaded = model.load({ backend: 'cpu', device: 0, maxNumTokens: 4, maxNumReqs: 2 });
    const total = model.checkpoint.tensors.size;
    expect(events).toHaveLength(total);
    expect(events.at(-1)).toMatchObject({ loaded: total, total });
    expect(events.at(-1)!.bytesLoaded).toBe(events.at(-1)!.totalBytes);
    loaded.dispose();
    expect(() => model.load({ backend: 'cuda', device: 0, maxNumTokens: 4, maxNumReqs: 2 })).toThrow(
      expect.objectContaining({ code: 'unsupported_backend' }),
    );
    await model.close();
    expect(() => model.load({ backend: 'cpu', device: 0, maxNumTokens: 4, maxNumReqs: 2 })).toThrow(
      expect.objectContaining({ code: 'disposed' }),
    );
  });

  it('a folder without tokenizer.json still loads (token-id prompts)', async () => {
    const dir = join(root, 'llama');
    await writeTinyModel(dir, { architecture: 'LlamaForCausalLM' });
    rmSync(join(dir, 'tokenizer.json'));
    await using model = await loadHfModel(dir, { name: 'no tokenizer' });
    expect(model.tokenizer).toBeNull();
    expect(model.name).toBe('no tokenizer');
  });
});
