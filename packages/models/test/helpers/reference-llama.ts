// An independent float64 reference of the Llama-family forward, written plainly for the tests.
// It shares no code with the package: its own safetensors parsing (whole files, DataView), its
// own reading of config.json, its own maths, no KV cache (every call recomputes the sequence).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// biome-ignore lint/suspicious/noExplicitAny: the reference reads config.json plainly, without the package's validation
type Json = Record<string, any>;

function halfToNumber(h: number): number {
  const sign = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * 2 ** (e - 15) * (1 + m / 1024);
}

/** All tensors of a model folder as float64 arrays, keyed by name. */
export function readTensorsF64(dir: string): Map<string, { shape: number[]; data: Float64Array }> {
  let files = ['model.safetensors'];
  try {
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    files = [...new Set(Object.values(index.weight_map as Record<string, string>))];
  } catch {
    // not sharded
  }
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const file of files) {
    const bytes = readFileSync(join(dir, file));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    const base = 8 + n;
    for (const [name, entry] of Object.entries<Json>(header)) {
      if (name === '__metadata__') continue;
      const [begin, end] = entry.data_offsets;
      const size = entry.dtype === 'F32' ? 4 : 2;
      const data = new Float64Array((end - begin) / size);
      for (let i = 0; i < data.length; i++) {
        const at = base + begin + i * size;
        if (entry.dtype === 'F32') data[i] = view.getFloat32(at, true);
        else if (entry.dtype === 'F16') data[i] = halfToNumber(view.getUint16(at, true));
        else {
          const b = new DataView(new ArrayBuffer(4));
          b.setUint32(0, view.getUint16(at, true) * 65536);
          data[i] = b.getFloat32(0);
        }
      }
      out.set(name, { shape: entry.shape, data });
    }
  }
  return out;
}

export interface ReferenceModel {
  /** Logits [tokens.length][vocab] of a sequence starting at position 0. */
  logits(tokens: readonly number[]): Float64Array[];
}

