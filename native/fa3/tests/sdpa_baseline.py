# In-run baseline for the prefill grid of fa3_selftest: PyTorch scaled_dot_product_attention with
# the cuDNN backend (and, for reference, the flash backend) on the same shapes, with contiguous
# K / V: B requests of L tokens, q = k = L, Hq 32, Hkv 8 (K / V expanded to 32 heads), head dims
# from the arguments (default 128; `python3 sdpa_baseline.py 64 128 256`), bf16, causal and not.
# Median of 10 timed runs after 3 warm-ups, CUDA events. Device-side only (a test oracle, never
# used by the packages). Prints one JSON line per point. SDPA_ONLY="causal,B,L;..." runs only those
# points (prefill-device.sh's duel).
import json
import os
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

hq, hkv = 32, 8
dims = [int(a) for a in sys.argv[1:]] or [128]
backends = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}
print(f"torch {torch.__version__} cudnn {torch.backends.cudnn.version()} {torch.cuda.get_device_name()}", flush=True)
points = [(d, c, b, L) for d in dims for c in (1, 0) for b in (1, 8) for L in (1024, 4096, 16384)]
only = {tuple(int(x) for x in p.split(",")) for p in os.environ.get("SDPA_ONLY", "").split(";") if p}
if only:
    points = [(d, c, b, L) for d, c, b, L in points if (c, b, L) in only]
for d, causal, b, L in points:
    q = torch.randn(b, hq, L, d, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(b, hkv, L, d, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(b, hkv, L, d, device="cuda", dtype=torch.bfloat16)
    k = k.repeat_interleave(hq // hkv, dim=1).contiguous()
    v = v.repeat_interleave(hq // hkv, dim=1).contiguous()
    visible = L * (L + 1) / 2 if causal else L * L
    flops = 4.0 * visible * d * hq * b
    row = {"kind": "sdpa", "D": d, "causal": causal, "B": b, "L": L}
    for name, be in backends.items():
        try:
            with sdpa_kernel(be):
                f = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
                for _ in range(3):
                    f()
                torch.cuda.synchronize()
                ts = []
                for _ in range(10):
                    e0 = torch.cuda.Event(enable_timing=True)
                    e1 = torch.cuda.Event(enable_timing=True)
                    e0.record()
                    f()
                    e1.record()
                    e1.synchronize()
                    ts.append(e0.elapsed_time(e1))
                ms = sorted(ts)[len(ts) // 2]
                row[name + "_ms"] = round(ms, 4)
                row[name + "_tflops"] = round(flops / (ms * 1e-3) / 1e12, 1)
        except Exception as err:  # a backend that cannot run the shape
            row[name + "_error"] = str(err).splitlines()[0][:120]
    print(json.dumps(row), flush=True)
    del q, k, v
    torch.cuda.empty_cache()
sys.exit(0)
