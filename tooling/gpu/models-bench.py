#!/usr/bin/env python3
"""The 8B-shaped decode benchmark on the device: flashgraph (bench.mjs, full graphs vs eager) and
transformers on the same card in the same call (random-weight LlamaForCausalLM, bf16, static cache;
decoding compiled with torch.compile mode="reduce-overhead" through generate's compile support,
falling back to eager when that fails), then one table: decode tokens/s per context and batch,
flashgraph's speed-up over transformers, the step's ratio to the bandwidth floor. Batches of at most 8
are timed with the skinny GEMM kernel off and on (--skinny-gemm, passed to bench.mjs), one row each.
  python3 models-bench.py --node NODE --bench bench.mjs [--out DIR] [--contexts 1024,4096] [--batches 1,8,64,256]
    [--skinny-gemm off,on]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch


def flashgraph(args):
    cmd = [args.node, args.bench, "--contexts", args.contexts, "--batches", args.batches, "--modes", args.modes,
           "--steps", str(args.steps), "--skinny-gemm", args.skinny_gemm]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    with open(os.path.join(args.out, "bench-flashgraph.log"), "w") as f:
        f.write(r.stdout + "\n" + r.stderr)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    print(r.stdout[-3000:])
    if r.returncode != 0:
        print(r.stderr[-3000:], file=sys.stderr)
    return rows


@torch.no_grad()
def transformers_decode(ctx, batch, steps):
    """Decode tokens/s of transformers' generate with a static cache (prefill excluded by difference)."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    global _model
    if "_model" not in globals():
        cfg = LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                          num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=8192,
                          rms_norm_eps=1e-5, tie_word_embeddings=False, eos_token_id=None, bos_token_id=None)
        with torch.device("cuda"):
            _model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16).eval()
        _model.generation_config.pad_token_id = 0
    ids = torch.randint(0, 128000, (batch, ctx), device="cuda")
    kw = dict(do_sample=False, cache_implementation="static", attention_mask=torch.ones_like(ids))

    def timed(n):
        torch.cuda.synchronize()
        t = time.perf_counter()
        _model.generate(ids, max_new_tokens=n, min_new_tokens=n, **kw)
        torch.cuda.synchronize()
        return time.perf_counter() - t

    timed(steps + 1)  # compiles
    short = min(timed(1) for _ in range(2))
    long = min(timed(steps + 1) for _ in range(2))
    return batch * steps / (long - short)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", default="node")
    ap.add_argument("--bench", required=True)
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/out"))
    ap.add_argument("--contexts", default="1024,4096")
    ap.add_argument("--batches", default="1,8,64,256")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--modes", default="full,none")
    ap.add_argument("--skinny-gemm", default="off,on",
                    help="settings of the skinny GEMM kernel to time batches <= 8 with (default, off, on)")
    ap.add_argument("--timeout", type=int, default=400)
    ap.add_argument("--skip-transformers", action="store_true")
    ap.add_argument("--budget", type=float, default=380, help="seconds after which no further transformers shape starts")
    args = ap.parse_args()
    start = time.time()
    card = torch.cuda.get_device_name(0)
    rows = flashgraph(args)
    setup = next((r for r in rows if r["kind"] == "setup"), {})
    decode = {(r["ctx"], r["batch"], r.get("skinnyGemm", False), r["mode"]): r for r in rows if r["kind"] == "decode"}
    shapes = sorted({(ctx, batch) for (ctx, batch, _, _) in decode})
    hf = {}
    if not args.skip_transformers:
        for ctx in map(int, args.contexts.split(",")):
            for batch in map(int, args.batches.split(",")):
                if (ctx, batch) not in shapes:
                    continue
                if time.time() - start > args.budget:  # each shape compiles anew; keep the table inside the call
                    print(f"transformers ctx {ctx} batch {batch}: skipped (time budget of {args.budget:.0f} s spent)")
                    continue
                try:
                    hf[(ctx, batch)] = transformers_decode(ctx, batch, args.steps)
                    print(f"transformers ctx {ctx} batch {batch}: {hf[(ctx, batch)]:.0f} tokens/s "
                          f"({time.time() - start:.0f} s)", flush=True)
                except Exception as e:  # noqa: BLE001 - reported
                    print(f"transformers ctx {ctx} batch {batch}: {str(e)[:300]}")
                torch.cuda.empty_cache()
    print(f"\n== decode tokens/s, 8B-shaped Llama bf16, {card}; weights {setup.get('weightBytes', 0) / 1e9:.2f} GB, "
          f"copy {setup.get('copyBandwidthGBps', 0):.0f} GB/s, load {setup.get('loadGBps', 0):.1f} GB/s")
    print(f"{'ctx':>5} {'batch':>5} {'skinny':>6} {'fg full':>9} {'fg eager':>9} {'hf':>9} {'full/hf':>7} "
          f"{'x floor':>7} {'eager x floor':>13}")
    for (ctx, batch, skinny, mode), r in sorted(decode.items()):
        if mode != "full":
            continue
        on = "on" if skinny else "off"
        if r["decodeTokensPerSecond"] is None:
            print(f"{ctx:>5} {batch:>5} {on:>6}  (no pure decode step of the whole batch was timed)")
            continue
        eager_row = decode.get((ctx, batch, skinny, "none"), {})
        eager = eager_row.get("decodeTokensPerSecond") or float("nan")
        eager_ratio = eager_row.get("ratioToFloor") or float("nan")
        h = hf.get((ctx, batch), float("nan"))
        print(f"{ctx:>5} {batch:>5} {on:>6} {r['decodeTokensPerSecond']:>9.0f} {eager:>9.0f} {h:>9.0f} "
              f"{r['decodeTokensPerSecond'] / h:>7.2f} {r['ratioToFloor']:>7.2f} {eager_ratio:>13.2f}")
    for r in rows:
        if r["kind"] in ("prefill", "skip"):
            print(r)


if __name__ == "__main__":
    main()
