#!/usr/bin/env python3
"""flashgraph's CUDA backend against Hugging Face transformers, on the device.

For each architecture (Llama with llama3 RoPE scaling, Mistral without and with a sliding window, Qwen2 with qkv bias and tied
embeddings, Qwen3 with q/k norm; a few layers, GQA, head dims 64 and 128) it builds a random-weight
checkpoint with transformers itself (`save_pretrained`, safetensors, bf16) plus a byte-level BPE
tokenizer.json, computes transformers' greedy continuation (`generate`, bf16, same GPU) of 64 prompts
of 8 different lengths, then runs `flashgraph generate --json --logprobs` in graph modes eager,
piecewise and full at batch sizes 1, 8 and 64 (the first n prompts, one batch per run) and compares:

- tokens: the first MAX_NEW greedy tokens of every prompt must equal transformers'. Tie rule
  (models.md): where they first differ, the step is a near-tie (counted and reported, not an error;
  comparison of that prompt stops there, the sequences diverge) if transformers' bf16 logits for its
  token and for ours differ by at most TIE_ULPS bf16 steps of its top logit ('ulps'), or by no more
  than transformers' own bf16 error at that step, measured against the same weights run in fp32 on
  the same tokens ('noise'), or if that fp32 model ranks our token at least as high ('exact'), or
  if our own logits at that step (the eager runs dump them: generate-driver's --dump-logits) are no
  further from the fp32 model's than transformers' bf16 logits are at 99% of its steps ('both').
  Random-weight models have flat logits, so top-two gaps of a few bf16 steps are common.
- logit error: per architecture, how far transformers' bf16 logits and ours (eager runs, steps
  before any divergence) are from the fp32 model's (max over its top 8 tokens): median, p99, max.
- logprobs: on the tokens compared, |ours - log_softmax(transformers' logits)| <= LOGPROB_TOL.

Prints one line per (architecture, mode, batch) and a summary table last; exit 1 on any failure.
  python3 models-check.py --node NODE (--cli CLI.mjs | --driver DRIVER.mjs) [--work DIR] [--out DIR] [--archs llama,qwen3]
With --cli each (mode, batch) is one `flashgraph generate` process; with --driver
(packages/models/test/gpu/generate-driver.ts, the same engine path) one process per architecture
runs every combination, which keeps a device call short.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import torch

MAX_NEW = 32
PROMPTS = 64
LENGTHS = [5, 9, 16, 23, 31, 40, 47, 64]
MODES = ["eager", "piecewise", "full"]
ENGINE_MODE = {"eager": "none", "piecewise": "piecewise", "full": "full"}  # the engine's graph.mode names
BATCHES = [1, 8, 64]
TIE_ULPS = 2
LOGPROB_TOL = 0.1  # reference logits are bf16 (a logit near 4 rounds by up to 0.016) and activations round in other places
VOCAB = 4096


def arch_configs():
    from transformers import LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

    common = dict(vocab_size=VOCAB, hidden_size=512, intermediate_size=1408, num_hidden_layers=3,
                  max_position_embeddings=4096, rms_norm_eps=1e-6, initializer_range=0.05,
                  bos_token_id=None, eos_token_id=None, pad_token_id=None)
    llama3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 64}

    def llama():
        try:  # transformers 5: rope_parameters
            return LlamaConfig(**common, num_attention_heads=8, num_key_value_heads=2, head_dim=64,
                               rope_parameters={**llama3, "rope_theta": 500000.0})
        except TypeError:
            return LlamaConfig(**common, num_attention_heads=8, num_key_value_heads=2, head_dim=64,
                               rope_theta=500000.0, rope_scaling=llama3)

    return {
        "llama": llama,
        "mistral": lambda: MistralConfig(**common, num_attention_heads=4, num_key_value_heads=1, head_dim=128,
                                         sliding_window=None),
        # Mistral with a sliding window shorter than most prompt + continuation lengths (up to 96 tokens),
        # so the window reaches FA3's local attention in every graph mode.
        "mistral-swa": lambda: MistralConfig(**common, num_attention_heads=4, num_key_value_heads=1, head_dim=128,
                                             sliding_window=24),
        "qwen2": lambda: Qwen2Config(**common, num_attention_heads=8, num_key_value_heads=2,
                                     tie_word_embeddings=True, use_sliding_window=False),
        "qwen3": lambda: Qwen3Config(**common, num_attention_heads=4, num_key_value_heads=2, head_dim=128,
                                     use_sliding_window=False),
    }


def byte_alphabet():
    """GPT-2's bytes_to_unicode: the 256 characters a byte-level BPE vocabulary starts with."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def write_tokenizer(folder):
    """A byte-level BPE tokenizer.json (256 byte tokens, then tok<i> up to VOCAB), written as plain JSON."""
    vocab = {c: i for i, c in enumerate(byte_alphabet())}
    for i in range(len(vocab), VOCAB):
        vocab[f"tok{i}"] = i
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": []},
    }
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": False}, f)


