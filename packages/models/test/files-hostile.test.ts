// Hostile model folders: a directory, a named pipe or a huge file where a file should be is a
// typed error naming the file, at once (a pipe's open would block forever); writeTinyModel checks
// its folder before writing and never leaves a half-written or mixed model behind.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@flashgraph/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_FILE_BYTES, readJsonTextFile } from '../src/files.js';
import {
  CheckpointError,
  HfTokenizer,
  loadHfModel,
  ModelConfigError,
  type ModelsError,
  openCheckpoint,
  TokenizerError,
  writeTinyModel,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'flashgraph-files-hostile-'));
const single = join(root, 'single');
const sharded = join(root, 'sharded');
const INDEX = 'model.safetensors.index.json';
const SHARD = 'model-00002-of-00003.safetensors';
const fifos: string[] = [];

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
  fifos.push(path);
}
const hasMkfifo = (() => {
  try {
    execFileSync('mkfifo', [join(root, 'probe')]);
    rmSync(join(root, 'probe'));
    return true;
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  await writeTinyModel(single, { architecture: 'LlamaForCausalLM', seed: 2 });
  await writeTinyModel(sharded, { architecture: 'Qwen3ForCausalLM', seed: 2, shards: 3 });
});
afterAll(() => {
  // Should a regression leave a reader blocked in open(), a writer end releases it.
  for (const path of fifos) {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting: nothing to release
    }
  }
  rmSync(root, { recursive: true, force: true });
});

let cases = 0;
/** A copy of a good model folder with one file replaced by `make(path)`. */
function withReplaced(source: string, file: string, make: (path: string) => void): string {
  const dir = join(root, `case-${cases++}`);
  cpSync(source, dir, { recursive: true });
  rmSync(join(dir, file));
  make(join(dir, file));
  return dir;
}

async function failure(promise: Promise<{ close(): Promise<void> }>): Promise<unknown> {
  return promise.then(
    async (value) => {
      await value.close();
      return null;
    },
    (e: unknown) => e,
  );
}

describe('something other than a regular file where a model file should be', () => {
  const kinds: [string, (path: string) => void][] = [
    ['a directory', (path) => mkdirSync(path)],
    ['a named pipe', (path) => mkfifo(path)],
  ];
  describe.each(kinds)('%s', (kind, make) => {
    const skip = kind === 'a named pipe' && !hasMkfifo;
    it.skipIf(skip).each<[string, string, string, new (...args: never[]) => ModelsError]>([
      ['model.safetensors', 'single', 'model.safetensors', CheckpointError],
      ['a shard', 'sharded', SHARD, CheckpointError],
      ['the shard index', 'sharded', INDEX, CheckpointError],
      ['config.json', 'single', 'config.json', ModelConfigError],
      ['generation_config.json (optional)', 'single', 'generation_config.json', ModelConfigError],
      ['tokenizer.json', 'single', 'tokenizer.json', TokenizerError],
      ['tokenizer_config.json', 'single', 'tokenizer_config.json', TokenizerError],
    ])('%s: a typed error naming the file, at once', async (_, source, file, type) => {
      const dir = withReplaced(source === 'single' ? single : sharded, file, make);
      const error = await failure(loadHfModel(dir));
      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({
        code: 'not_regular_file',
        file,
        value: kind === 'a directory' ? 'a directory' : 'a named pipe (FIFO)',
      });
      expect((error as Error).message).toContain(file);
      if (type === CheckpointError) {
        await expect(openCheckpoint(dir)).rejects.toMatchObject({ code: 'not_regular_file', file });
      }
      if (type === TokenizerError) {
        await expect(HfTokenizer.load(dir)).rejects.toMatchObject({ code: 'not_regular_file', file });
      }
    });
  });

  it('a symbolic link to a regular file inside the folder is fine (stat follows it)', async () => {
    const dir = withReplaced(single, 'config.json', (path) => symlinkSync(join(single, 'config.json'), path));
    cpSync(join(single, 'model.safetensors'), join(dir, 'weights.bin'));
    rmSync(join(dir, 'model.safetensors'));
    symlinkSync('weights.bin', join(dir, 'model.safetensors'));
    await using model = await loadHfModel(dir);
    expect(model.checkpoint.readFloat32Sync('model.norm.weight')).toHaveLength(128);
  });

  it.skipIf(!hasMkfifo)('a symbolic link to a named pipe is refused too', async () => {
    const pipe = join(root, `pipe-${cases}`);
    mkfifo(pipe);
    const dir = withReplaced(single, 'generation_config.json', (path) => symlinkSync(pipe, path));
    await expect(loadHfModel(dir)).rejects.toMatchObject({ code: 'not_regular_file', file: 'generation_config.json' });
  });
});

