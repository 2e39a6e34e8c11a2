#!/usr/bin/env bash
# One device call that checks a whole round's GPU work on the merged tree (the lead's final call):
# correctness first, in parallel (every bundled GPU suite; the models against transformers and
# memcheck of a model's generate; fa3's self-test on the default kernel choice and on the wgmma
# kernel; memcheck of fa3's crash scenario), then fa3's decode grid with the bf16 cache next to the
# fp8 e4m3 cache alone on the card (ROUND_DECODE=0 skips it), then the prefill timings
# (ROUND_GRID=0 skips them).
# Prepared here by tooling/gpu/round-prepare.sh into .gpu-round (carry it); on the device, from
# the repository root:   bash .gpu-round/round-check.sh
# Logs: $OUT/round-logs.tgz (one file: the device tool returns at most 8); summary printed last.
set -uo pipefail
H=$(cd "$(dirname "$0")" && pwd)
RESULTS=${OUT:-/tmp/out}; mkdir -p "$RESULTS"
L=/tmp/round-logs; rm -rf "$L"; mkdir -p "$L"
xz -dc "$H/node.xz" > /tmp/node && chmod +x /tmp/node
mkdir -p /tmp/fgbin && ln -sf /tmp/node /tmp/fgbin/node
export PATH=/tmp/fgbin:$PATH FLASHGRAPH_NATIVE_DIR=$H/native
card=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)
echo "card: $card  date: $(date -u +%FT%TZ)  node: $(/tmp/node --version)"
t0=$(date +%s)
pack() { tar czf "$RESULTS/round-logs.tgz" -C "$L" . 2>/dev/null; }

# Phase A: correctness, in parallel.
# fa3's self-test steps run before the suites, or beside them with ROUND_FA3_PARALLEL=1 (a short
# call: correctness does not need the card to itself); ROUND_SUITE_CONCURRENCY runs suite files
# side by side (suites that compare free device memory can then see each other's allocations).
fa3_steps() { [[ ${ROUND_FA3_STEPS-x} != none ]] && (cd "$H/fa3" && OUT=$L/fa3 timeout ${ROUND_FA3_TIMEOUT:-200} bash prefill-device.sh ${ROUND_FA3_STEPS:-sass smoke wgmma-ov-tma auto} > "$L/fa3-correctness.log" 2>&1); }
[[ ${ROUND_FA3_PARALLEL:-0} == 1 ]] && fa3_steps &
( [[ ${ROUND_FA3_PARALLEL:-0} == 1 ]] || fa3_steps
  timeout ${ROUND_SUITE_TIMEOUT:-290} /tmp/node --test --test-concurrency=${ROUND_SUITE_CONCURRENCY:-1} --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$L/gpu-tests.tap" "$H"/suite/${ROUND_SUITES:-*}.mjs > "$L/gpu-tests.log" 2>&1
  echo $? > "$L/suites.rc"
  if [[ ${ROUND_WGMMA_SUITES:-0} == 1 ]]; then
    FLASHGRAPH_FA3_KERNEL=wgmma timeout ${ROUND_WGMMA_TIMEOUT:-300} /tmp/node --test --test-concurrency=1 --test-reporter=tap \
      --test-reporter-destination="$L/gpu-tests-wgmma.tap" "$H"/suite/fa3--*.mjs > "$L/gpu-tests-wgmma.log" 2>&1
    echo $? > "$L/suites-wgmma.rc"
  fi ) &
( cd "$H/models" && PYTHONUNBUFFERED=1 timeout ${ROUND_CHECK_TIMEOUT:-215} python3 models-check.py --node /tmp/node --driver "$H/models/driver.mjs" \
    --work /tmp/models-check --out "$L" ${ROUND_CHECK_ARGS:-} > "$L/models-check.log" 2>&1
  echo $? > "$L/models-check.rc"
  if [[ -d /tmp/models-check/llama ]]; then
    timeout ${ROUND_MEMCHECK_TIMEOUT:-75} compute-sanitizer --tool memcheck --error-exitcode 17 /tmp/node "$H/models/driver.mjs" \
      --model /tmp/models-check/llama --runs full:8 --max-new-tokens 8 \
      $(for i in 1 2 3 4 5 6 7 8; do echo --prompt-ids $((300+i)),$((400+i)),$((500+i*3)); done) > "$L/memcheck-generate.log" 2>&1
    echo $? > "$L/memcheck-generate.rc"
  fi ) &
[[ ${ROUND_MEMCHECK_FA3:-1} == 1 ]] && ( timeout ${ROUND_MEMCHECK_FA3_TIMEOUT:-200} compute-sanitizer --tool memcheck --error-exitcode 17 /tmp/node --test "$H/suite/fa3--crash-scenario.mjs" \
    > "$L/memcheck-fa3-crash.log" 2>&1; echo $? > "$L/memcheck-fa3-crash.rc" ) &