def build_model(name, make, folder):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1234)
    cfg = make()
    try:
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    except TypeError:
        model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16)
    model = model.to("cuda").eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder)
    write_tokenizer(folder)
    return model


def make_prompts():
    g = torch.Generator().manual_seed(99)
    return [torch.randint(256, VOCAB, (LENGTHS[i % len(LENGTHS)],), generator=g).tolist() for i in range(PROMPTS)]


@torch.no_grad()
def reference(model, prompts):
    """transformers' greedy continuation per prompt (same-length prompts batched, no padding): its tokens, its
    bf16 logits rows, and the fp32 logits of the same weights run in fp32 on the same tokens (teacher-forced),
    which measure how far transformers' own bf16 arithmetic is from exact at each step (the tie rule)."""
    out = [None] * len(prompts)
    by_len = {}
    for i, p in enumerate(prompts):
        by_len.setdefault(len(p), []).append(i)
    runs = []
    for length, idx in by_len.items():
        ids = torch.tensor([prompts[i] for i in idx], device="cuda")
        r = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=MAX_NEW,
                           output_logits=True, return_dict_in_generate=True)
        runs.append((length, idx, r.sequences, torch.stack(r.logits, dim=1).float()))  # logits [b, steps, V]
    model.float()
    for length, idx, seqs, logits in runs:
        exact = model(seqs).logits[:, length - 1:length - 1 + MAX_NEW].float()
        for j, i in enumerate(idx):
            out[i] = (seqs[j, length:].tolist(), logits[j].cpu(), exact[j].cpu())
    model.to(torch.bfloat16)
    return out


def bf16_ulp(x):
    x = abs(float(x))
    if x == 0:
        return 2.0 ** -133
    return 2.0 ** (math.floor(math.log2(x)) - 7)


def logit_error(logits, exact_logits):
    """How far a bf16 implementation's logits are from the fp32 model's at one step: the largest
    |logit - fp32 logit| over the fp32 model's top 8 tokens (where greedy choices are made)."""
    top = torch.topk(exact_logits, 8).indices
    return float((logits[top] - exact_logits[top]).abs().max())


def near_tie(ref_logits, exact_logits, ref_token, our_token, our_logits=None, ref_envelope=None):
    """Why transformers' choice and ours differ only by rounding, or None. Four rules (models.md):
    'ulps': its bf16 logits of the two tokens are within TIE_ULPS bf16 steps of its top logit;
    'noise': their gap is within transformers' own bf16 error at this step (twice the largest
    |bf16 - fp32| over the fp32 model's top 8 logits);
    'exact': the fp32 model ranks our token at least as high as transformers' bf16 choice;
    'both': our logits at this step (eager runs record them) are no further from the fp32 model's
    than transformers' bf16 logits are at 99% of the steps of its greedy run on the same model
    (`ref_envelope`, the 99th percentile of its logit_error): the two choices then differ by the
    bf16 error of two implementations each as exact as the reference users trust, on a near-flat
    pair of logits."""
    gap = float(ref_logits[ref_token] - ref_logits[our_token])
    if gap <= TIE_ULPS * bf16_ulp(ref_logits[ref_token]):
        return "ulps", gap
    if gap <= 2 * logit_error(ref_logits, exact_logits):
        return "noise", gap
    if float(exact_logits[our_token]) >= float(exact_logits[ref_token]):
        return "exact", gap
    if our_logits is not None and ref_envelope is not None and logit_error(our_logits, exact_logits) <= ref_envelope:
        return "both", gap
    return None, gap


