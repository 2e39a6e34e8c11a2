#!/usr/bin/env bash
# Runs on the lent GPU machine from a folder prepared by `node tooling/gpu/models-prepare.mjs`
# (carry it; default .gpu-models): the models' kernel and sampler GPU tests, compute-sanitizer
# memcheck on them, and (when the bundle holds them) the transformers comparison and the benchmark.
#   bash models-device.sh [kernels|check|bench|sanitize|all]...
# Logs go to $OUT; a summary with the card's name is printed last.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
steps=${*:-all}
has() { [[ " $steps " == *" $1 "* || " $steps " == *" all "* ]]; }
xz -dc "$here/node.xz" > /tmp/node && chmod +x /tmp/node
export FLASHGRAPH_NATIVE_DIR=$here/native
export PATH=/tmp/fgbin:$PATH
mkdir -p /tmp/fgbin && ln -sf /tmp/node /tmp/fgbin/node
card=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
echo "card: ${card:-unknown}  date: $(date -u +%FT%TZ)  node: $(/tmp/node --version)"
summary=()

{
  echo "python: $(command -v python3) $(python3 -c 'import sys, torch, transformers; print(sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__)' 2>&1)"
  echo "libcublasLt files:"; find / -xdev -name 'libcublasLt.so*' 2>/dev/null | head -20
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}  CUDA_HOME=${CUDA_HOME:-}  VIRTUAL_ENV=${VIRTUAL_ENV:-}"
} > "$OUT/environment.log" 2>&1
head -c 3000 "$OUT/environment.log"

if has kernels; then
  tests=$(ls "$here"/suite/*.mjs 2>/dev/null)
  if [[ -n $tests ]]; then
    /tmp/node --test --test-concurrency=1 --test-reporter=spec $tests > "$OUT/kernels.log" 2>&1; rc=$?
    grep -E '^# (cuBLASLt|gemm|skinny|addRmsNorm|qkvRope|siluMul|sampler)' "$OUT/kernels.log" | cut -c1-400
    grep -E '✖|not ok|Error' "$OUT/kernels.log" | head -30
    summary+=("kernel/sampler tests rc=$rc: $(grep -E '^ℹ (pass|fail)' "$OUT/kernels.log" | tr '\n' ' ')")
  fi
fi
if has sanitize; then
  for f in "$here"/suite/*.mjs; do
    n=$(basename "$f" .mjs)
    timeout 240 compute-sanitizer --tool memcheck --error-exitcode 17 /tmp/node --test "$f" > "$OUT/memcheck-$n.log" 2>&1; rc=$?
    summary+=("memcheck $n rc=$rc $(grep -E 'ERROR SUMMARY' "$OUT/memcheck-$n.log" | tail -1)")
  done
fi
if has check && [[ -f $here/models-check.py ]]; then
  # The driver (one process per architecture) unless FLASHGRAPH_CHECK_CLI=1 asks for one
  # `flashgraph generate` process per run.
  if [[ ${FLASHGRAPH_CHECK_CLI:-0} == 1 || ! -f $here/driver.mjs ]]; then how=(--cli "$here/cli.mjs"); else how=(--driver "$here/driver.mjs"); fi
  PYTHONUNBUFFERED=1 timeout ${FLASHGRAPH_CHECK_TIMEOUT:-420} python3 "$here/models-check.py" --node /tmp/node "${how[@]}" --work /tmp/models-check \
    --out "$OUT" ${FLASHGRAPH_CHECK_ARGS:-} > "$OUT/models-check.log" 2>&1; rc=$?
  tail -n 60 "$OUT/models-check.log"
  summary+=("models-check rc=$rc")
fi
if has memcheck-generate && [[ -f $here/driver.mjs && -d /tmp/models-check/llama ]]; then
  # compute-sanitizer memcheck on a small model's generate (the check's Llama checkpoint).
  timeout ${FLASHGRAPH_MEMCHECK_TIMEOUT:-240} compute-sanitizer --tool memcheck --error-exitcode 17 /tmp/node "$here/driver.mjs" \
    --model /tmp/models-check/llama --runs full:8 --max-new-tokens 8 $(for i in 1 2 3 4 5 6 7 8; do echo --prompt-ids $((300+i)),$((400+i)),$((500+i*3)); done) \
    > "$OUT/memcheck-generate.log" 2>&1; rc=$?
  summary+=("memcheck generate (llama, full graphs, batch 8) rc=$rc $(grep -E 'ERROR SUMMARY' "$OUT/memcheck-generate.log" | tail -1)")
fi
if has bench && [[ -f $here/models-bench.py ]]; then
  PYTHONUNBUFFERED=1 timeout ${FLASHGRAPH_BENCH_TIMEOUT:-420} python3 "$here/models-bench.py" --node /tmp/node --bench "$here/bench.mjs" \
    --out "$OUT" ${FLASHGRAPH_BENCH_ARGS:-} > "$OUT/models-bench.log" 2>&1; rc=$?
  tail -n 40 "$OUT/models-bench.log"
  summary+=("models-bench rc=$rc")
fi
echo "==== summary (${card:-unknown})"
printf '%s\n' "${summary[@]}"
