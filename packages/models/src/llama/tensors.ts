// The tensors a Llama-family checkpoint must hold, with their shapes (transformers' names).
import type { TensorSpec } from '../checkpoint/index.js';
import type { LlamaConfig } from './config.js';

export function layerPrefix(layer: number): string {
  return `model.layers.${layer}.`;
}

export function llamaTensorSpecs(config: LlamaConfig): readonly TensorSpec[] {
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const D = config.headDim;
  const q = config.numHeadsQ * D;
  const kv = config.numHeadsKv * D;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocabSize, H] }];
  for (let layer = 0; layer < config.numLayers; layer++) {
    const p = layerPrefix(layer);
    specs.push(
      { name: `${p}input_layernorm.weight`, shape: [H] },
      { name: `${p}self_attn.q_proj.weight`, shape: [q, H] },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, H] },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, H] },
    );
    if (config.qkvBias) {
      specs.push(
        { name: `${p}self_attn.q_proj.bias`, shape: [q] },
        { name: `${p}self_attn.k_proj.bias`, shape: [kv] },
        { name: `${p}self_attn.v_proj.bias`, shape: [kv] },
      );
    }
    if (config.qkNorm) {
      specs.push(
        { name: `${p}self_attn.q_norm.weight`, shape: [D] },
        { name: `${p}self_attn.k_norm.weight`, shape: [D] },
      );
    }
    specs.push({ name: `${p}self_attn.o_proj.weight`, shape: [H, q] });
    if (config.oProjBias) specs.push({ name: `${p}self_attn.o_proj.bias`, shape: [H] });
    specs.push(
      { name: `${p}post_attention_layernorm.weight`, shape: [H] },
      { name: `${p}mlp.gate_proj.weight`, shape: [I, H] },
      { name: `${p}mlp.up_proj.weight`, shape: [I, H] },
      { name: `${p}mlp.down_proj.weight`, shape: [H, I] },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [H] });
  if (!config.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [config.vocabSize, H] });
  return specs;
}