def compare(ours, ref, our_logits=None, ref_envelope=None):
    """(tokens equal before divergence, near-tie rule or None, mismatch?, max |dlogprob|, detail).
    our_logits: step -> our fp32 logits row (or None), from an eager run's dump."""
    tokens, lps = ours
    ref_tokens, ref_logits, exact_logits = ref
    logp = torch.log_softmax(ref_logits, dim=-1)
    worst = 0.0
    for j in range(MAX_NEW):
        if j >= len(tokens):
            return j, None, True, worst, f"only {len(tokens)} tokens"
        if tokens[j] != ref_tokens[j]:
            mine = our_logits(j) if our_logits else None
            rule, gap = near_tie(ref_logits[j], exact_logits[j], ref_tokens[j], tokens[j], mine, ref_envelope)
            ours_err = f", our logit error {logit_error(mine, exact_logits[j]):.4g}" if mine is not None else ""
            return j, rule, rule is None, worst, f"step {j}: ours {tokens[j]} ref {ref_tokens[j]} gap {gap:.4g}" + \
                f" (transformers' logit error {logit_error(ref_logits[j], exact_logits[j]):.4g}{ours_err}) " + \
                (f"near-tie ({rule})" if rule else "MISMATCH")
        if lps is not None:
            worst = max(worst, abs(lps[j] - float(logp[j, tokens[j]])))
    return MAX_NEW, None, False, worst, ""


