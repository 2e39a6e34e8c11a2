import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfTokenizer } from '@flashgraph/models';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GenerateJsonLine } from '../src/commands/generate.js';
import { runCli } from '../src/run.js';

const cwd = mkdtempSync(join(tmpdir(), 'flashgraph-generate-'));

async function cli(argv: string[], options: { stream?: boolean } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const chunks: string[] = [];
  const code = await runCli(argv, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    ...(options.stream ? { write: (t: string) => chunks.push(t) } : {}),
    cwd,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), chunks };
}

const jsonLines = (stdout: string) => stdout.split('\n').map((l) => JSON.parse(l) as GenerateJsonLine);

describe('flashgraph make-tiny-model and generate', () => {
  beforeAll(async () => {
    const made = await cli(['make-tiny-model', 'tiny']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/wrote a tiny random-weight LlamaForCausalLM model to .*tiny: config.json/);
    const qwen = await cli(['make-tiny-model', 'tiny-qwen3', '--architecture', 'Qwen3ForCausalLM', '--shards', '2']);
    expect(qwen.code, qwen.stderr).toBe(0);
  });

  it('--json: one object per prompt per line with the documented fields', async () => {
    const r = await cli([
      'generate',
      '--model',
      'tiny',
      '--prompt',
      'Hello world',
      '--prompt-ids',
      '5,6,7',
      '--max-new-tokens',
      '6',
      '--json',
      '--logprobs',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no progress bar or summary when piped / --json
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(2);
    const tokenizer = await HfTokenizer.load(join(cwd, 'tiny'));
    expect(lines[0]?.promptTokenIds).toEqual(tokenizer.encode('Hello world'));
    expect(lines[1]?.promptTokenIds).toEqual([5, 6, 7]);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(
        [
          'backend',
          'finishReason',
          'logprobs',
          'model',
          'promptTokenIds',
          'schemaVersion',
          'seed',
          'text',
          'timings',
          'tokenIds',
        ].sort(),
      );
      expect(line.model).toMatch(/tiny \(LlamaForCausalLM\)/);
      expect(line.backend).toBe('cpu');
      expect(line.tokenIds.length).toBeGreaterThan(0);
      expect(line.tokenIds.length).toBeLessThanOrEqual(6);
      expect(line.logprobs).toHaveLength(line.tokenIds.length);
      for (const l of line.logprobs ?? []) expect(l).toBeLessThanOrEqual(0);
      expect(line.text).toBe(tokenizer.decode(line.tokenIds, { skipSpecialTokens: true }));
      expect(line.timings.loadMs).toBeGreaterThan(0);
      expect(line.timings.generateMs).toBeGreaterThanOrEqual(line.timings.firstTokenMs);
    }
    // Without --logprobs there are none.
    const plain = await cli([
      'generate',
      '--model',
      'tiny',
      '--prompt-ids',
      '5,6,7',
      '--max-new-tokens',
      '2',
      '--json',
    ]);
    expect(jsonLines(plain.stdout)[0]).not.toHaveProperty('logprobs');
  });

  it('greedy by default: the same tokens every run, alone or batched, in every graph mode', async () => {
    const run = async (...extra: string[]) =>
      jsonLines((await cli(['generate', '--model', 'tiny', '--max-new-tokens', '8', '--json', ...extra])).stdout).map(
        (l) => l.tokenIds,
      );
    const [alone] = await run('--prompt-ids', '10,20,30');
    const [other] = await run('--prompt-ids', '40,50');
    for (const mode of ['none', 'piecewise', 'full']) {
      expect(await run('--prompt-ids', '10,20,30', '--prompt-ids', '40,50', '--graph-mode', mode), mode).toEqual([
        alone,
        other,
      ]);
    }
  });

  it('--seed reproduces sampled text, whatever the batch', async () => {
    const args = [
      'generate',
      '--model',
      'tiny',
      '--max-new-tokens',
      '8',
      '--json',
      '--temperature',
      '1',
      '--seed',
      '7',
    ];
    const a = jsonLines((await cli([...args, '--prompt-ids', '1,2'])).stdout);
    const b = jsonLines((await cli([...args, '--prompt-ids', '9', '--prompt-ids', '1,2'])).stdout);
    expect(b[1]?.tokenIds).toEqual(a[0]?.tokenIds);
    expect(a[0]?.seed).toBe(7);
  });

  it('streams a single prompt to stdout as it is generated', async () => {
    const r = await cli(['generate', '--model', 'tiny', '--chat', 'Tell me a story', '--max-new-tokens', '24'], {
      stream: true,
    });
    expect(r.code, r.stderr).toBe(0);
    const json = await cli([
      'generate',
      '--model',
      'tiny',
      '--chat',
      'Tell me a story',
      '--max-new-tokens',
      '24',
      '--json',
    ]);
    const [line] = jsonLines(json.stdout);
    // Several pieces, written before the end; together the final text and a newline.
    expect(r.chunks.length).toBeGreaterThan(2);
    expect(r.chunks.at(-1)).toBe('\n');
    expect(r.chunks.join('')).toBe(`${line?.text}\n`);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/\[0\] \d+ tokens, finish: (length|stop)/);
    expect(r.stderr).toMatch(/tok\/s/);
  });

  it('runs the other architectures and prints each prompt of a batch', async () => {
    const r = await cli([
      'generate',
      '--model',
      'tiny-qwen3',
      '--prompt',
      'a',
      '--prompt',
      'b',
      '--max-new-tokens',
      '4',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[0\] .*\n\[1\] /s);
    expect(r.stderr).toMatch(/tiny-qwen3 \(Qwen3ForCausalLM\) on cpu/);
  });

  it.each<[string[], RegExp]>([
    [['--top-p', '0'], /^flashgraph generate: --top-p must be a finite number in \(0, 1\], got '0'/],
    [['--top-p', '1.5'], /--top-p must be a finite number in \(0, 1\], got '1.5'/],
    [['--temperature=-1'], /--temperature must be a finite number in \[0, inf\), got '-1'/],
    [['--temperature', '-1'], /Option '--temperature' argument is ambiguous/],
    [['--temperature', 'NaN'], /--temperature must be a number, got 'NaN'/],
    [['--temperature', 'Infinity'], /--temperature must be a number, got 'Infinity'/],
    [['--top-k', '1.5'], /--top-k: must be an integer \(got "1.5", allowed integer in \[0, /],
    [['--seed', '4294967296'], /--seed: must be an integer \(got "4294967296", allowed integer in \[0, 4294967295\]\)/],
    [['--max-new-tokens', '0'], /--max-new-tokens: must be an integer \(got "0", allowed integer in \[1, /],
    [['--graph-mode', 'fast'], /--graph-mode must be one of none, piecewise/],
    [['--backend', 'gpu'], /--backend: unknown backend \(got "gpu", allowed auto, cuda, cpu\)/],
    [['--prompt-ids', '1,,2'], /--prompt-ids must be a comma-separated list/],
    [['--prompt', ''], /--prompt is empty/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('bad flag %j: exit 2, one line naming it, before touching the model', async (flag, message) => {
    // The model folder does not exist: the flag is reported first, so nothing was loaded.
    const r = await cli(['generate', '--model', 'missing-folder', '--prompt', 'hi', ...flag]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it.each<[string[], RegExp]>([
    [['generate', '--prompt', 'hi'], /--model is required/],
    [['generate', '--model', 'tiny'], /a prompt is required/],
    [['generate', '--model', 'missing-folder', '--prompt', 'hi'], /--model must be a model folder/],
    [
      ['generate', '--model', 'tiny', '--prompt-ids', '1,99999'],
      /--prompt-ids: token id 99999 is outside the model's vocabulary/,
    ],
    [['make-tiny-model'], /DIR is required/],
    [['make-tiny-model', 'x', '--architecture', 'GPT2'], /--architecture must be one of LlamaForCausalLM/],
  ])('%j: exit 2 with one line', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});

describe('the README quick start', () => {
  it('runs its generate example on a tiny model (no download)', async () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
    const block = readme.match(/```sh\n((?:[^`]*\n)*?[^`]*flashgraph generate[^`]*)```/)?.[1];
    expect(block, 'a sh block with flashgraph generate').toBeDefined();
    const commands = (block as string)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('npx -y pnpm@10.34.9 flashgraph '));
    expect(commands.map((c) => c.split(' ')[4])).toEqual(['make-tiny-model', 'generate']);
    const dir = mkdtempSync(join(tmpdir(), 'flashgraph-readme-'));
    for (const command of commands) {
      // Shell words: plain or double-quoted.
      const words = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '').slice(4);
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(words, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd: dir });
      expect(code, `${command}\n${err.join('\n')}`).toBe(0);
      expect(out.join('').length).toBeGreaterThan(0);
    }
  });
});

describe('the weight-loading progress bar', () => {
  it('draws on a terminal and clears its line at the end; nothing when piped', async () => {
    const { progressLine, weightProgress } = await import('../src/report/progress-line.js');
    const written: string[] = [];
    const line = progressLine({ isTTY: true, columns: 80, write: (t) => written.push(t) }, 0);
    const bar = weightProgress(line, 'loading weights');
    bar?.({ loaded: 1, total: 2, bytesLoaded: 2 ** 20, totalBytes: 2 ** 21 });
    bar?.({ loaded: 2, total: 2, bytesLoaded: 2 ** 21, totalBytes: 2 ** 21 });
    expect(written[0]).toMatch(/^\rloading weights \[#{10}-{10}\] 1\/2 tensors, 1\.0\/2\.0 MiB/);
    expect(written.at(-1)).toBe('\r\x1b[K');
    expect(weightProgress(progressLine({ isTTY: false, write: () => {} }), 'x')).toBeUndefined();
    // A terminal that reports 0 columns still gets a bar, never a negative width.
    const narrow: string[] = [];
    weightProgress(
      progressLine({ isTTY: true, columns: 0, write: (t) => narrow.push(t) }),
      'x',
    )?.({
      loaded: 0,
      total: 1,
      bytesLoaded: 0,
      totalBytes: 0,
    });
    expect(narrow).toHaveLength(1);
  });
});

describe('generate on a model that cannot go on', () => {
  beforeAll(async () => {
    const made = await cli(['make-tiny-model', 'tiny-nan']);
    expect(made.code, made.stderr).toBe(0);
    // One NaN in the final norm's weight (a corrupt checkpoint): every logit of every row is NaN.
    const path = join(cwd, 'tiny-nan', 'model.safetensors');
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const norm = header['model.norm.weight'] as { dtype: string; data_offsets: [number, number] };
    const at = 8 + headerLength + norm.data_offsets[0];
    if (norm.dtype === 'BF16') bytes.writeUInt16LE(0x7fc0, at);
    else if (norm.dtype === 'F16') bytes.writeUInt16LE(0x7e00, at);
    else bytes.writeFloatLE(Number.NaN, at);
    writeFileSync(path, bytes);
  });

  it("a prompt plus --max-new-tokens past the model's max_position_embeddings: exit 2 naming the most that fits", async () => {
    // The tiny model has 512 positions; a 3-token prompt can take 510 new tokens (3 + 510 - 1).
    const r = await cli(['generate', '--model', 'tiny-nan', '--prompt-ids', '1,2,3', '--max-new-tokens', '600']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--max-new-tokens 600 .* the model has 512 .*use --max-new-tokens <= 510/);
  });

  it("non-finite logits: finish reason 'error', the reason on stderr and in --json, exit 1", async () => {
    const r = await cli(['generate', '--model', 'tiny-nan', '--prompt-ids', '1,2,3', '--max-new-tokens', '4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/0 tokens, finish: error/);
    expect(r.stderr).toMatch(/failed: .*logits for token position 3 are not finite/);
    const j = await cli(['generate', '--model', 'tiny-nan', '--prompt-ids', '1,2,3', '--json']);
    expect(j.code).toBe(1);
    const [line] = jsonLines(j.stdout);
    expect(line!.finishReason).toBe('error');
    expect(line!.tokenIds).toEqual([]);
    expect(line!.error).toMatch(/not finite/);
  });
});
