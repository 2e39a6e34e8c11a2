// The CUDA backend's availability report on a machine without a GPU (CI): the addon loads, says
// why CUDA is unavailable, reports where cuBLASLt was looked for, and a model then offers only the
// CPU backend and refuses a CUDA load with a typed error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cudaStatus } from '@flashgraph/cuda';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHfModel, modelsCudaStatus, writeTinyModel } from '../src/index.js';
import { loadModelsNative } from '../src/native.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-models-cuda-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const noDevice = !cudaStatus().available;

describe('modelsCudaStatus', () => {
  it('never throws and gives a reason whenever it is unavailable', () => {
    const s = modelsCudaStatus();
    expect(typeof s.available).toBe('boolean');
    if (!s.available) expect(s.reason).toMatch(/\S/);
  });

  it.runIf(loadModelsNative().addon !== null)('reports every cuBLASLt candidate and what to install', () => {
    const s = modelsCudaStatus();
    expect(s.addonPath).toMatch(/flashgraph_models\.node$/);
    const lt = s.cublasLt;
    expect(lt).not.toBeNull();
    expect(lt?.install).toMatch(/FLASHGRAPH_CUBLASLT/);
    expect(lt?.tried.length).toBeGreaterThan(0);
    if (!lt?.available) expect(lt?.reason).toMatch(/libcublasLt/);
  });

  it.runIf(loadModelsNative().addon !== null)(
    'FLASHGRAPH_CUBLASLT pointing at nothing is the reason, nothing else tried',
    async () => {
      const { execFileSync } = await import('node:child_process');
      const addon = loadModelsNative();
      if (!addon.addon) return;
      const out = execFileSync(
        process.execPath,
        ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addon.path)}).cublasLt()))`],
        { env: { ...process.env, FLASHGRAPH_CUBLASLT: join(root, 'missing.so') }, encoding: 'utf8' },
      );
      const lt = JSON.parse(out);
      expect(lt.available).toBe(false);
      expect(lt.reason).toContain('FLASHGRAPH_CUBLASLT');
      expect(lt.tried).toEqual([`${join(root, 'missing.so')} (not a file)`]);
    },
  );
});

describe.runIf(noDevice)('without a CUDA device', () => {
  it('a model offers the CPU backend only and a CUDA load is a typed error', async () => {
    const dir = join(root, 'tiny');
    await writeTinyModel(dir, { architecture: 'LlamaForCausalLM' });
    await using model = await loadHfModel(dir);
    expect(model.backends).toEqual(['cpu']);
    expect(() => model.load({ backend: 'cuda', device: 0, maxNumTokens: 8, maxNumReqs: 2 })).toThrow(
      expect.objectContaining({ code: 'unsupported_backend' }),
    );
  });
});