def quantiles(values):
    if not values:
        return None
    v = sorted(values)
    return v[len(v) // 2], v[min(len(v) - 1, (99 * len(v)) // 100)], v[-1], len(v)


def fmt_quantiles(q):
    return "none" if q is None else f"{q[0]:.4f} / {q[1]:.4f} / {q[2]:.4f} ({q[3]})"


def run_cli(args, folder, mode, prompts):
    cmd = [args.node, args.cli, "generate", "--model", folder, "--backend", "cuda", "--graph-mode", ENGINE_MODE[mode],
           "--max-new-tokens", str(MAX_NEW), "--json", "--logprobs"]
    for p in prompts:
        cmd += ["--prompt-ids", ",".join(map(str, p))]
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    elapsed = time.time() - t
    if r.returncode != 0:
        raise RuntimeError(f"exit {r.returncode}: {r.stderr[-2000:]}")
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if len(rows) != len(prompts):
        raise RuntimeError(f"{len(rows)} JSON lines for {len(prompts)} prompts: {r.stdout[-1000:]}")
    by_prompt = {}
    for row in rows:
        by_prompt.setdefault(tuple(row["promptTokenIds"]), []).append(row)
    results = []
    for p in prompts:
        row = by_prompt[tuple(p)].pop(0)
        results.append((row["tokenIds"], row.get("logprobs")))
    return results, elapsed


def load_logits_dump(path, vocab):
    """The driver's --dump-logits file: {(position, token id of the row): [fp32 logits rows]}."""
    raw = open(path, "rb").read()
    rec = 8 + 4 * vocab
    out = {}
    for off in range(0, len(raw) - rec + 1, rec):
        pos, tok = torch.frombuffer(bytearray(raw[off:off + 8]), dtype=torch.int32).tolist()
        out.setdefault((pos, tok), []).append(torch.frombuffer(bytearray(raw[off + 8:off + rec]), dtype=torch.float32))
    return out


def our_logits_of(dump, prompt, tokens):
    """step -> our logits row for one prompt of an eager run (None where its (position, token) key is
    missing or shared with another row of the run)."""
    seq = list(prompt) + list(tokens)

    def at(j):
        pos = len(prompt) - 1 + j
        if pos >= len(seq):
            return None
        rows = dump.get((pos, seq[pos]), [])
        return rows[0] if len(rows) == 1 else None
    return at


def run_driver(args, folder, combos, prompts):
    """All (mode, batch) combos in one process; returns {(mode, batch): (results, seconds)}; eager
    runs dump their logits into folder/logits (load_logits_dump)."""
    runs = ",".join(f"{ENGINE_MODE[m]}:{b}" for m, b in combos)
    cmd = [args.node, args.driver, "--model", folder, "--runs", runs, "--max-new-tokens", str(MAX_NEW)]
    os.makedirs(os.path.join(folder, "logits"), exist_ok=True)
    cmd += ["--dump-logits", os.path.join(folder, "logits")]
    for p in prompts:
        cmd += ["--prompt-ids", ",".join(map(str, p))]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    sys.stderr.write(r.stderr[-3000:])
    out = {}
    back = {v: k for k, v in ENGINE_MODE.items()}
    for line in r.stdout.splitlines():
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        key = (back[row["mode"]], row["batch"])
        out.setdefault(key, ([], row["timings"]["seconds"]))[0].append(row)
    results = {}
    for (mode, batch) in combos:
        if (mode, batch) not in out:
            results[(mode, batch)] = RuntimeError(f"no output (exit {r.returncode}): {r.stderr[-1500:]}")
            continue
        rows, seconds = out[(mode, batch)]
        by_prompt = {}
        for row in rows:
            by_prompt.setdefault(tuple(row["promptTokenIds"]), []).append(row)
        res = []
        for p in prompts[:batch]:
            row = by_prompt[tuple(p)].pop(0)
            res.append((row["tokenIds"], row.get("logprobs")))
        results[(mode, batch)] = (res, seconds)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", default="node")
    ap.add_argument("--cli")
    ap.add_argument("--driver")
    ap.add_argument("--work", default="/tmp/models-check")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/out"))
    ap.add_argument("--archs", default="llama,mistral,mistral-swa,qwen2,qwen3")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--batches", default=",".join(map(str, BATCHES)))
    args = ap.parse_args()
    import transformers

    print(f"card: {torch.cuda.get_device_name(0)}  torch {torch.__version__}  transformers {transformers.__version__}")
    prompts = make_prompts()
    table = []
    failed = False
    details = []
    tie_rules = {}
    errors = []  # (arch, transformers' (median, p99, max, n), ours)
    for name in args.archs.split(","):
        folder = os.path.join(args.work, name)
        t = time.time()
        model = build_model(name, arch_configs()[name], folder)
        ref = reference(model, prompts)
        # transformers' own bf16 error at every step of its greedy run (the 'both' rule's envelope).
        ref_errors = [logit_error(r[1][j], r[2][j]) for r in ref for j in range(MAX_NEW)]
        ref_envelope = quantiles(ref_errors)[1]  # its 99th percentile
        our_errors = []
        eager_logits = {}  # (batch, prompt) -> (tokens, step -> logits) of the eager run
        del model
        torch.cuda.empty_cache()
        print(f"{name}: checkpoint + transformers reference in {time.time() - t:.1f} s", flush=True)
        combos = [(m, b) for m in args.modes.split(",") for b in map(int, args.batches.split(","))]
        driven = run_driver(args, folder, combos, prompts) if args.driver else None
        for mode, batch in combos:
            try:
                if driven is not None:
                    got = driven[(mode, batch)]
                    if isinstance(got, Exception):
                        raise got
                    ours, elapsed = got
                else:
                    ours, elapsed = run_cli(args, folder, mode, prompts[:batch])
            except Exception as e:  # noqa: BLE001 - reported in the table
                failed = True
                table.append((name, mode, batch, "ERROR", "", "", "", ""))
                details.append(f"{name} {mode} b{batch}: {e}")
                print(f"{name} {mode} b{batch}: ERROR {str(e)[:500]}", flush=True)
                continue
            dump_path = os.path.join(folder, "logits", f"none-{batch}.bin")
            dump = load_logits_dump(dump_path, VOCAB) if mode == "eager" and os.path.exists(dump_path) else None
            equal = ties = mism = 0
            worst = 0.0
            for i in range(batch):
                logits_at = None
                if dump is not None:
                    logits_at = our_logits_of(dump, prompts[i], ours[i][0])
                    eager_logits[(batch, i)] = (ours[i][0], logits_at)
                    for j in range(min(MAX_NEW, len(ours[i][0]))):  # our error vs fp32 while the prefixes agree
                        row = logits_at(j)
                        if row is not None:
                            our_errors.append(logit_error(row, ref[i][2][j]))
                        if ours[i][0][j] != ref[i][0][j]:
                            break
                elif (batch, i) in eager_logits and eager_logits[(batch, i)][0] == ours[i][0]:
                    logits_at = eager_logits[(batch, i)][1]  # graph replay gave the eager run's tokens
                n, rule, bad, w, why = compare(ours[i], ref[i], logits_at, ref_envelope)
                equal += n == MAX_NEW
                ties += rule is not None
                tie_rules[rule] = tie_rules.get(rule, 0) + (rule is not None)
                mism += bad
                worst = max(worst, w)
                if why:
                    details.append(f"{name} {mode} b{batch} prompt {i}: {why}")
            ok = mism == 0 and worst <= LOGPROB_TOL
            failed |= not ok
            table.append((name, mode, batch, f"{equal}/{batch}", ties, mism, f"{worst:.4f}", f"{elapsed:.1f}"))
            print(f"{name} {mode} b{batch}: {equal}/{batch} equal, near-ties {ties}, mismatches {mism}, "
                  f"max|dlogprob| {worst:.4f} ({elapsed:.1f} s) {'ok' if ok else 'FAIL'}", flush=True)
        errors.append((name, quantiles(ref_errors), quantiles(our_errors)))
    with open(os.path.join(args.out, "models-check-details.txt"), "w") as f:
        f.write("\n".join(details) + "\n")
    print(f"\n== transformers vs flashgraph ({torch.cuda.get_device_name(0)}; {MAX_NEW} greedy tokens; "
          f"near-tie: gap <= {TIE_ULPS} bf16 steps or <= transformers' own bf16 error, or fp32 agrees with us, "
          f"or our logits as near fp32 as transformers' at 99% of its steps; "
          f"logprob tol {LOGPROB_TOL})")
    print(f"{'arch':11} {'mode':10} {'batch':>5} {'tokens equal':>12} {'near-ties':>9} {'mismatch':>8} {'max dlogprob':>12} {'s':>5}")
    for r in table:
        print(f"{r[0]:11} {r[1]:10} {r[2]:>5} {r[3]:>12} {r[4]!s:>9} {r[5]!s:>8} {r[6]:>12} {r[7]:>5}")
    print("near-ties by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(tie_rules.items(), key=str) if k))
    print("\nlogit error vs the same weights in fp32 (max |logit - fp32 logit| over fp32's top 8 tokens, per step;"
          " transformers: its bf16 greedy run; ours: eager runs, steps before any divergence)")
    print(f"{'arch':11} {'transformers median / p99 / max (steps)':>42} {'flashgraph median / p99 / max (steps)':>42}")
    for name, theirs, mine in errors:
        print(f"{name:11} {fmt_quantiles(theirs):>42} {fmt_quantiles(mine):>42}")
    for d in [d for d in details if "MISMATCH" in d][:10] + [d for d in details if "MISMATCH" not in d][:10]:
        print("  ", d)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