export function referenceModel(dir: string): ReferenceModel {
  const cfg: Json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const tensors = readTensorsF64(dir);
  const W = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`reference: no tensor ${name}`);
    return t.data;
  };
  const has = (name: string) => tensors.has(name);
  const H: number = cfg.hidden_size;
  const nq: number = cfg.num_attention_heads;
  const nkv: number = cfg.num_key_value_heads ?? nq;
  const D: number = cfg.head_dim ?? H / nq;
  const V: number = cfg.vocab_size;
  const I: number = cfg.intermediate_size;
  const eps: number = cfg.rms_norm_eps;
  const L: number = cfg.num_hidden_layers;
  const rope: Json = cfg.rope_parameters ?? { ...(cfg.rope_scaling ?? {}), rope_theta: cfg.rope_theta };
  const kind: string = rope.rope_type ?? rope.type ?? 'default';
  const theta: number = rope.rope_theta ?? 10000;
  const window: number | null = cfg.sliding_window && cfg.model_type === 'mistral' ? cfg.sliding_window : null;

  const invFreq: number[] = [];
  for (let i = 0; i < D / 2; i++) {
    let f = 1 / theta ** ((2 * i) / D);
    if (kind === 'linear') f = f / rope.factor;
    if (kind === 'llama3') {
      const old = rope.original_max_position_embeddings;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > old / rope.low_freq_factor) f = f / rope.factor;
      else if (wavelen >= old / rope.high_freq_factor) {
        const smooth = (old / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor);
        f = (1 - smooth) * (f / rope.factor) + smooth * f;
      }
    }
    invFreq.push(f);
  }

  const matvec = (w: Float64Array, x: number[], rows: number, cols: number, bias?: Float64Array): number[] => {
    const y: number[] = [];
    for (let r = 0; r < rows; r++) {
      let s = bias ? bias[r]! : 0;
      for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
      y.push(s);
    }
    return y;
  };
  const norm = (x: number[], w: Float64Array): number[] => {
    const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
    return x.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]!);
  };
  const rotate = (vec: number[], pos: number): number[] => {
    const out = vec.slice();
    for (let i = 0; i < D / 2; i++) {
      const a = pos * invFreq[i]!;
      out[i] = vec[i]! * Math.cos(a) - vec[i + D / 2]! * Math.sin(a);
      out[i + D / 2] = vec[i + D / 2]! * Math.cos(a) + vec[i]! * Math.sin(a);
    }
    return out;
  };
  const bias = (name: string) => (has(name) ? W(name) : undefined);

  return {
    logits(tokens) {
      const n = tokens.length;
      let x: number[][] = tokens.map((t) => Array.from(W('model.embed_tokens.weight').subarray(t * H, (t + 1) * H)));
      for (let l = 0; l < L; l++) {
        const p = `model.layers.${l}.`;
        const qs: number[][][] = [];
        const ks: number[][][] = [];
        const vs: number[][][] = [];
        for (let t = 0; t < n; t++) {
          const h = norm(x[t]!, W(`${p}input_layernorm.weight`));
          const q = matvec(W(`${p}self_attn.q_proj.weight`), h, nq * D, H, bias(`${p}self_attn.q_proj.bias`));
          const k = matvec(W(`${p}self_attn.k_proj.weight`), h, nkv * D, H, bias(`${p}self_attn.k_proj.bias`));
          const v = matvec(W(`${p}self_attn.v_proj.weight`), h, nkv * D, H, bias(`${p}self_attn.v_proj.bias`));
          const heads = (vec: number[], count: number) =>
            Array.from({ length: count }, (_, i) => vec.slice(i * D, (i + 1) * D));
          let qh = heads(q, nq);
          let kh = heads(k, nkv);
          if (has(`${p}self_attn.q_norm.weight`)) {
            qh = qh.map((e) => norm(e, W(`${p}self_attn.q_norm.weight`)));
            kh = kh.map((e) => norm(e, W(`${p}self_attn.k_norm.weight`)));
          }
          qs.push(qh.map((e) => rotate(e, t)));
          ks.push(kh.map((e) => rotate(e, t)));
          vs.push(heads(v, nkv));
        }
        const next: number[][] = [];
        for (let t = 0; t < n; t++) {
          const attn: number[] = [];
          for (let hq = 0; hq < nq; hq++) {
            const hk = Math.floor(hq / (nq / nkv));
            const first = window === null ? 0 : Math.max(0, t - window + 1);
            const scores: number[] = [];
            for (let s = first; s <= t; s++) {
              let dot = 0;
              for (let i = 0; i < D; i++) dot += qs[t]![hq]![i]! * ks[s]![hk]![i]!;
              scores.push(dot / Math.sqrt(D));
            }
            const max = Math.max(...scores);
            const e = scores.map((s) => Math.exp(s - max));
            const sum = e.reduce((a, b) => a + b, 0);
            for (let i = 0; i < D; i++) {
              let acc = 0;
              for (let s = first; s <= t; s++) acc += (e[s - first]! / sum) * vs[s]![hk]![i]!;
              attn.push(acc);
            }
          }
          const o = matvec(W(`${p}self_attn.o_proj.weight`), attn, H, nq * D, bias(`${p}self_attn.o_proj.bias`));
          const x1 = x[t]!.map((v, i) => v + o[i]!);
          const h2 = norm(x1, W(`${p}post_attention_layernorm.weight`));
          const g = matvec(W(`${p}mlp.gate_proj.weight`), h2, I, H);
          const u = matvec(W(`${p}mlp.up_proj.weight`), h2, I, H);
          const act = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]!);
          const down = matvec(W(`${p}mlp.down_proj.weight`), act, H, I);
          next.push(x1.map((v, i) => v + down[i]!));
        }
        x = next;
      }
      const head = has('lm_head.weight') ? W('lm_head.weight') : W('model.embed_tokens.weight');
      return x.map((row) => Float64Array.from(matvec(head, norm(row, W('model.norm.weight')), V, H)));
    },
  };
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
