// The CPU backend's weights: every tensor widened to fp32, read one at a time.
import type { LlamaConfig } from '../config.js';
import { layerPrefix } from '../tensors.js';

export interface CpuLayerWeights {
  readonly inputNorm: Float32Array;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly qBias: Float32Array | null;
  readonly kBias: Float32Array | null;
  readonly vBias: Float32Array | null;
  readonly qNorm: Float32Array | null;
  readonly kNorm: Float32Array | null;
  readonly o: Float32Array;
  readonly oBias: Float32Array | null;
  readonly postNorm: Float32Array;
  readonly gate: Float32Array;
  readonly up: Float32Array;
  readonly down: Float32Array;
}

export interface CpuWeights {
  readonly embed: Float32Array;
  readonly layers: readonly CpuLayerWeights[];
  readonly norm: Float32Array;
  /** The embedding matrix when the embeddings are tied. */
  readonly lmHead: Float32Array;
}

export function readCpuWeights(config: LlamaConfig, read: (name: string) => Float32Array): CpuWeights {
  const embed = read('model.embed_tokens.weight');
  const layers: CpuLayerWeights[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    const p = layerPrefix(layer);
    const maybe = (present: boolean, name: string) => (present ? read(p + name) : null);
    layers.push({
      inputNorm: read(`${p}input_layernorm.weight`),
      q: read(`${p}self_attn.q_proj.weight`),
      k: read(`${p}self_attn.k_proj.weight`),
      v: read(`${p}self_attn.v_proj.weight`),
      qBias: maybe(config.qkvBias, 'self_attn.q_proj.bias'),
      kBias: maybe(config.qkvBias, 'self_attn.k_proj.bias'),
      vBias: maybe(config.qkvBias, 'self_attn.v_proj.bias'),
      qNorm: maybe(config.qkNorm, 'self_attn.q_norm.weight'),
      kNorm: maybe(config.qkNorm, 'self_attn.k_norm.weight'),
      o: read(`${p}self_attn.o_proj.weight`),
      oBias: maybe(config.oProjBias, 'self_attn.o_proj.bias'),
      postNorm: read(`${p}post_attention_layernorm.weight`),
      gate: read(`${p}mlp.gate_proj.weight`),
      up: read(`${p}mlp.up_proj.weight`),
      down: read(`${p}mlp.down_proj.weight`),
    });
  }
  const norm = read('model.norm.weight');
  const lmHead = config.tieWordEmbeddings ? embed : read('lm_head.weight');
  return { embed, layers, norm, lmHead };
}
