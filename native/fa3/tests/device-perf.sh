#!/usr/bin/env bash
# One device call for the decode-performance work (native/fa3/README.md "Measured"): the decode
# bench on this build, the previous build's key points (if .gpu/native-old exists), ncu of the
# forward kernel at the small-batch targets, then the fa3 GPU suites and the sanitizers.
# Usage (device tool, carry .gpu and native/fa3/build/selftest{,-trace}):
#   bash native/fa3/tests/device-perf.sh [selftest|trace|bench|general|nopdl|old|ncu|tests|sanitize]...
# selftest: the standalone self-test (metadata, graph, 150 random configs) and its memcheck /
# racecheck runs; trace: the kernels' own timestamps of a small-batch step (FA3_TRACE build), with
# on the decode kernel and on the general forward kernel (FLASHGRAPH_FA3_DECODE=0); general: the
# whole decode bench again on the general forward kernel, in the same call; nopdl: the B=1 bench points with FLASHGRAPH_FA3_PDL=0.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
steps=("$@"); ((${#steps[@]})) || steps=(bench old ncu tests sanitize)
nv() { nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1; }
echo "card: $(nv)  date: $(date -u +%F)"
for s in "${steps[@]}"; do
  t0=$(date +%s)
  case $s in
    selftest)
      st=native/fa3/build/selftest/fa3_selftest
      timeout 150 $st prepare graph correctness --configs 150 > "$OUT/selftest.log" 2>&1; echo "== selftest rc=$?"; grep -E '^FAIL' "$OUT/selftest.log" | head; grep -E '^checks:' "$OUT/selftest.log"
      timeout 100 compute-sanitizer --tool memcheck --error-exitcode 17 $st graph race > "$OUT/selftest-memcheck.log" 2>&1
      echo "== selftest memcheck rc=$?: $(grep 'ERROR SUMMARY' "$OUT/selftest-memcheck.log" | tail -1)"
      timeout 100 compute-sanitizer --tool racecheck --error-exitcode 17 $st race > "$OUT/selftest-racecheck.log" 2>&1
      echo "== selftest racecheck rc=$?: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/selftest-racecheck.log" | tail -1)" ;;
    trace)
      for dec in 1 0; do
        FLASHGRAPH_FA3_DECODE=$dec timeout 60 native/fa3/build/selftest-trace/fa3_selftest trace > "$OUT/trace-decode$dec.log" 2>&1
        echo "== trace decode-kernel=$dec rc=$?"; sed -n '/==== fa3_selftest summary/,$p' "$OUT/trace-decode$dec.log" | grep -v '^====\|^checks'
      done ;;
    general)
      FLASHGRAPH_FA3_DECODE=0 FLASHGRAPH_NATIVE_DIR=$PWD/.gpu/native timeout 150 /tmp/node .gpu/bench/fa3--decode.mjs > "$OUT/bench-general.log" 2>&1
      echo "== bench (general forward kernel) rc=$?"; grep -v '^{' "$OUT/bench-general.log" | tail -n 30 ;;
    nopdl)
      for only in 1x1024 1x4096 1x32768; do
        FLASHGRAPH_FA3_PDL=0 FA3_BENCH_ONLY=$only FLASHGRAPH_NATIVE_DIR=$PWD/.gpu/native timeout 60 /tmp/node .gpu/bench/fa3--decode.mjs > "$OUT/bench-nopdl-$only.log" 2>&1
        echo "== no PDL $only rc=$?"; grep -E '^ +[0-9]+ +[0-9]+ |copy|B=1, context' "$OUT/bench-nopdl-$only.log" | tail -n 4
      done ;;
    bench)
      FLASHGRAPH_NATIVE_DIR=$PWD/.gpu/native timeout 150 /tmp/node .gpu/bench/fa3--decode.mjs > "$OUT/bench-new.log" 2>&1
      echo "== bench (this build) rc=$?"; grep -v '^{' "$OUT/bench-new.log" | tail -n 30 ;;
    old)
      [[ -d .gpu/native-old ]] || continue
      for only in 1x4096 1x32768 8x32768; do
        FA3_BENCH_ONLY=$only FLASHGRAPH_NATIVE_DIR=$PWD/.gpu/native-old timeout 60 /tmp/node .gpu/bench/fa3--decode.mjs > "$OUT/bench-old-$only.log" 2>&1
        echo "== old build $only rc=$?"; grep -E '^ +[0-9]+ +[0-9]+ |copy' "$OUT/bench-old-$only.log" | tail -n 4
      done ;;
    ncu)
      for only in 1x32768 1x4096; do
        FA3_BENCH_ONLY=$only FA3_BENCH_REPEATS=3 FLASHGRAPH_NATIVE_DIR=$PWD/.gpu/native timeout 120 \
          ncu --clock-control none -k 'regex:prepare|forward' --launch-count 2 \
          --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats --section SchedulerStats \
          /tmp/node .gpu/bench/fa3--decode.mjs > "$OUT/ncu-$only.log" 2>&1
        echo "== ncu $only rc=$?"
        grep -E '^  [a-z_]+.*\(|Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Grid Size|Warp Cycles Per Issued|Issued Warp|No Eligible|Stall|Shared Memory Configuration Size|Block Limit' "$OUT/ncu-$only.log" | head -40
      done ;;
    tests)
      timeout 200 bash tooling/gpu/run.sh tests 'fa3--' > "$OUT/tests.log" 2>&1; echo "== tests rc=$?"; tail -n 8 "$OUT/tests.log"
      cp -f /tmp/out/gpu-failures.log "$OUT/" 2>/dev/null; [[ -s $OUT/gpu-failures.log ]] && head -40 "$OUT/gpu-failures.log" ;;
    sanitize)
      timeout 200 bash tooling/gpu/run.sh sanitize 'fa3--' > "$OUT/sanitize.log" 2>&1; echo "== sanitize rc=$?"; tail -n 6 "$OUT/sanitize.log" ;;
  esac
  echo "   ($s: $(( $(date +%s) - t0 )) s)"
done
