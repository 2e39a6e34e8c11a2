import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { padToCaptureSize, resolveGraphConfig } from '@flashgraph/config';
import { formatBytes } from '@flashgraph/errors';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../src/command.js';
import { buildCapturePlan, paddingStats } from '../src/plan.js';
import { runCli } from '../src/run.js';

const dir = mkdtempSync(join(tmpdir(), 'flashgraph-plan-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += `${text}\n`;
    },
    stderr: (text) => {
      stderr += `${text}\n`;
    },
    cwd: dir,
  });
  return { code, stdout, stderr };
}

describe('flashgraph plan: output', () => {
  it('prints the plan for the defaults (what the README demo runs)', async () => {
    const { code, stdout, stderr } = await cli('plan');
    expect(code).toBe(EXIT_OK);
    expect(stderr).toBe('');
    expect(stdout).toContain('mode                      full_and_piecewise\n');
    expect(stdout).toContain('  maxNumSeqs              256\n');
    expect(stdout).toContain('  maxNumBatchedTokens     8192\n');
    expect(stdout).toContain('warnings                  none\n');
    expect(stdout).toContain('capture sizes             51 sizes, 1..512 tokens, 1 warm-up run each before capture\n');
    expect(stdout).toContain('  1 2 4 8 16 24 32 ');
    expect(stdout).toContain('  steps of 513..8192 tokens run eagerly (93.8% of batch sizes 1..8192)\n');
    expect(stdout).toContain('split-KV workspace        4.03 GiB (4328521728 bytes)\n');
    expect(stdout).toContain('  4 B x 32 splits x 32 query heads x 8192 tokens x (head dim 128 + 1)');
  });

  it('shows the resolved mode next to the requested one, and every warning', async () => {
    const { code, stdout } = await cli(
      'plan',
      '--mode',
      'full',
      '--cudagraph-support',
      'uniform_batch',
      '--capture-sizes',
      '1,2,4,9000',
    );
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain("mode                      full_and_piecewise (requested 'full')\n");
    expect(stdout).toContain('warnings (2)\n');
    expect(stdout).toContain(
      "  - mode: mode 'full' needs cudagraphSupport 'always' (full graphs for mixed prefill/decode batches), but the backend declares 'uniform_batch'",
    );
    expect(stdout).toContain(
      '  - captureSizes: capture sizes 9000 dropped: above maxNumBatchedTokens 8192, so no step could use them [capture_sizes_dropped]\n',
    );
    expect(stdout).toContain('capture sizes             3 sizes, 1..4 tokens');
  });

  it('reports padding waste exactly', async () => {
    const { stdout } = await cli('plan', '--capture-sizes', '1,4', '--max-num-batched-tokens', '8');
    // n = 1..4 pads to 1, 4, 4, 4: waste 0 + 2 + 1 + 0 = 3 over 4 sizes; replayed 13 tokens.
    expect(stdout).toContain('  mean waste              0.75 tokens per step (23.1% of replayed tokens)\n');
    expect(stdout).toContain('  worst step              2 tokens (2 -> 4)\n');
    expect(stdout).toContain('  steps of 5..8 tokens run eagerly (50.0% of batch sizes 1..8)\n');
  });

  it("says every step runs eagerly in mode 'none'", async () => {
    const { code, stdout } = await cli('plan', '--mode', 'none');
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('capture sizes             none: every step runs eagerly\n');
    expect(stdout).not.toContain('padding');
  });

  it('takes the model shape for the split workspace', async () => {
    const { stdout } = await cli(
      'plan',
      '--max-num-splits',
      '8',
      '--num-heads-q',
      '64',
      '--head-dim',
      '64',
      '--max-num-tokens',
      '1024',
    );
    expect(stdout).toContain(
      `split-KV workspace        ${formatBytes(4 * 8 * 64 * 1024 * 65)} (${4 * 8 * 64 * 1024 * 65} bytes)\n`,
    );
  });

  it('passes every context flag through', async () => {
    const { code, stdout } = await cli(
      'plan',
      '--max-num-seqs',
      '4',
      '--max-num-batched-tokens',
      '64',
      '--uniform-decode-query-len',
      '2',
      '--cudagraph-support',
      'uniform_batch',
      '--no-aot-scheduling',
      '--max-aot-batch',
      '16',
      '--no-piecewise',
      '--mode',
      'full_decode_only',
      '--num-warmups',
      '2',
    );
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(
      "  backend                 cudagraphSupport 'uniform_batch', AoT scheduling no, maxAotBatch 16\n",
    );
    expect(stdout).toContain('  piecewise capture       not supported\n');
    expect(stdout).toContain('  full graphs             uniform decode batches (2 query tokens per request)\n');
    // max = 2 x 4 x 2 = 16; ladder 1 2 4 8 16 rounded up to multiples of 2.
    expect(stdout).toContain(
      'capture sizes             4 sizes, 1..16 tokens, 2 warm-up runs each before capture\n  2 4 8 16\n',
    );
  });

  it('--json prints the resolved config with the plan numbers under "plan"', async () => {
    const { code, stdout } = await cli('plan', '--json', '--max-num-seqs', '4', '--max-num-batched-tokens', '64');
    expect(code).toBe(EXIT_OK);
    const json = JSON.parse(stdout);
    const expected = resolveGraphConfig({}, { maxNumSeqs: 4, maxNumBatchedTokens: 64 });
    expect(json.schemaVersion).toBe(1);
    expect({ ...json, schemaVersion: undefined, plan: undefined }).toEqual({
      ...expected,
      schemaVersion: undefined,
      plan: undefined,
    });
    expect(json.plan.context).toEqual({
      maxNumSeqs: 4,
      maxNumBatchedTokens: 64,
      uniformDecodeQueryLen: 1,
      backend: { cudagraphSupport: 'always', aotScheduling: true },
      supportsPiecewise: true,
    });
    expect(json.plan.splitWorkspace).toEqual({
      bytes: 4 * 32 * 32 * 64 * 129,
      maxNumSplits: 32,
      numHeadsQ: 32,
      maxNumTokens: 64,
      headDim: 128,
    });
    expect(json.plan.padding.batchSizes).toBe(8);
  });

  it('reads a config file (relative to the working directory), flags override it', async () => {
    writeFileSync(
      join(dir, 'graphs.json'),
      JSON.stringify({ $schema: './schema.json', mode: 'piecewise', captureSizes: [1, 2, 3], numWarmups: 3 }),
    );
    const fromFile = await cli('plan', '--config', 'graphs.json', '--json');
    expect(fromFile.code).toBe(EXIT_OK);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ mode: 'piecewise', captureSizes: [1, 2, 3], numWarmups: 3 });
    const overridden = await cli('plan', '-c', 'graphs.json', '--capture-sizes', '8,16', '--json');
    expect(JSON.parse(overridden.stdout)).toMatchObject({ mode: 'piecewise', captureSizes: [8, 16], numWarmups: 3 });
  });

  it('--full-cuda-graph is the legacy spelling of --mode full', async () => {
    const { stdout } = await cli('plan', '--full-cuda-graph', '--json');
    const json = JSON.parse(stdout);
    expect(json.mode).toBe('full');
    expect(json.warnings.map((w: { code: string }) => w.code)).toEqual(['deprecated_option']);
  });
});

