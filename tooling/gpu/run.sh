#!/usr/bin/env bash
# Runs on the lent GPU machine (device tool), from the repo root, with `.gpu` carried:
#   bash tooling/gpu/run.sh [all|tests|bench|sanitize] [pattern]
# tests: every bundled GPU test (node:test); bench: every bundled benchmark; sanitize:
# compute-sanitizer memcheck on the crash-scenario and stale-tail suites, racecheck on a small case.
# Logs go to $OUT (or /tmp/out); the summary is printed last.
set -uo pipefail
what=${1:-all}; pattern=${2:-}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
export FLASHGRAPH_NATIVE_DIR=$PWD/.gpu/native
card=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${card:-unknown}  date: $(date -u +%F)  node: $(/tmp/node --version)"
summary=()
files() { ls "$1"/*.mjs 2>/dev/null | grep -E -- "${pattern:-.}" || true; }

if [[ $what == all || $what == tests ]]; then
  mapfile -t suite < <(files .gpu/suite)
  if ((${#suite[@]})); then
    /tmp/node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$OUT/gpu-tests.tap" "${suite[@]}" > "$OUT/gpu-tests.log" 2>&1
    rc=$?
    tail -n 12 "$OUT/gpu-tests.log"
    grep -E '^# (tests|pass|fail|skipped|cancelled)' "$OUT/gpu-tests.tap" | tr '\n' ' '; echo
    summary+=("tests rc=$rc: $(grep -E '^# (pass|fail|skipped)' "$OUT/gpu-tests.tap" | tr '\n' ' ')")
    grep -B2 -A25 -E '^not ok|✖' "$OUT/gpu-tests.log" | head -150 > "$OUT/gpu-failures.log"
  fi
fi
if [[ $what == all || $what == bench ]]; then
  for f in $(files .gpu/bench); do
    n=$(basename "$f" .mjs)
    timeout 240 /tmp/node "$f" > "$OUT/bench-$n.log" 2>&1; rc=$?
    echo "== bench $n (rc=$rc)"; tail -n 40 "$OUT/bench-$n.log"
    summary+=("bench $n rc=$rc")
  done
fi
if [[ $what == all || $what == sanitize ]]; then
  for f in $(ls .gpu/suite/*.mjs 2>/dev/null | grep -E 'crash-scenario|stale-tail'); do
    n=$(basename "$f" .mjs)
    timeout 300 compute-sanitizer --tool memcheck --error-exitcode 17 /tmp/node --test "$f" > "$OUT/memcheck-$n.log" 2>&1; rc=$?
    echo "== memcheck $n rc=$rc: $(grep -E 'ERROR SUMMARY' "$OUT/memcheck-$n.log" | tail -1)"
    summary+=("memcheck $n rc=$rc $(grep -E 'ERROR SUMMARY' "$OUT/memcheck-$n.log" | tail -1)")
  done
  for f in $(ls .gpu/suite/*.mjs 2>/dev/null | grep -E 'racecheck'); do
    n=$(basename "$f" .mjs)
    timeout 300 compute-sanitizer --tool racecheck --error-exitcode 17 /tmp/node --test "$f" > "$OUT/racecheck-$n.log" 2>&1; rc=$?
    summary+=("racecheck $n rc=$rc $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/racecheck-$n.log" | tail -1)")
  done
fi
echo "==== summary (${card:-unknown})"
printf '%s\n' "${summary[@]}"
