// Pins the public API (named exports only) and the error codes it documents.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as models from '../src/index.js';

describe('@flashgraph/models public surface', () => {
  it('exports exactly these names', () => {
    expect(Object.keys(models).sort()).toEqual([
      'CHECKPOINT_DTYPES',
      'CheckpointError',
      'HfTokenizer',
      'LLAMA_ARCHITECTURES',
      'ModelConfigError',
      'ModelsError',
      'SUPPORTED_HEAD_DIMS',
      'SUPPORTED_ROPE_TYPES',
      'SUPPORTED_TOKENIZER_MODELS',
      'TokenizerError',
      'checkTensorSpecs',
      'llamaTensorSpecs',
      'loadHfModel',
      'modelsCudaStatus',
      'openCheckpoint',
      'parseLlamaConfig',
      'ropeInverseFrequencies',
      'ropePositionScale',
      'writeSafetensors',
      'writeTinyModel',
    ]);
  });

  it('every error code the package throws is listed in docs/errors.md', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(new URL('../src', import.meta.url).pathname);
    const codes = new Set<string>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:CheckpointError|ModelConfigError|TokenizerError|ModelsError)\(\s*'([a-z_]+)'/g))
        codes.add(m[1]!);
    }
    expect(codes.size).toBeGreaterThan(30);
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of codes) expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\|[^\\n]*\\(models\\)`));
  });
});
