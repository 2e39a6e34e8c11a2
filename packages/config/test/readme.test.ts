import { describe, expect, it } from 'vitest';
import { ConfigError, estimateSplitWorkspaceBytes, padToCaptureSize, resolveGraphConfig } from '../src/index.js';

// Keeps the numbers and the error text printed in README.md true.
describe('README example', () => {
  it('prints what the README says', () => {
    const graphs = resolveGraphConfig(
      { mode: 'full_and_piecewise', maxNumSplits: 32 },
      { maxNumSeqs: 256, maxNumBatchedTokens: 8192, backend: { cudagraphSupport: 'always', aotScheduling: true } },
    );
    expect([graphs.mode, graphs.captureSizes.length, graphs.maxCaptureSize]).toEqual(['full_and_piecewise', 51, 512]);
    expect([padToCaptureSize(graphs, 37), padToCaptureSize(graphs, 600)]).toEqual([40, undefined]);
    expect(graphs.warnings).toEqual([]);
    expect(estimateSplitWorkspaceBytes({ maxNumSplits: 32, numHeadsQ: 32, maxNumTokens: 8192, headDim: 128 })).toBe(
      4328521728,
    );
  });

  it('shows the ConfigError the README shows', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const shown = /```text\n(ConfigError: [\s\S]*?)\n```/.exec(readme)![1];
    let message = '';
    try {
      resolveGraphConfig({ mode: 'full', captureSizes: [4, 0, 16], maxNumSplit: 8 } as never, {
        maxNumSeqs: 8,
        maxNumBatchedTokens: 64,
        backend: { cudagraphSupport: 'always', aotScheduling: false },
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = String(error);
    }
    expect(message).toBe(shown);
  });
});
