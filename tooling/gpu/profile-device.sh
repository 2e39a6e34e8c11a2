#!/usr/bin/env bash
# Nsight Compute profiles of the kernels this round tunes, in one device call, from the repository
# root after `bash .gpu-pack/unpack.sh` (folders made by tooling/gpu/round-prepare.sh):
#   bash tooling/gpu/profile-device.sh [prefill] [cudnn] [decode-fp8] [model-step]...
# prefill: fa3's wgmma prefill kernel at one grid point (PROFILE_PREFILL="causal,B,page,L", default
#   "1,1,256,16384", D = PROFILE_D or 128), `--set full` plus per-SASS-instruction stall samples;
# cudnn: PyTorch SDPA's cuDNN kernel on the same shape (contiguous K / V), the in-run reference;
# decode-fp8: the fp8-cache decode kernel at PROFILE_DECODE points (default "512x1024 32x8192");
# model-step: every kernel's duration over the 8B-shaped model's eager decode steps at batch 1
#   (PROFILE_MODEL_BATCH) and context 1024, to see where a step's time goes besides the GEMMs.
# ncu runs with --clock-control none (device/METHOD.md: leave the clocks alone). Reports and text
# exports go to $OUT/profiles.tgz (one file); the card's name is printed first.
set -uo pipefail
root=$(pwd)
R=.gpu-round
RESULTS=${OUT:-/tmp/out}; mkdir -p "$RESULTS"
P=/tmp/profiles; rm -rf "$P"; mkdir -p "$P"
steps=${*:-prefill cudnn decode-fp8 model-step}
has() { [[ " $steps " == *" $1 "* ]]; }
[[ -x /tmp/node ]] || { xz -dc "$R/node.xz" > /tmp/node && chmod +x /tmp/node; }
export FLASHGRAPH_NATIVE_DIR=$root/$R/native
NCU=(ncu --clock-control none)
echo "card: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  date: $(date -u +%FT%TZ)  ncu: $(ncu --version | tail -1)"
pack() { tar czf "$RESULTS/profiles.tgz" -C "$P" . 2>/dev/null; }
# export NAME: the report's details page and its per-instruction source page as text.
export_report() {
  [[ -f $P/$1.ncu-rep ]] || { echo "  $1: no report (no kernel matched?)"; return; }
  ncu --import "$P/$1.ncu-rep" --page details > "$P/$1.details.txt" 2>&1
  ncu --import "$P/$1.ncu-rep" --page source --print-source sass --csv > "$P/$1.sass.csv" 2>&1
  grep -E 'Duration|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy|Registers Per|Achieved Occupancy|DRAM Throughput|No Eligible' "$P/$1.details.txt" | head -14 | sed "s/^/  $1: /"
}
if has prefill; then
  t0=$(date +%s)
  FA3_PREFILL_ONLY=${PROFILE_PREFILL:-1,1,256,16384} timeout 240 "${NCU[@]}" --set full --import-source no \
    -k regex:wgmma_kernel --launch-skip 3 --launch-count 1 -o "$P/prefill-wgmma" -f \
    "$R/fa3/fa3_selftest" prefill --dims "${PROFILE_D:-128}" --pages "$(cut -d, -f3 <<< "${PROFILE_PREFILL:-1,1,256,16384}")" > "$P/prefill-wgmma.log" 2>&1
  echo "prefill rc=$? ($(( $(date +%s) - t0 )) s)"; grep -E 'TFLOP' "$P/prefill-wgmma.log" | head -3
  export_report prefill-wgmma; pack
fi
if has cudnn; then
  t0=$(date +%s)
  IFS=, read -r c b _ l <<< "${PROFILE_PREFILL:-1,1,256,16384}"
  cat > "$P/cudnn.py" <<EOF
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
d = ${PROFILE_D:-128}
q = torch.randn($b, 32, $l, d, device="cuda", dtype=torch.bfloat16)
k = torch.randn($b, 32, $l, d, device="cuda", dtype=torch.bfloat16)
v = torch.randn($b, 32, $l, d, device="cuda", dtype=torch.bfloat16)
with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
    for _ in range(5):
        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=bool($c))
torch.cuda.synchronize()
EOF
  timeout 240 "${NCU[@]}" --set full --import-source no -k 'regex:cudnn|sdpa|fmha|flash|attn' --launch-skip 3 --launch-count 1 \
    -o "$P/prefill-cudnn" -f python3 "$P/cudnn.py" > "$P/prefill-cudnn.log" 2>&1
  echo "cudnn rc=$? ($(( $(date +%s) - t0 )) s)"; grep -E '==PROF==|Error' "$P/prefill-cudnn.log" | head -5
  export_report prefill-cudnn; pack
fi
if has decode-fp8; then
  for pt in ${PROFILE_DECODE:-512x1024 32x8192}; do
    t0=$(date +%s)
    FA3_BENCH_ONLY=$pt FA3_BENCH_REPEATS=3 timeout 200 "${NCU[@]}" --set full --import-source no --kernel-name-base demangled \
      -k 'regex:decode_kernel.*fp8' --launch-skip 3 --launch-count 1 -o "$P/decode-fp8-$pt" -f \
      /tmp/node "$R/bench/fa3--decode.mjs" > "$P/decode-fp8-$pt.log" 2>&1
    echo "decode-fp8 $pt rc=$? ($(( $(date +%s) - t0 )) s)"
    export_report "decode-fp8-$pt"; pack
  done
fi
if has model-step && [[ -f .gpu-models/bench.mjs ]]; then
  t0=$(date +%s)
  FLASHGRAPH_MODELS_SKINNY_GEMM=0 timeout 300 "${NCU[@]}" --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv \
    --log-file "$P/model-step.csv" /tmp/node .gpu-models/bench.mjs --contexts 1024 --batches "${PROFILE_MODEL_BATCH:-1}" \
    --modes none --steps 3 > "$P/model-step.log" 2>&1
  echo "model-step rc=$? ($(( $(date +%s) - t0 )) s) $(grep -c gpu__time_duration "$P/model-step.csv") kernel rows"
  tail -3 "$P/model-step.log" | cut -c1-300
  pack
fi
pack
ls -la "$P" | head -30
