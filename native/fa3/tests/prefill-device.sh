#!/usr/bin/env bash
# One device call for the wgmma prefill kernel (native/fa3/README.md, issue 14), run from a folder
# holding fa3_selftest (tests/run.sh --build-only), this script and sdpa_baseline.py:
#   bash prefill-device.sh [sass] [smoke] [wgmma] [wgmma-ov] [wgmma-ov-tma] [wgmma-lean] [wgmma-lean3] [grid] [sdpa] [duel] [sanitize] [auto] [sanitize-auto] [bench]
# The wgmma kernel's variants (each sets all four switches; unset, OVERLAP and TMA are on, LEAN and
# STAGES off): "wgmma" its plain main loop with the cp.async gather (FLASHGRAPH_FA3_WGMMA_OVERLAP=0
# FLASHGRAPH_FA3_WGMMA_TMA=0), "wgmma-ov" FA3's overlapped one with the warpgroup ping-pong
# (OVERLAP=1 TMA=0), "wgmma-ov-tma" that with K / V by TMA where the page size allows (OVERLAP=1
# TMA=1, the default: one box per block at page 256, one per page of a block at pages 16 / 32 /
# 64, 64 being a whole block at D = 256; 48 / 80 keep the gather); "wgmma-lean" the lean variant
# of that (FLASHGRAPH_FA3_WGMMA_LEAN=1: producer warp 0 alone on TMA blocks, sleeping waits, one
# word per stage; opt-in, wgmma_kernel.cuh), "wgmma-lean3" lean with three
# K / V stages at D = 128 (FLASHGRAPH_FA3_WGMMA_STAGES=3; at D = 64 / 256 it is wgmma-lean).
# sass: HGMMA and local-memory instruction counts per kernel (cuobjdump from triton's bundle);
# smoke: 8 random configs on each variant (a variant that hangs is skipped by every later step);
# wgmma / wgmma-ov / wgmma-ov-tma / wgmma-lean / wgmma-lean3: the metadata and graph suites and WGMMA_CONFIGS (default 32)
# random configs vs the CPU reference on FLASHGRAPH_FA3_KERNEL=wgmma (every head dim runs it);
# grid: the prefill grid on GRID_KERNELS (default: general and every variant) at head dims
# PREFILL_DIMS (default 128; the issue's grid is PREFILL_DIMS="64 128 256", ~3x the time) and
# pages PREFILL_PAGES (default "16 256"; "16 32 64 256" times the per-page TMA at 32 / 64 too), and
# with GRID_BASELINE="DIR..." each variant of every DIR/fa3_selftest (earlier builds) too, rows
# marked with the folder's name; sdpa:
# PyTorch SDPA cuDNN / flash on the same shapes; duel: the default kernel and SDPA cuDNN taking
# turns over a few D 128 points (DUEL_POINTS, DUEL_ROUNDS), medians and their ratio; sanitize:
# memcheck / racecheck / synccheck (SANITIZERS picks) on the tiny cases (every head dim; pages 16,
# 32, 64, 256) of each variant in VARIANTS (default all five; VARIANTS=wgmma-ov-tma for the
# production one only); auto: the self-test on the default kernel choice (prepare, graph, configs;
# they draw head dims 96 / 192 and attention sinks too); sanitize-auto: the sanitizers on the tiny cases with the
# default kernel choice (every head dim, sinks at 64 / 96 / 192 / 256: the issue-15 paths); bench:
# the decode bench (no-regression check).
# Logs go to $OUT/logs.tgz (refreshed after every step: the device tool returns at most 8 files);
# a summary with the card's name is printed last.
set -uo pipefail
RESULTS=${OUT:-/tmp/out}; mkdir -p "$RESULTS"
OUT=$(mktemp -d /tmp/fa3-prefill.XXXX)
here=$(cd "$(dirname "$0")" && pwd)
st=$here/fa3_selftest
steps=("$@"); ((${#steps[@]})) || steps=(sass smoke wgmma wgmma-ov wgmma-ov-tma wgmma-lean wgmma-lean3 grid sdpa sanitize auto)
dims=${PREFILL_DIMS:-128}
pages=${PREFILL_PAGES:-16 256}
configs=${WGMMA_CONFIGS:-32}
variants=(wgmma wgmma-ov wgmma-ov-tma wgmma-lean wgmma-lean3)
declare -A hang=()  # variant -> 1: it hung in the smoke step
# Runs a command with a variant's environment: vrun VARIANT CMD...
vrun() {
  local v=$1; shift
  local ov=0 tma=0 lean=0 stages=2
  [[ $v == *-ov* ]] && ov=1
  [[ $v == *-tma* ]] && tma=1
  [[ $v == *-lean* ]] && { ov=1; tma=1; lean=1; }
  [[ $v == *-lean3 ]] && stages=3
  FLASHGRAPH_FA3_WGMMA_OVERLAP=$ov FLASHGRAPH_FA3_WGMMA_TMA=$tma FLASHGRAPH_FA3_WGMMA_LEAN=$lean \
    FLASHGRAPH_FA3_WGMMA_STAGES=$stages FLASHGRAPH_FA3_KERNEL=wgmma "$@"
}
card=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)
echo "card: $card  date: $(date -u +%FT%TZ)"
summary=()
for s in "${steps[@]}"; do
  t0=$(date +%s)
  case $s in
    sass)
      cub=$(python3 -c 'import triton, os; print(os.path.join(os.path.dirname(triton.__file__), "backends/nvidia/bin/cuobjdump"))' 2>/dev/null)
      [[ -x $cub ]] || cub=$(command -v cuobjdump || ls /usr/local/cuda*/bin/cuobjdump 2>/dev/null | head -1)
      if [[ -n $cub && -x $cub ]]; then
        "$cub" -sass "$st" > "$OUT/sass.txt" 2>&1
        # Per kernel function: HGMMA, TMA (UTMALDG) and local-memory (spill) instructions.
        awk '/Function :/ {f=$3} /HGMMA/ {h[f]++} /UTMALDG/ {t[f]++} /LDL|STL/ {l[f]++} END {for (k in h) print "  " k ": HGMMA " h[k] ", UTMALDG " (t[k]+0) ", LDL/STL " (l[k]+0)}' "$OUT/sass.txt" > "$OUT/sass-summary.txt"
        summary+=("sass ($cub): $(grep -c HGMMA "$OUT/sass.txt") HGMMA in $(wc -l < "$OUT/sass-summary.txt") kernels"$'\n'"$(cat "$OUT/sass-summary.txt")")
      else
        summary+=("sass: no cuobjdump found")
      fi ;;
    smoke)
      for v in "${variants[@]}"; do
        vrun "$v" timeout 30 "$st" correctness --configs 8 > "$OUT/$v-smoke.log" 2>&1; rc=$?
        ((rc == 124)) && hang[$v]=1
        summary+=("$v smoke rc=$rc: $(grep -E '^correctness:' "$OUT/$v-smoke.log")")
        grep -E '^FAIL' "$OUT/$v-smoke.log" | head -3
      done ;;
    wgmma | wgmma-ov | wgmma-ov-tma | wgmma-lean | wgmma-lean3)
      [[ -n ${hang[$s]:-} ]] && { summary+=("$s suite skipped (smoke hung)"); continue; }
      vrun "$s" timeout $((30 + configs)) "$st" prepare graph correctness --configs "$configs" > "$OUT/$s-selftest.log" 2>&1; rc=$?
      summary+=("$s selftest rc=$rc: $(grep -E '^(graph|correctness):' "$OUT/$s-selftest.log" | tr '\n' ' ') $(grep -E '^checks:' "$OUT/$s-selftest.log")")
      grep -E '^FAIL' "$OUT/$s-selftest.log" | head -8 ;;
    auto)
      timeout 45 "$st" prepare graph correctness --configs 30 > "$OUT/auto-selftest.log" 2>&1; rc=$?
      summary+=("default-kernel selftest rc=$rc: $(grep -E '^checks:' "$OUT/auto-selftest.log")")
      grep -E '^FAIL' "$OUT/auto-selftest.log" | head -5 ;;
    grid)
      # Time per variant: 45 s per head dim at two page sizes.
      ndims=$(( ($(wc -w <<< "$dims") * $(wc -w <<< "$pages") + 1) / 2 ))
      for v in ${GRID_KERNELS:-general ${variants[*]}}; do
        [[ -n ${hang[$v]:-} ]] && continue
        if [[ $v == general ]]; then
          FLASHGRAPH_FA3_KERNEL=general timeout $((45 * ndims)) "$st" prefill --dims "${dims// /,}" --pages "${pages// /,}" --json "$OUT/grid-$v.jsonl" > "$OUT/grid-$v.log" 2>&1
        else
          vrun "$v" timeout $((45 * ndims)) "$st" prefill --dims "${dims// /,}" --pages "${pages// /,}" --json "$OUT/grid-$v.jsonl" > "$OUT/grid-$v.log" 2>&1
        fi
        summary+=("grid $v rc=$?")
        # GRID_BASELINE="DIR...": the same variant from each DIR/fa3_selftest (earlier builds), in the same call.
        for b in ${GRID_BASELINE:-}; do
          [[ $v == general ]] && continue
          vrun "$v" timeout $((45 * ndims)) "$b/fa3_selftest" prefill --dims "${dims// /,}" --pages "${pages// /,}" --json "$OUT/grid-base-$(basename "$b")-$v.jsonl" > "$OUT/grid-base-$(basename "$b")-$v.log" 2>&1
          summary+=("grid baseline $(basename "$b") $v rc=$?")
        done
      done ;;
    sdpa)
      PYTHONUNBUFFERED=1 timeout $((60 * $(wc -w <<< "$dims"))) python3 "$here/sdpa_baseline.py" $dims > "$OUT/sdpa.jsonl" 2> "$OUT/sdpa.err"
      summary+=("sdpa rc=$? ($(head -1 "$OUT/sdpa.jsonl"))") ;;
    duel)
      # The default kernel and cuDNN taking turns, DUEL_ROUNDS (default 3) rounds over DUEL_POINTS
      # ("causal,B,page,L ...", D 128), so clock and power drift reach both alike; medians per point.
      # With GRID_BASELINE each earlier build takes its turn too (rows marked with its folder).
      pts=${DUEL_POINTS:-1,8,256,4096 1,8,256,16384 1,1,256,4096 1,1,256,16384}
      only=$(tr ' ' ';' <<< "$pts")
      sonly=$(for q in $pts; do IFS=, read -r c b _ l <<< "$q"; printf '%s,%s,%s;' "$c" "$b" "$l"; done)
      dpages=$(for q in $pts; do cut -d, -f3 <<< "$q"; done | sort -u | paste -sd,)
      for r in $(seq "${DUEL_ROUNDS:-3}"); do
        FA3_PREFILL_ONLY=$only timeout 120 "$st" prefill --dims 128 --pages "$dpages" --json "$OUT/duel-ours-$r.jsonl" > "$OUT/duel-ours-$r.log" 2>&1
        for b in ${GRID_BASELINE:-}; do
          FA3_PREFILL_ONLY=$only timeout 120 "$b/fa3_selftest" prefill --dims 128 --pages "$dpages" --json "$OUT/duel-$(basename "$b")-$r.jsonl" > "$OUT/duel-$(basename "$b")-$r.log" 2>&1
        done
        SDPA_ONLY=$sonly PYTHONUNBUFFERED=1 timeout 120 python3 "$here/sdpa_baseline.py" 128 > "$OUT/duel-sdpa-$r.jsonl" 2>> "$OUT/sdpa.err"
      done
      summary+=("duel (${DUEL_ROUNDS:-3} rounds, median TFLOP/s; ours = the default kernel):"$'\n'"$(cd "$OUT" && python3 -c '
import glob, json, re, statistics
runs, cudnn = {}, {}
for f in sorted(glob.glob("duel-*.jsonl")):
    who = re.match(r"duel-(.*)-[0-9]+[.]jsonl", f).group(1)
    for l in open(f):
        if not l.startswith("{"): continue
        r = json.loads(l)
        if r.get("kind") == "sdpa" and "cudnn_tflops" in r: cudnn.setdefault((r["causal"], r["B"], r["L"]), []).append(r["cudnn_tflops"])
        elif r.get("kind") == "prefill": runs.setdefault(who, {}).setdefault((r["causal"], r["B"], r["page"], r["L"]), []).append(r["tflops"])
for who in sorted(runs, key=lambda w: w != "ours"):
    for (c, b, pg, L), v in sorted(runs[who].items()):
        o = statistics.median(v); d = cudnn.get((c, b, L))
        line = "  duel %s causal=%d B=%d page=%d L=%-6d %6.1f (%s)" % (who, c, b, pg, L, o, " ".join("%.1f" % x for x in v))
        if d: line += "  cudnn %6.1f (%s)  ratio %.3f" % (statistics.median(d), " ".join("%.1f" % x for x in d), o / statistics.median(d))
        print(line)')") ;;
    sanitize)
      for v in ${VARIANTS:-${variants[*]}}; do
        [[ " ${variants[*]} " == *" $v "* ]] || { summary+=("sanitize: unknown variant '$v' (VARIANTS: ${variants[*]})"); continue; }
        [[ -n ${hang[$v]:-} ]] && { summary+=("sanitizers on $v skipped (smoke hung)"); continue; }
        for tool in ${SANITIZERS:-memcheck racecheck synccheck}; do
          vrun "$v" timeout 90 compute-sanitizer --tool $tool --error-exitcode 17 "$st" race > "$OUT/$v-$tool.log" 2>&1
          summary+=("$v $tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/$v-$tool.log" | tail -1) $(grep -E '^checks:' "$OUT/$v-$tool.log")")
        done
      done ;;
    sanitize-auto)
      for tool in ${SANITIZERS:-memcheck racecheck synccheck}; do
        timeout 60 compute-sanitizer --tool $tool --error-exitcode 17 "$st" race > "$OUT/auto-$tool.log" 2>&1
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
for k in general "${variants[@]}"; do
  [[ -f $OUT/grid-$k.log ]] && grep -E '^  (general|wgmma[-a-z0-9]*) ' "$OUT/grid-$k.log"
  for b in ${GRID_BASELINE:-}; do
    [[ -f $OUT/grid-base-$(basename "$b")-$k.log ]] && grep -E '^  wgmma[-a-z0-9]* ' "$OUT/grid-base-$(basename "$b")-$k.log" | sed "s/^  /  $(basename "$b") /"
  done
done
[[ -f $OUT/sdpa.jsonl ]] && grep '"sdpa"' "$OUT/sdpa.jsonl" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print("  sdpa D=%-3d causal=%d B=%d L=%-6d cudnn %s TFLOP/s  flash %s TFLOP/s" % (r.get("D", 128), r["causal"], r["B"], r["L"], r.get("cudnn_tflops", r.get("cudnn_error")), r.get("flash_tflops", r.get("flash_error"))))'
[[ -f $OUT/bench.log ]] && sed -n '/==== fa3_selftest summary/,$p' "$OUT/bench.log" | grep -vE '^====|^checks'
exit 0
