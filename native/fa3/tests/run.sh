#!/usr/bin/env bash
# Builds the standalone fa3 self-test with nvcc (no CMake, no Node) unless a binary is already
# there, then on a Hopper GPU runs: metadata + graph + correctness suite, compute-sanitizer
# memcheck on the graph scenarios, racecheck on tiny cases, and the benchmark grid.
#   bash native/fa3/tests/run.sh [--build-only] [--configs N] [--baseline DIR]
# --baseline DIR: also benchmark DIR/fa3_selftest (an earlier build) in the same call.
# Logs go to $OUT (default /tmp/fa3-out); a compact summary with the card's name is printed last.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# FA3_TRACE=1: a separate build with the kernels' timestamps compiled in (the `trace` mode).
if [[ ${FA3_TRACE:-0} == 1 ]]; then bin_dir=$here/build/selftest-trace; trace_flags=(-DFA3_TRACE); else bin_dir=$here/build/selftest; trace_flags=(); fi
bin=$bin_dir/fa3_selftest
OUT=${OUT:-/tmp/fa3-out}
mkdir -p "$OUT" "$bin_dir"
configs=150
build_only=0
baseline=
while (($#)); do
  case $1 in
    --build-only) build_only=1 ;;
    --configs) configs=$2; shift ;;
    --baseline) baseline=$2; shift ;;
  esac
  shift
done

build() {
  local flags=(-std=c++17 -O3 -lineinfo -gencode=arch=compute_90a,code=sm_90a -Xcompiler=-Wall -I"$here/../common" "${trace_flags[@]}")
  local srcs=(kernels/api.cu kernels/prepare.cu kernels/kv_write.cu kernels/forward_dispatch.cu
              kernels/forward_instantiate_bf16.cu kernels/forward_instantiate_fp16.cu
              kernels/decode_instantiate_bf16.cu kernels/decode_instantiate_fp16.cu
              kernels/forward_instantiate_fp8_bf16.cu kernels/forward_instantiate_fp8_fp16.cu
              kernels/decode_instantiate_fp8_bf16.cu kernels/decode_instantiate_fp8_fp16.cu
              kernels/wgmma_instantiate_bf16.cu kernels/wgmma_instantiate_fp16.cu tests/fa3_selftest.cu)
  local objs=() pids=() s o
  for s in "${srcs[@]}"; do
    o=$bin_dir/$(basename "$s" .cu).o
    objs+=("$o")
    (cd "$here" && nvcc "${flags[@]}" -Xptxas=-v -c "$s" -o "$o" > "$bin_dir/$(basename "$s" .cu).ptxas.log" 2>&1) &
    pids+=($!)
  done
  local rc=0 p
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  if ((rc)); then cat "$bin_dir"/*.ptxas.log | grep -iE 'error|warning' | head -40; return 1; fi
  nvcc "${flags[@]}" "${objs[@]}" -o "$bin" -lpthread
}

# Rebuilt whenever a kernel, the self-test or a shared header is newer than the binary (a stale
# self-test once "checked" kernels that were no longer the ones in the tree).
stale=$(find "$here/kernels" "$here/tests/fa3_selftest.cu" "$here/../common" -newer "$bin" -type f 2>/dev/null | head -1)
if [[ ! -x $bin || -n $stale ]]; then
  start=$(date +%s)
  build || { echo "BUILD FAILED"; exit 1; }
  echo "built $bin in $(( $(date +%s) - start )) s"
fi
grep -A2 -E 'forward_kernel|decode_kernel|wgmma_kernel' "$bin_dir"/*_instantiate_*.ptxas.log 2>/dev/null | grep -E 'Compiling|registers|spill' > "$OUT/forward-resources.txt"
((build_only)) && exit 0

card=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${card:-unknown}  date: $(date -u +%F)"
summary=()

timeout 100 "$bin" prepare graph correctness --configs "$configs" > "$OUT/correctness.log" 2>&1; rc=$?
summary+=("correctness rc=$rc: $(grep -E '^checks:' "$OUT/correctness.log")")
grep -E '^FAIL' "$OUT/correctness.log" | head -20

if command -v compute-sanitizer > /dev/null; then
  timeout 50 compute-sanitizer --tool memcheck --error-exitcode 17 "$bin" graph race > "$OUT/memcheck-graph.log" 2>&1; rc=$?
  summary+=("memcheck graph rc=$rc: $(grep -E 'ERROR SUMMARY' "$OUT/memcheck-graph.log" | tail -1) $(grep -E '^checks:' "$OUT/memcheck-graph.log")")
  timeout 25 compute-sanitizer --tool racecheck --racecheck-report all --error-exitcode 17 "$bin" race > "$OUT/racecheck.log" 2>&1; rc=$?
  summary+=("racecheck race rc=$rc: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/racecheck.log" | tail -1) $(grep -E '^checks:' "$OUT/racecheck.log")")
else
  summary+=("compute-sanitizer not found: sanitizer runs skipped")
fi

timeout 60 "$bin" bench --json "$OUT/bench.jsonl" > "$OUT/bench.log" 2>&1; rc=$?
summary+=("bench rc=$rc")
if [[ -n $baseline && -x $baseline/fa3_selftest ]]; then
  timeout 35 "$baseline/fa3_selftest" bench --json "$OUT/bench-baseline.jsonl" > "$OUT/bench-baseline.log" 2>&1; rc=$?
  summary+=("baseline bench ($baseline) rc=$rc")
fi

echo "==== fa3 summary (${card:-unknown})"
sed -n '/==== fa3_selftest summary/,$p' "$OUT/correctness.log" | grep -vE '^====|^checks'
sed -n '/==== fa3_selftest summary/,$p' "$OUT/bench.log" | grep -vE '^====|^checks'
if [[ -f $OUT/bench-baseline.log ]]; then
  echo "-- baseline:"; grep -E '^  B=|L=' "$OUT/bench-baseline.log" | sort -u
fi
cat "$OUT/forward-resources.txt" 2>/dev/null
printf '%s\n' "${summary[@]}"
