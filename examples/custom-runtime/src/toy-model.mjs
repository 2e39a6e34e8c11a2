// The runtime's own model: a tiny attention-only transformer with random weights (embedding, per
// layer q/k/v and output projections with a residual, an unembedding). Its forward is a generator
// that yields at each attention call, the shape @flashgraph/cuda-graph's `segmentedForward` drives.
// Every kernel is a closure launched on the step's stream: it reads its inputs when it runs (at
// each replay), and takes its sizes from the step context at launch, as a CUDA kernel would.
import { seededRandom } from './random.mjs';

export const TOY_SHAPE = Object.freeze({
  numLayers: 2,
  vocabSize: 48,
  hidden: 64,
  numHeadsQ: 4,
  numHeadsKv: 2,
  headDim: 64,
});

function randomMatrix(random, rows, cols) {
  const scale = 1 / Math.sqrt(rows);
  return Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * scale);
}

/** out[t, :] = x[t, :] @ w for t < numRows (w is [inDim, outDim], row-major); `accumulate` adds. */
function matmul(x, w, out, numRows, inDim, outDim, accumulate) {
  for (let t = 0; t < numRows; t++) {
    for (let j = 0; j < outDim; j++) {
      let sum = 0;
      for (let i = 0; i < inDim; i++) sum += x[t * inDim + i] * w[i * outDim + j];
      out[t * outDim + j] = accumulate ? out[t * outDim + j] + sum : sum;
    }
  }
}

export function createToyModel(shape = TOY_SHAPE, seed = 16) {
  const random = seededRandom(seed);
  const { numLayers, vocabSize, hidden, numHeadsQ, numHeadsKv, headDim } = shape;
  const qDim = numHeadsQ * headDim;
  const kvDim = numHeadsKv * headDim;
  const weights = {
    embedding: randomMatrix(random, vocabSize, hidden),
    layers: Array.from({ length: numLayers }, () => ({
      wq: randomMatrix(random, hidden, qDim),
      wk: randomMatrix(random, hidden, kvDim),
      wv: randomMatrix(random, hidden, kvDim),
      wo: randomMatrix(random, qDim, hidden),
    })),
    unembedding: randomMatrix(random, hidden, vocabSize),
  };

  /**
   * The model over persistent buffers (allocated once, at fixed "addresses"): `tokenIds` and
   * `positions` in, `logits` ([maxNumReqs, vocab], one row per request's last token) out;
   * `queryStartLoc` is the metadata's, read to find each request's last token.
   */
  function bind({ maxNumTokens, tokenIds, positions, queryStartLoc, logits }) {
    const x = new Float32Array(maxNumTokens * hidden);
    const io = Array.from({ length: numLayers }, () => ({
      q: new Float32Array(maxNumTokens * qDim),
      k: new Float32Array(maxNumTokens * kvDim),
      v: new Float32Array(maxNumTokens * kvDim),
      out: new Float32Array(maxNumTokens * qDim),
    }));
    return {
      *forward(ctx) {
        const n = ctx.numTokens;
        const numReqs = ctx.numReqs;
        ctx.stream.launch(() => {
          for (let t = 0; t < n; t++) {
            const row = weights.embedding.subarray(tokenIds[t] * hidden, (tokenIds[t] + 1) * hidden);
            for (let j = 0; j < hidden; j++) x[t * hidden + j] = row[j] + 0.01 * Math.sin(positions[t] + j);
          }
        });
        for (let l = 0; l < numLayers; l++) {
          const w = weights.layers[l];
          const buffers = io[l];
          ctx.stream.launch(() => {
            matmul(x, w.wq, buffers.q, n, hidden, qDim, false);
            matmul(x, w.wk, buffers.k, n, hidden, kvDim, false);
            matmul(x, w.wv, buffers.v, n, hidden, kvDim, false);
          });
          yield ctx.attention(l, buffers);
          ctx.stream.launch(() => matmul(buffers.out, w.wo, x, n, qDim, hidden, true));
        }
        ctx.stream.launch(() => {
          for (let r = 0; r < numReqs; r++) {
            const end = queryStartLoc[r + 1];
            if (end === queryStartLoc[r]) continue; // a padded request: no tokens, no logits
            matmul(
              x.subarray((end - 1) * hidden),
              weights.unembedding,
              logits.subarray(r * vocabSize),
              1,
              hidden,
              vocabSize,
              false,
            );
          }
        });
      },
    };
  }

  return { shape, bind };
}

/** Greedy sampling: the index of the largest logit of each of the first `numReqs` rows. */
export function argmaxRows(logits, numReqs, vocabSize) {
  const out = [];
  for (let r = 0; r < numReqs; r++) {
    let best = 0;
    for (let v = 1; v < vocabSize; v++) if (logits[r * vocabSize + v] > logits[r * vocabSize + best]) best = v;
    out.push(best);
  }
  return out;
}
