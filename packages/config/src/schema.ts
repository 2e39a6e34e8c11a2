// zod schemas of the graph config input and its context: the one place structural rules live.
// `graphConfigJsonSchema` is generated from the input schema, so config files, editors and
// `resolveGraphConfig` can never disagree about what is valid.
import { INT32_MAX } from '@flashgraph/errors';
import { z } from 'zod';

export const GRAPH_MODES = ['none', 'piecewise', 'full', 'full_decode_only', 'full_and_piecewise'] as const;
export const CUDAGRAPH_SUPPORTS = ['always', 'uniform_batch', 'uniform_single_token_decode', 'never'] as const;

export const MAX_NUM_SPLITS_LIMIT = 256;
export const DEFAULT_MAX_NUM_SPLITS = 32;
export const MAX_NUM_WARMUPS = 100;
export const DEFAULT_NUM_WARMUPS = 1;

/**
 * Every token or request count reaches a kernel as a 32-bit `int`, so that is the ceiling of each;
 * checked up front, so nothing downstream sizes a structure by an unchecked count.
 */
export const MAX_TOKEN_COUNT = INT32_MAX;
/**
 * The most capture sizes (one graph each, or one per segment): far above any useful ladder (the
 * default ladder to 512 has 51), low enough that building and checking the list stays instant.
 */
export const MAX_NUM_CAPTURE_SIZES = 4096;

/** The upper bounds resolveGraphConfig enforces, for callers that check their own values first. */
export const graphConfigLimits = Object.freeze({
  /** Every token or request count (capture sizes, maxNumSeqs, maxNumBatchedTokens, ...). */
  maxTokenCount: MAX_TOKEN_COUNT,
  /** Capture sizes in one config (given, or the default ladder). */
  maxNumCaptureSizes: MAX_NUM_CAPTURE_SIZES,
  maxNumSplits: MAX_NUM_SPLITS_LIMIT,
  maxNumWarmups: MAX_NUM_WARMUPS,
});

const tokenCount = z.int().min(1).max(MAX_TOKEN_COUNT);

export const graphConfigInputSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'JSON Schema reference for editors; ignored.' }),
    mode: z
      .enum(GRAPH_MODES)
      .optional()
      .meta({
        description:
          "How CUDA graphs are used. 'none': eager; 'piecewise': graphs between attention calls; " +
          "'full': one graph per step for any batch (needs AoT scheduling); 'full_decode_only': full " +
          "graphs for uniform decode batches, the rest eager; 'full_and_piecewise': full graphs for " +
          'uniform decode batches, piecewise graphs for the rest. Default full_and_piecewise.',
        default: 'full_and_piecewise',
      }),
    captureSizes: z
      .array(tokenCount)
      .max(MAX_NUM_CAPTURE_SIZES)
      .optional()
      .meta({
        description:
          'Token counts to capture graphs for. De-duplicated and sorted; sizes above maxNumBatchedTokens ' +
          'are dropped with a warning. Default: 1, 2, 4, multiples of 8 below 256, multiples of 16 up ' +
          'to the max, and the max.',
      }),
    maxCaptureSize: tokenCount.optional().meta({
      description:
        'Largest capture size; larger steps run eagerly. Given with captureSizes it must equal the ' +
        'largest of them. Default min(2 x maxNumSeqs x uniformDecodeQueryLen, 512), capped by maxNumBatchedTokens.',
    }),
    maxNumSplits: z.int().min(1).max(MAX_NUM_SPLITS_LIMIT).optional().meta({
      description: 'Upper bound of KV splits per request; sizes the split-KV workspace.',
      default: DEFAULT_MAX_NUM_SPLITS,
    }),
    numWarmups: z
      .int()
      .min(0)
      .max(MAX_NUM_WARMUPS)
      .optional()
      .meta({ description: 'Eager runs per capture size before capture.', default: DEFAULT_NUM_WARMUPS }),
    fullCudaGraph: z.boolean().optional().meta({
      description: "Deprecated: true means mode 'full', false means mode 'piecewise'. Use mode.",
      deprecated: true,
    }),
  })
  .meta({
    title: 'flashgraph CUDA graph configuration',
    description: 'Input of resolveGraphConfig (@flashgraph/config).',
  });

export const backendCapabilitySchema = z.strictObject({
  cudagraphSupport: z.enum(CUDAGRAPH_SUPPORTS),
  aotScheduling: z.boolean(),
  maxAotBatch: tokenCount.optional(),
  headDims: z.array(z.int().min(1).max(65536)).max(64).optional(),
  attentionSinks: z.boolean().optional(),
});

export const graphConfigContextSchema = z.strictObject({
  maxNumSeqs: tokenCount,
  maxNumBatchedTokens: tokenCount,
  uniformDecodeQueryLen: tokenCount.optional(),
  backend: backendCapabilitySchema.optional(),
  supportsPiecewise: z.boolean().optional(),
});

/** The option names a config file may use (for "unknown option" hints). */
export const INPUT_KEYS = Object.keys(graphConfigInputSchema.shape);
export const CONTEXT_KEYS = Object.keys(graphConfigContextSchema.shape);
export const BACKEND_KEYS = Object.keys(backendCapabilitySchema.shape);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** JSON Schema (draft 2020-12) of `GraphConfigInput`, for config files and editors. Frozen. */
export const graphConfigJsonSchema: Readonly<Record<string, unknown>> = deepFreeze(
  z.toJSONSchema(graphConfigInputSchema, { io: 'input' }) as Record<string, unknown>,
);
