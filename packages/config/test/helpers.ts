import { ConfigError, type ConfigIssue, type GraphConfigContext, resolveGraphConfig } from '../src/index.js';

export const ctx = (over: Partial<GraphConfigContext> = {}): GraphConfigContext => ({
  maxNumSeqs: 256,
  maxNumBatchedTokens: 8192,
  ...over,
});

export const backend = (
  cudagraphSupport: 'always' | 'uniform_batch' | 'uniform_single_token_decode' | 'never',
  aotScheduling = true,
  maxAotBatch?: number,
) =>
  maxAotBatch === undefined ? { cudagraphSupport, aotScheduling } : { cudagraphSupport, aotScheduling, maxAotBatch };

/** The issues of the ConfigError that resolving throws (fails the test if it does not throw one). */
export function issuesOf(input: unknown, context: unknown): readonly ConfigIssue[] {
  try {
    resolveGraphConfig(input as never, context as never);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError, but the config resolved');
}

export const messages = (input: unknown, context: GraphConfigContext) =>
  resolveGraphConfig(input as never, context).warnings.map((w) => `${w.code} @${w.path}: ${w.message}`);
