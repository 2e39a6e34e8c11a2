// Device driver of tooling/gpu/models-check.py (bundled by tooling/gpu/models-prepare.mjs): loads a
// model folder once and runs several (graph mode, batch size) combinations through the engine on
// CUDA, printing one JSON line per prompt in the shape of `flashgraph generate --json --logprobs`
// plus `mode` and `batch`. Loading once per architecture instead of once per run keeps a device
// call short; `flashgraph generate` runs the same engine path.
//   node generate-driver.mjs --model DIR --runs none:1,full:64 [--backend cpu] [--kv-cache-dtype fp8_e4m3]
//        --max-new-tokens 32 --prompt-ids 1,2,3 ...
// --kv-cache-dtype fp8_e4m3: the engine's fp8 e4m3 KV cache (descales 1); tokens then differ from
// transformers' bf16 cache by the quantization, so use it for timings and mode parity.
// --dump-logits DIR: eager runs ("none") also write every sampled row's fp32 logits to
// DIR/none-BATCH.bin as records [int32 position, int32 token id of the row, float32 logits[vocab]],
// for models-check.py to compare our logits with transformers' and with the fp32 model's. Reading
// them back synchronizes the stream at every step, which is why only eager runs record.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceBuffer } from '@flashgraph/cuda';
import {
  type CudaForwardContext,
  createEngine,
  type DeviceTensor,
  type EngineOptions,
  type LoadedModel,
  type Model,
} from '@flashgraph/engine';
import { loadHfModel } from '../../src/index.js';

function parse(argv: string[]): {
  model: string;
  runs: [GraphMode, number][];
  maxNewTokens: number;
  prompts: number[][];
  backend: 'cpu' | 'cuda';
  kvCacheDtype: 'fp8_e4m3' | undefined;
  dumpLogits: string | undefined;
} {
  let model = '';
  let backend: 'cpu' | 'cuda' = 'cuda';
  let runs: [GraphMode, number][] = [];
  let maxNewTokens = 32;
  let kvCacheDtype: 'fp8_e4m3' | undefined;
  let dumpLogits: string | undefined;
  const prompts: number[][] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1] ?? '';
    if (a === '--model') model = v;
    else if (a === '--runs')
      runs = v.split(',').map((r) => {
        const [mode, batch] = r.split(':');
        return [mode as GraphMode, Number(batch)];
      });
    else if (a === '--backend') backend = v === 'cpu' ? 'cpu' : 'cuda';
    else if (a === '--max-new-tokens') maxNewTokens = Number(v);
    else if (a === '--kv-cache-dtype') {
      if (v !== 'fp8_e4m3') throw new Error(`--kv-cache-dtype must be fp8_e4m3, got ${v}`);
      kvCacheDtype = v;
    } else if (a === '--dump-logits') dumpLogits = v;
    else if (a === '--prompt-ids') prompts.push(v.split(',').map(Number));
    else throw new Error(`unknown argument ${a}`);
    i++;
  }
  if (!model || runs.length === 0 || prompts.length === 0) throw new Error('need --model, --runs and --prompt-ids');
  return { model, runs, maxNewTokens, prompts, backend, kvCacheDtype, dumpLogits };
}

// The model with its CUDA forward's sample call wrapped: after the engine's sampler is launched,
// the stream is synchronized and each sampled row's (position, token, logits) appended to `file`.
function recordingLogits(model: Model, vocab: number, file: number): Model {
  return {
    name: model.name,
    shape: model.shape,
    eosTokenIds: model.eosTokenIds,
    backends: model.backends,
    load(context): LoadedModel {
      const loaded = model.load(context);
      return {
        *forward(ctx) {
          if (ctx.backend !== 'cuda') return yield* loaded.forward(ctx);
          const sample = ctx.sample;
          const recording: CudaForwardContext = {
            ...ctx,
            sample: (logits: DeviceTensor) => {
              sample(logits);
              if (!(logits instanceof DeviceBuffer)) throw new Error('--dump-logits needs logits in a DeviceBuffer');
              const { stream, numTokens, numReqs, buffers } = ctx;
              const rows = buffers.sampleRows.read(new Int32Array(numReqs), { stream });
              const positions = buffers.positions.read(new Int32Array(numTokens), { stream });
              const tokens = buffers.tokenIds.read(new Int32Array(numTokens), { stream });
              const all = logits.read(new Float32Array(numReqs * vocab), { stream });
              for (const [r, row] of rows.entries()) {
                if (row < 0) continue;
                writeSync(file, new Int32Array([positions[row] ?? -1, tokens[row] ?? -1]));
                writeSync(file, all.subarray(r * vocab, (r + 1) * vocab));
              }
            },
          };
          yield* loaded.forward(recording);
        },
        dispose: () => loaded.dispose(),
      };
    },
  };
}

type GraphMode = NonNullable<NonNullable<EngineOptions['graph']>['mode']>;

const args = parse(process.argv.slice(2));
const t0 = performance.now();
await using model = await loadHfModel(args.model);
for (const [mode, batch] of args.runs) {
  const prompts = args.prompts.slice(0, batch);
  const longest = Math.max(...prompts.map((p) => p.length)) + args.maxNewTokens;
  const started = performance.now();
  const dumpFile =
    args.dumpLogits && mode === 'none' ? openSync(join(args.dumpLogits, `none-${batch}.bin`), 'w') : null;
  const engine = await createEngine({
    model: dumpFile === null ? model : recordingLogits(model, model.shape.vocabSize, dumpFile),
    graph: { mode },
    cache: {
      blockSize: 16,
      numBlocks: Math.ceil(longest / 16) * batch + 16,
      ...(args.kvCacheDtype ? { dtype: args.kvCacheDtype } : {}),
    },
    limits: { maxNumSeqs: Math.max(batch, 1), maxNumBatchedTokens: Math.max(512, batch * 64) },
    backend: args.backend,
  });
  try {
    const ids = prompts.map((promptTokens) =>
      engine.addRequest({ promptTokens, maxNewTokens: args.maxNewTokens, ignoreEos: true }),
    );
    const { outputs } = await engine.run();
    const seconds = (performance.now() - started) / 1000;
    for (const [i, id] of ids.entries()) {
      const o = outputs.find((x) => x.id === id);
      if (!o) throw new Error(`no output for request ${id}`);
      console.log(
        JSON.stringify({
          mode,
          batch,
          model: model.name,
          backend: args.backend,
          ...(args.kvCacheDtype ? { kvCacheDtype: args.kvCacheDtype } : {}),
          promptTokenIds: prompts[i],
          tokenIds: o.outputTokens,
          logprobs: o.logprobs,
          timings: { seconds },
        }),
      );
    }
  } finally {
    engine.dispose();
    if (dumpFile !== null) closeSync(dumpFile);
  }
}
console.error(`driver: ${args.runs.length} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
