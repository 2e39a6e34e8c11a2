#!/usr/bin/env bash
# One device call for the wgmma prefill kernel (native/fa3/README.md, issue 14), run from a folder
# holding fa3_selftest (tests/run.sh --build-only), this script and sdpa_baseline.py:
#   bash prefill-device.sh [smoke] [wgmma] [auto] [grid] [sdpa] [sanitize] [bench] [sass]
# smoke: 8 random configs on the wgmma kernel (a hang stops every later wgmma step); wgmma: the
# graph suite and random configs vs the CPU reference on FLASHGRAPH_FA3_KERNEL=wgmma (D = 128
# configs run it, 64 / 256 fall back); auto: the self-test as shipped (prepare, graph, configs);
# grid: the prefill grid on the general and the wgmma kernel; sdpa: PyTorch SDPA cuDNN / flash on
# the same shapes; sanitize: memcheck / racecheck / synccheck on the wgmma kernel's tiny cases;
# bench: the decode bench (no-regression check); sass: HGMMA count in the wgmma kernel's SASS.
# Logs go to $OUT; a summary with the card's name is printed last.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
here=$(cd "$(dirname "$0")" && pwd)
st=$here/fa3_selftest
steps=("$@"); ((${#steps[@]})) || steps=(sass smoke wgmma grid sdpa sanitize auto bench)
card=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)
echo "card: $card  date: $(date -u +%FT%TZ)"
summary=()
hang=0
for s in "${steps[@]}"; do
  t0=$(date +%s)
  case $s in
    sass)
      cub=$(python3 -c 'import triton, os; print(os.path.join(os.path.dirname(triton.__file__), "backends/nvidia/bin/cuobjdump"))' 2>/dev/null)
      [[ -x $cub ]] || cub=$(command -v cuobjdump || ls /usr/local/cuda*/bin/cuobjdump 2>/dev/null | head -1)
      if [[ -n $cub && -x $cub ]]; then
        "$cub" -sass -fun '_ZN3fa312wgmma_kernelILi128E13__nv_bfloat16EEvNS_13ForwardParamsE' "$st" > "$OUT/wgmma-sass.txt" 2>&1
        summary+=("sass ($cub): wgmma_kernel<128,bf16> HGMMA $(grep -c HGMMA "$OUT/wgmma-sass.txt"), local ld/st $(grep -cE 'LDL|STL' "$OUT/wgmma-sass.txt")")
      else
        summary+=("sass: no cuobjdump found")
      fi ;;
    smoke)
      FLASHGRAPH_FA3_KERNEL=wgmma timeout 30 "$st" correctness --configs 8 > "$OUT/wgmma-smoke.log" 2>&1; rc=$?
      ((rc == 124)) && hang=1
      summary+=("wgmma smoke rc=$rc: $(grep -E '^correctness:' "$OUT/wgmma-smoke.log")")
      grep -E '^FAIL' "$OUT/wgmma-smoke.log" | head -5 ;;
    wgmma)
      ((hang)) && { summary+=("wgmma suite skipped (smoke hung)"); continue; }
      FLASHGRAPH_FA3_KERNEL=wgmma timeout 90 "$st" prepare graph correctness --configs 80 > "$OUT/wgmma-selftest.log" 2>&1; rc=$?
      summary+=("wgmma selftest rc=$rc: $(grep -E '^(graph|correctness):' "$OUT/wgmma-selftest.log" | tr '\n' ' ') $(grep -E '^checks:' "$OUT/wgmma-selftest.log")")
      grep -E '^FAIL' "$OUT/wgmma-selftest.log" | head -8 ;;
    auto)
      timeout 60 "$st" prepare graph correctness --configs 40 > "$OUT/auto-selftest.log" 2>&1; rc=$?
      summary+=("default-kernel selftest rc=$rc: $(grep -E '^checks:' "$OUT/auto-selftest.log")")
      grep -E '^FAIL' "$OUT/auto-selftest.log" | head -5 ;;
    grid)
      for k in general wgmma; do
        [[ $k == wgmma ]] && ((hang)) && continue
        FLASHGRAPH_FA3_KERNEL=$k timeout 45 "$st" prefill --json "$OUT/grid-$k.jsonl" > "$OUT/grid-$k.log" 2>&1
        summary+=("grid $k rc=$?")
      done ;;
    sdpa)
      PYTHONUNBUFFERED=1 timeout 60 python3 "$here/sdpa_baseline.py" > "$OUT/sdpa.jsonl" 2> "$OUT/sdpa.err"
      summary+=("sdpa rc=$? ($(head -1 "$OUT/sdpa.jsonl"))") ;;
    sanitize)
      ((hang)) && { summary+=("sanitizers skipped (smoke hung)"); continue; }
      for tool in memcheck racecheck synccheck; do
        FLASHGRAPH_FA3_KERNEL=wgmma timeout 40 compute-sanitizer --tool $tool --error-exitcode 17 "$st" race > "$OUT/wgmma-$tool.log" 2>&1
        summary+=("wgmma $tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/wgmma-$tool.log" | tail -1) $(grep -E '^checks:' "$OUT/wgmma-$tool.log")")
      done ;;
    bench)
      timeout 60 "$st" bench --json "$OUT/bench.jsonl" > "$OUT/bench.log" 2>&1
      summary+=("decode bench rc=$?") ;;
  esac
  echo "   ($s: $(( $(date +%s) - t0 )) s)"
done
echo "==== prefill-device summary ($card)"
printf '%s\n' "${summary[@]}"
for k in general wgmma; do [[ -f $OUT/grid-$k.log ]] && grep -E '^  (general|wgmma) ' "$OUT/grid-$k.log"; done
[[ -f $OUT/sdpa.jsonl ]] && grep '"sdpa"' "$OUT/sdpa.jsonl" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print("  sdpa causal=%d B=%d L=%-6d cudnn %s TFLOP/s  flash %s TFLOP/s" % (r["causal"], r["B"], r["L"], r.get("cudnn_tflops", r.get("cudnn_error")), r.get("flash_tflops", r.get("flash_error"))))'
[[ -f $OUT/bench.log ]] && sed -n '/==== fa3_selftest summary/,$p' "$OUT/bench.log" | grep -vE '^====|^checks'
exit 0