describe('JSON files are read whole only up to a bound', () => {
  it.each([
    ['config.json', single, ModelConfigError],
    ['generation_config.json', single, ModelConfigError],
    [INDEX, sharded, CheckpointError],
  ] as const)('%s above the bound: file_too_large before reading it', async (file, source, type) => {
    // A sparse file: its size is above the bound without writing 64 MiB.
    const dir = withReplaced(source, file, (path) => {
      writeFileSync(path, '{}');
      truncateSync(path, MAX_JSON_FILE_BYTES + 1);
    });
    const error = await failure(loadHfModel(dir));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code: 'file_too_large', file, value: MAX_JSON_FILE_BYTES + 1 });
    expect((error as Error).message).toContain(`at most ${MAX_JSON_FILE_BYTES} bytes`);
  });

  const errorFor = (code: string, problem: string, details: object) =>
    new ModelConfigError(code, 'x.json', problem, details);

  it('readJsonTextFile: the text, null when missing, and the bound on what is read', async () => {
    const path = join(root, 'small.json');
    writeFileSync(path, '{"a": "\u00e9"}');
    expect(await readJsonTextFile(path, { errorFor })).toBe('{"a": "\u00e9"}');
    expect(await readJsonTextFile(join(root, 'absent.json'), { errorFor })).toBeNull();
    expect(await readJsonTextFile(join(path, 'under-a-file.json'), { errorFor })).toBeNull();
    await expect(readJsonTextFile(path, { errorFor, maxBytes: 4 })).rejects.toMatchObject({
      code: 'file_too_large',
      file: 'x.json',
    });
  });

  it.runIf(process.platform === 'linux')('a file whose size says 0 is still read only up to the bound', async () => {
    // /proc files report size 0 and hold more: the reader trusts what it reads, not the stat.
    expect(statSync('/proc/self/status').size).toBe(0);
    await expect(readJsonTextFile('/proc/self/status', { errorFor, maxBytes: 16 })).rejects.toMatchObject({
      code: 'file_too_large',
      value: 17,
    });
    expect(await readJsonTextFile('/proc/self/status', { errorFor })).toMatch(/^Name:/);
  });

  it('a device where a file should be is refused without reading it', async () => {
    await expect(readJsonTextFile('/dev/zero', { errorFor })).rejects.toMatchObject({
      code: 'not_regular_file',
      value: 'a character device',
    });
  });
});

describe('writeTinyModel checks its folder before writing anything', () => {
  const options = { architecture: 'LlamaForCausalLM' } as const;

  it.each<[unknown, string]>([
    [undefined, 'invalid_type'],
    [5, 'invalid_type'],
    ['', 'invalid_type'],
    ['a\0b', 'invalid_value'],
  ])('dir %j: InvalidArgumentError naming dir', async (dir, code) => {
    await expect(writeTinyModel(dir as string, options)).rejects.toMatchObject({ code, path: 'dir' });
  });

  it('an existing file, or a path under one', async () => {
    const file = join(single, 'config.json');
    const before = readFileSync(file);
    for (const dir of [file, join(file, 'below')]) {
      const error = await writeTinyModel(dir, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'invalid_value', path: 'dir', value: dir });
    }
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a folder that holds a model is refused and left as it was; overwrite replaces it', async () => {
    const dir = join(root, 'replace');
    cpSync(sharded, dir, { recursive: true });
    writeFileSync(join(dir, 'README.md'), 'mine');
    const listing = readdirSync(dir).sort();
    const error = await writeTinyModel(dir, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'invalid_value', path: 'dir' });
    expect((error as Error).message).toMatch(/already holds a model \(config\.json, .*\).*overwrite: true/);
    expect(readdirSync(dir).sort()).toEqual(listing);
    await expect(writeTinyModel(dir, { ...options, overwrite: 'yes' } as never)).rejects.toMatchObject({
      code: 'invalid_type',
      path: 'options.overwrite',
    });

    // The old index and shards go (the loader would prefer the index); other files stay.
    const written = await writeTinyModel(dir, { ...options, overwrite: true });
    expect(readdirSync(dir).sort()).toEqual([...written.files, 'README.md'].sort());
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('mine');
    await using model = await loadHfModel(dir);
    expect(model.config.architecture).toBe('LlamaForCausalLM');
    expect(new Set([...model.checkpoint.tensors.values()].map((t) => t.file))).toEqual(new Set(['model.safetensors']));
  });

  it('overwrite never removes a folder named like a model file', async () => {
    const dir = join(root, 'folder-named-model');
    mkdirSync(join(dir, 'model.safetensors'), { recursive: true });
    writeFileSync(join(dir, 'model.safetensors', 'keep'), 'x');
    await expect(writeTinyModel(dir, { ...options, overwrite: true })).rejects.toMatchObject({
      code: 'invalid_value',
      path: 'dir',
    });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(readdirSync(join(dir, 'model.safetensors'))).toEqual(['keep']);
  });

  it('an empty folder, or one holding other files, is written into; nothing is left of the staging', async () => {
    const dir = join(root, 'other-files');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const written = await writeTinyModel(dir, { ...options, shards: 2 });
    expect(readdirSync(dir).sort()).toEqual([...written.files, 'notes.txt'].sort());
    const fresh = join(root, 'new', 'nested');
    await writeTinyModel(fresh, options);
    expect(readdirSync(fresh).some((name) => name.startsWith('.'))).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)('a folder that cannot be written: typed, and nothing created', async () => {
    const locked = join(root, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    for (const dir of [locked, join(locked, 'a', 'b')]) {
      await expect(writeTinyModel(dir, options)).rejects.toMatchObject({ code: 'invalid_value', path: 'dir' });
    }
    expect(readdirSync(locked)).toEqual([]);
  });
});