describe('flashgraph plan: invalid input exits with 2', () => {
  it('prints every problem of the ConfigError on one line, each with the flag that sets it', async () => {
    const { code, stdout, stderr } = await cli(
      'plan',
      '--max-num-seqs',
      '0',
      '--capture-sizes',
      '1,x,-4',
      '--mode',
      'fulll',
    );
    expect(code).toBe(EXIT_USAGE);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      [
        'flashgraph plan: invalid configuration (4 problems): ',
        'mode (--mode) = "fulll": ',
        "must be one of 'none', 'piecewise', 'full', 'full_decode_only', 'full_and_piecewise'; ",
        "fix: did you mean 'full'? Otherwise set mode to one of those, or remove it for the default 'full_and_piecewise' | ",
        'captureSizes[1] (--capture-sizes) = "x": must be an integer in [1, 2147483647] (a token count); ',
        'fix: remove it or replace it with an integer in [1, 2147483647] | ',
        'captureSizes[2] (--capture-sizes) = -4: must be an integer in [1, 2147483647] (a token count); ',
        'fix: remove it or replace it with an integer in [1, 2147483647] | ',
        'context.maxNumSeqs (--max-num-seqs) = 0: ',
        'must be an integer in [1, 2147483647] (the most requests in one step); ',
        'fix: set maxNumSeqs to the scheduler limit, e.g. 256\n',
      ].join(''),
    );
  });

  it('with --json also prints the issues as JSON on stdout', async () => {
    const { code, stdout } = await cli('plan', '--json', '--max-num-splits', '1000');
    expect(code).toBe(EXIT_USAGE);
    expect(JSON.parse(stdout)).toEqual({
      schemaVersion: 1,
      error: {
        code: 'invalid_config',
        issues: [
          {
            code: 'invalid_value',
            path: 'maxNumSplits',
            value: 1000,
            rule: 'must be an integer from 1 to 256',
            fix: 'set maxNumSplits to an integer from 1 to 256, or remove it for the default 32',
          },
        ],
      },
    });
  });

  it.each([
    [['plan', '--mode', 'full', '--no-aot-scheduling'], "mode 'full' needs AoT scheduling"],
    [
      ['plan', '--cudagraph-support', 'never', '--mode', 'full_decode_only'],
      "the backend declares cudagraphSupport 'never'",
    ],
    [['plan', '--mode', 'full', '--max-aot-batch', '256'], 'maxAotBatch 256'],
    [
      ['plan', '--capture-sizes', '4,8', '--max-capture-size', '16'],
      'maxCaptureSize 16 must equal the largest of captureSizes, 8',
    ],
    [['plan', '--capture-sizes', ''], 'must list at least one capture size'],
    [
      ['plan', '--mode', 'piecewise', '--full-cuda-graph'],
      "fullCudaGraph: true means mode 'full', which contradicts mode 'piecewise'",
    ],
    [
      ['plan', '--cudagraph-support', 'sometimes'],
      'context.backend.cudagraphSupport (--cudagraph-support) = "sometimes"',
    ],
    [['plan', '--max-num-batched-tokens', '1e3.5'], 'context.maxNumBatchedTokens (--max-num-batched-tokens) = "1e3.5"'],
  ])('%o', async (argv, text) => {
    const { code, stderr } = await cli(...argv);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(text);
  });

  it.each([
    [['plan', '--bogus'], "flashgraph plan: Unknown option '--bogus'"],
    [['plan', 'extra'], 'flashgraph plan: Unexpected argument'],
    [['plan', '--max-num-seqs'], "flashgraph plan: Option '--max-num-seqs <value>' argument missing"],
    [['plan', '--head-dim', '0'], 'flashgraph plan: --head-dim: must be a positive integer (got "0")'],
    [['plan', '--num-heads-q', 'many'], 'flashgraph plan: --num-heads-q: must be a positive integer (got "many")'],
    [['plan', '--max-num-tokens', '1.5'], 'flashgraph plan: --max-num-tokens: must be a positive integer (got "1.5")'],
    [['plan', '--config', 'missing.json'], 'flashgraph plan: --config: cannot read missing.json: no such file'],
    [
      ['plan', '--head-dim', '9007199254740991'],
      'flashgraph plan: --num-heads-q/--head-dim/--max-num-tokens: shape.headDim: out of range',
    ],
  ])('usage error %o', async (argv, text) => {
    const { code, stderr } = await cli(...argv);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(text);
    // One line, ending with where to look; no stack trace.
    expect(stderr).toMatch(/^[^\n]*\(see 'flashgraph plan --help'\)\n$/);
  });

  it('rejects a config file that is not JSON, or not an object', async () => {
    writeFileSync(join(dir, 'broken.json'), '{ mode: full }');
    const broken = await cli('plan', '--config', 'broken.json');
    expect(broken.code).toBe(EXIT_USAGE);
    expect(broken.stderr).toContain('flashgraph plan: --config: broken.json is not valid JSON: ');
    writeFileSync(join(dir, 'list.json'), '[1, 2]');
    const list = await cli('plan', '--config', 'list.json');
    expect(list.code).toBe(EXIT_USAGE);
    expect(list.stderr).toContain('(config) = [1,2]: must be an object');
    writeFileSync(join(dir, 'typo.json'), '{ "capture_sizes": [1, 2] }');
    const typo = await cli('plan', '--config', 'typo.json');
    expect(typo.stderr).toContain('capture_sizes = [1,2]: ');
    expect(typo.stderr).toContain('fix: rename it to captureSizes');
    for (const r of [broken, list, typo]) expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('flashgraph: dispatcher', () => {
  it('plan --help lists every option', async () => {
    const { code, stdout } = await cli('plan', '--help');
    expect(code).toBe(EXIT_OK);
    for (const flag of [
      '--config',
      '--mode',
      '--capture-sizes',
      '--max-capture-size',
      '--max-num-splits',
      '--num-warmups',
      '--full-cuda-graph',
      '--max-num-seqs',
      '--max-num-batched-tokens',
      '--uniform-decode-query-len',
      '--cudagraph-support',
      '--no-aot-scheduling',
      '--max-aot-batch',
      '--no-piecewise',
      '--num-heads-q',
      '--head-dim',
      '--max-num-tokens',
      '--json',
      '--help',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it.each([['--help'], ['-h'], ['help']])('%s lists the commands', async (flag) => {
    const { code, stdout } = await cli(flag);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('Usage: flashgraph <command> [options]');
    expect(stdout).toMatch(/\n {2}plan +Resolve a CUDA graph configuration and print the capture plan\n/);
  });

  it('no command: help on stderr, exit 2', async () => {
    const { code, stderr } = await cli();
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain('Usage: flashgraph <command> [options]');
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await cli('--version');
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('unknown command: exit 2', async () => {
    const { code, stderr } = await cli('plna');
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain("flashgraph: unknown command 'plna'. Commands: plan");
    expect((await cli('toString')).code).toBe(EXIT_USAGE);
  });

  it('a command that throws unexpectedly exits 1 with the error, never crashes', async () => {
    let stderr = '';
    const code = await runCli(
      ['boom'],
      { stdout: () => {}, stderr: (t) => (stderr += t), cwd: dir },
      {
        boom: {
          summary: 'x',
          load: async () => ({
            run: () => {
              throw new Error('kaput');
            },
          }),
        },
      },
    );
    expect(code).toBe(EXIT_FAILURE);
    expect(stderr).toBe('flashgraph boom: failed: kaput (--verbose prints the stack trace)');
    let verbose = '';
    await runCli(
      ['boom', '--verbose'],
      { stdout: () => {}, stderr: (t) => (verbose += t), cwd: dir },
      { boom: { summary: 'x', load: async () => ({ run: () => Promise.reject(new Error('kaput')) }) } },
    );
    expect(verbose).toMatch(/^flashgraph boom: failed: Error: kaput\n\s+at /);
  });
});

describe('plan maths', () => {
  it('paddingStats matches a brute force over every batch size', () => {
    for (const captureSizes of [[1], [1, 2, 4, 8], [3, 7, 64], [1, 100]]) {
      const config = resolveGraphConfig({ captureSizes }, { maxNumSeqs: 8, maxNumBatchedTokens: 200 });
      const max = captureSizes[captureSizes.length - 1]!;
      let waste = 0;
      let replayed = 0;
      let worst = 0;
      let worstAt = 0;
      for (let n = 1; n <= max; n++) {
        waste += padToCaptureSize(config, n)! - n;
        replayed += padToCaptureSize(config, n)!;
        if (padToCaptureSize(config, n)! - n > worst) {
          worst = padToCaptureSize(config, n)! - n;
          worstAt = n;
        }
      }
      const stats = paddingStats(config, 200);
      expect([stats.worstWasteTokens, stats.worstAt]).toEqual([worst, worstAt]);
      expect(stats.meanWasteTokens).toBeCloseTo(waste / max, 12);
      expect(stats.wasteFraction).toBeCloseTo(waste / replayed, 12);
      expect(stats.eagerFraction).toBeCloseTo((200 - max) / 200, 12);
    }
  });

  it('buildCapturePlan fills the context defaults', () => {
    const plan = buildCapturePlan({}, { maxNumSeqs: 2, maxNumBatchedTokens: 16 }, { numHeadsQ: 8, headDim: 64 });
    expect(plan.context).toEqual({
      maxNumSeqs: 2,
      maxNumBatchedTokens: 16,
      uniformDecodeQueryLen: 1,
      // config's fa3BackendCapability, as assumed
      backend: {
        cudagraphSupport: 'always',
        aotScheduling: true,
        headDims: [64, 96, 128, 192, 256],
        attentionSinks: true,
      },
      supportsPiecewise: true,
    });
    expect(plan.splitWorkspace.bytes).toBe(4 * 32 * 8 * 16 * 65);
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [1536 * 1024, '1.50 MiB'],
    [4328521728, '4.03 GiB'],
  ])('formatBytes(%i) = %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
