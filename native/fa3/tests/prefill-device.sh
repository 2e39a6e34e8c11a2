#!/usr/bin/env bash
# One device call for the wgmma prefill kernel (native/fa3/README.md, issue 14), run from a folder
# holding fa3_selftest (tests/run.sh --build-only), this script and sdpa_baseline.py:
#   bash prefill-device.sh [sass] [smoke] [wgmma] [wgmma-ov] [grid] [sdpa] [sanitize] [auto] [sanitize-auto] [bench]
# sass: HGMMA and local-memory instruction counts per kernel (cuobjdump from triton's bundle);
# smoke: 8 random configs on the wgmma kernel and its overlapped variant (a hang stops every
# later wgmma step); wgmma: the metadata and graph suites and random configs vs the CPU reference
# on FLASHGRAPH_FA3_KERNEL=wgmma (D = 128 configs run it, 64 / 256 fall back); wgmma-ov: the same
# on the overlapped variant (FLASHGRAPH_FA3_WGMMA_OVERLAP=1); grid: the prefill grid on the
# general kernel, the wgmma kernel and its overlapped variant; sdpa: PyTorch SDPA cuDNN / flash on
# the same shapes; sanitize: memcheck / racecheck / synccheck (SANITIZERS picks) on the wgmma
# kernel's tiny cases; auto: the self-test on the default kernel choice (prepare, graph,
# configs; they draw head dims 96 / 192 and attention sinks too); sanitize-auto: the sanitizers on
# the tiny cases with the default kernel choice (every head dim, sinks at 64 / 96 / 192 / 256: the
# issue-15 paths); bench: the decode bench (no-regression check).
# Logs go to $OUT/logs.tgz (refreshed after every step: the device tool returns at most 8 files);
# a summary with the card's name is printed last.
set -uo pipefail
RESULTS=${OUT:-/tmp/out}; mkdir -p "$RESULTS"
OUT=$(mktemp -d /tmp/fa3-prefill.XXXX)
here=$(cd "$(dirname "$0")" && pwd)
st=$here/fa3_selftest
steps=("$@"); ((${#steps[@]})) || steps=(sass smoke wgmma grid sdpa sanitize auto)
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
        "$cub" -sass "$st" > "$OUT/sass.txt" 2>&1
        # Per kernel function: HGMMA and local-memory (spill) instructions.
        awk '/Function :/ {f=$3} /HGMMA/ {h[f]++} /LDL|STL/ {l[f]++} END {for (k in h) print "  " k ": HGMMA " h[k] ", LDL/STL " (l[k]+0)}' "$OUT/sass.txt" > "$OUT/sass-summary.txt"
        summary+=("sass ($cub): $(grep -c HGMMA "$OUT/sass.txt") HGMMA in $(wc -l < "$OUT/sass-summary.txt") kernels"$'\n'"$(cat "$OUT/sass-summary.txt")")
      else
        summary+=("sass: no cuobjdump found")
      fi ;;
    smoke)
      for ov in 0 1; do
        FLASHGRAPH_FA3_WGMMA_OVERLAP=$ov FLASHGRAPH_FA3_KERNEL=wgmma timeout 30 "$st" correctness --configs 8 > "$OUT/wgmma-smoke$ov.log" 2>&1; rc=$?
        ((rc == 124)) && hang=1
        summary+=("wgmma (overlap=$ov) smoke rc=$rc: $(grep -E '^correctness:' "$OUT/wgmma-smoke$ov.log")")
        grep -E '^FAIL' "$OUT/wgmma-smoke$ov.log" | head -3
      done ;;
    wgmma)
      ((hang)) && { summary+=("wgmma suite skipped (smoke hung)"); continue; }
      FLASHGRAPH_FA3_KERNEL=wgmma timeout 50 "$st" prepare graph correctness --configs 32 > "$OUT/wgmma-selftest.log" 2>&1; rc=$?
      summary+=("wgmma selftest rc=$rc: $(grep -E '^(graph|correctness):' "$OUT/wgmma-selftest.log" | tr '\n' ' ') $(grep -E '^checks:' "$OUT/wgmma-selftest.log")")
      grep -E '^FAIL' "$OUT/wgmma-selftest.log" | head -8
      ;;
    wgmma-ov)
      ((hang)) && { summary+=("wgmma overlap suite skipped (smoke hung)"); continue; }
      FLASHGRAPH_FA3_WGMMA_OVERLAP=1 FLASHGRAPH_FA3_KERNEL=wgmma timeout 40 "$st" graph correctness --configs 24 > "$OUT/wgmma-ov-selftest.log" 2>&1; rc=$?
      summary+=("wgmma (overlap) selftest rc=$rc: $(grep -E '^(graph|correctness):' "$OUT/wgmma-ov-selftest.log" | tr '\n' ' ') $(grep -E '^checks:' "$OUT/wgmma-ov-selftest.log")")
      grep -E '^FAIL' "$OUT/wgmma-ov-selftest.log" | head -4 ;;
    auto)
      timeout 45 "$st" prepare graph correctness --configs 30 > "$OUT/auto-selftest.log" 2>&1; rc=$?
      summary+=("default-kernel selftest rc=$rc: $(grep -E '^checks:' "$OUT/auto-selftest.log")")
      grep -E '^FAIL' "$OUT/auto-selftest.log" | head -5 ;;
    grid)
      for k in general wgmma wgmma-ov; do
        [[ $k != general ]] && ((hang)) && continue
        ov=0; [[ $k == wgmma-ov ]] && ov=1
        FLASHGRAPH_FA3_WGMMA_OVERLAP=$ov FLASHGRAPH_FA3_KERNEL=${k%-ov} timeout 45 "$st" prefill --json "$OUT/grid-$k.jsonl" > "$OUT/grid-$k.log" 2>&1
        summary+=("grid $k rc=$?")
      done ;;
    sdpa)
      PYTHONUNBUFFERED=1 timeout 60 python3 "$here/sdpa_baseline.py" > "$OUT/sdpa.jsonl" 2> "$OUT/sdpa.err"
      summary+=("sdpa rc=$? ($(head -1 "$OUT/sdpa.jsonl"))") ;;
    sanitize)
      ((hang)) && { summary+=("sanitizers skipped (smoke hung)"); continue; }
      for tool in ${SANITIZERS:-memcheck racecheck synccheck}; do
        FLASHGRAPH_FA3_KERNEL=wgmma timeout 30 compute-sanitizer --tool $tool --error-exitcode 17 "$st" race > "$OUT/wgmma-$tool.log" 2>&1
        summary+=("wgmma $tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/wgmma-$tool.log" | tail -1) $(grep -E '^checks:' "$OUT/wgmma-$tool.log")")
      done ;;
    sanitize-auto)
      for tool in ${SANITIZERS:-memcheck racecheck synccheck}; do
        timeout 30 compute-sanitizer --tool $tool --error-exitcode 17 "$st" race > "$OUT/auto-$tool.log" 2>&1
        summary+=("default-kernel $tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/auto-$tool.log" | tail -1) $(grep -E '^checks:' "$OUT/auto-$tool.log")")
      done ;;
    bench)
      timeout 50 "$st" bench --json "$OUT/bench.jsonl" > "$OUT/bench.log" 2>&1
      summary+=("decode bench rc=$?") ;;
  esac
  echo "   ($s: $(( $(date +%s) - t0 )) s)"
  tar czf "$RESULTS/logs.tgz" -C "$OUT" . 2>/dev/null
done
echo "==== prefill-device summary ($card)"
printf '%s\n' "${summary[@]}"
for k in general wgmma wgmma-ov; do [[ -f $OUT/grid-$k.log ]] && grep -E '^  (general|wgmma|wgmma-ov) ' "$OUT/grid-$k.log"; done
[[ -f $OUT/sdpa.jsonl ]] && grep '"sdpa"' "$OUT/sdpa.jsonl" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print("  sdpa causal=%d B=%d L=%-6d cudnn %s TFLOP/s  flash %s TFLOP/s" % (r["causal"], r["B"], r["L"], r.get("cudnn_tflops", r.get("cudnn_error")), r.get("flash_tflops", r.get("flash_error"))))'
[[ -f $OUT/bench.log ]] && sed -n '/==== fa3_selftest summary/,$p' "$OUT/bench.log" | grep -vE '^====|^checks'
exit 0