# fa3's fp8-cache kernels under memcheck and racecheck: the suite's small NaN-code case (one
# request of 200 keys through the decode kernel, on its standard and fast fp8 paths, then 40
# queries through the general kernel).
[[ ${ROUND_SANITIZE_FP8:-1} == 1 ]] && ( for tool in memcheck racecheck; do
    timeout ${ROUND_FP8_SANITIZE_TIMEOUT:-150} compute-sanitizer --tool $tool --error-exitcode 17 /tmp/node --test --test-name-pattern='NaN codes' \
      "$H/suite/fa3--fp8-kv.mjs" > "$L/$tool-fa3-fp8.log" 2>&1; echo $? > "$L/$tool-fa3-fp8.rc"
  done ) &
( /tmp/node "$H/models/cli.mjs" doctor > "$L/doctor.log" 2>&1 ) &
wait
echo "phase A done in $(( $(date +%s) - t0 )) s"; pack
echo "==== round check: correctness ($card), $(( $(date +%s) - t0 )) s"
echo "-- GPU suites rc=$(cat "$L/suites.rc" 2>/dev/null): $(grep -E '^# (tests|pass|fail|skipped|cancelled)' "$L/gpu-tests.tap" | tr '\n' ' ')"
grep -E '^not ok' "$L/gpu-tests.tap" | head -12
grep -E '^# skinny' "$L/gpu-tests.log" | cut -c1-300 | head -20  # the models' skinny GEMM: accuracy and bandwidth
[[ -f $L/suites-wgmma.rc ]] && echo "-- fa3 GPU suites on FLASHGRAPH_FA3_KERNEL=wgmma rc=$(cat "$L/suites-wgmma.rc"): $(grep -E '^# (tests|pass|fail)' "$L/gpu-tests-wgmma.tap" | tr '\n' ' ')" && grep -E '^not ok' "$L/gpu-tests-wgmma.tap" | head -5
echo "-- memcheck fa3 crash scenario rc=$(cat "$L/memcheck-fa3-crash.rc" 2>/dev/null): $(grep 'ERROR SUMMARY' "$L/memcheck-fa3-crash.log" | tail -1)"
for tool in memcheck racecheck; do
  [[ -f $L/$tool-fa3-fp8.rc ]] && echo "-- $tool fa3 fp8 cache rc=$(cat "$L/$tool-fa3-fp8.rc"): $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$L/$tool-fa3-fp8.log" | tail -1) $(grep -E '^# (pass|fail)' "$L/$tool-fa3-fp8.log" | tr '\n' ' ')"
done
echo "-- doctor: $(grep -iE 'cublas' "$L/doctor.log" | head -3 | tr '\n' ' ')"
echo "-- fa3 correctness:"; sed -n '/==== prefill-device summary/,$p' "$L/fa3-correctness.log" | head -30
echo "-- models vs transformers rc=$(cat "$L/models-check.rc" 2>/dev/null):"
sed -n '/== transformers vs flashgraph/,$p' "$L/models-check.log" | head -60
[[ -s $L/models-check.log ]] && ! grep -q '== transformers vs flashgraph' "$L/models-check.log" && tail -n 25 "$L/models-check.log"
echo "-- memcheck generate rc=$(cat "$L/memcheck-generate.rc" 2>/dev/null): $(grep 'ERROR SUMMARY' "$L/memcheck-generate.log" 2>/dev/null | tail -1)"

# Phase B: the decode grid (BENCHMARKS.md), bf16 and fp8 e4m3 caches point by point (fp8 on the
# standard decode kernel and on its fast path, FLASHGRAPH_FA3_FP8_FAST), alone on the card.
if [[ ${ROUND_DECODE:-1} == 1 ]]; then
  timeout ${ROUND_DECODE_TIMEOUT:-300} /tmp/node "$H/bench/fa3--decode.mjs" > "$L/fa3-decode.log" 2>&1
  echo $? > "$L/fa3-decode.rc"; pack
  echo "==== round check: decode grid, bf16 vs fp8 vs fp8 fast path ($card) rc=$(cat "$L/fa3-decode.rc"), $(( $(date +%s) - t0 )) s"
  grep -v '^{' "$L/fa3-decode.log" | tail -n 45
fi
# Phase C: prefill timings (general vs wgmma vs PyTorch SDPA cuDNN), alone on the card.
[[ ${ROUND_GRID:-1} == 0 ]] && exit 0
( cd "$H/fa3" && OUT=$L/fa3-grid timeout ${ROUND_GRID_TIMEOUT:-150} bash prefill-device.sh ${ROUND_GRID_STEPS:-grid sdpa} > "$L/fa3-grid.log" 2>&1 )
pack

echo "==== round check: prefill timings ($card), $(( $(date +%s) - t0 )) s"
sed -n '/==== prefill-device summary/,$p' "$L/fa3-grid.log" | head -40
exit 0
