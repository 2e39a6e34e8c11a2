#!/usr/bin/env bash
# Prepares .gpu-round/ (git-ignored) for tooling/gpu/round-check.sh: the bundled GPU suites and
# addons (tooling/gpu/prepare.mjs), the models' transformers check (models-prepare.mjs), and
# fa3's standalone self-test with its device script (FA3_BASELINE_SELFTEST: an earlier build of it
# beside). Run after `pnpm build`.
set -euo pipefail
cd "$(dirname "$0")/../.."
node tooling/gpu/prepare.mjs > /dev/null
bash native/fa3/tests/run.sh --build-only > /dev/null
rm -rf .gpu-round /tmp/round-models && mkdir -p .gpu-round/models .gpu-round/fa3
cp -r .gpu/node.xz .gpu/native .gpu/suite .gpu-round/
mkdir -p .gpu-round/bench && cp .gpu/bench/fa3--decode.mjs .gpu-round/bench/
# cuda's interop suite loads a second addon (built by `pnpm --filter @flashgraph/cuda build:interop`).
(cd packages/cuda && npx -y pnpm@10.34.9 build:interop > /dev/null)
cp native/interop-test/build/Release/flashgraph_interop_test.node .gpu-round/native/
node tooling/gpu/models-prepare.mjs --dest /tmp/round-models > /dev/null
cp /tmp/round-models/{driver.mjs,cli.mjs,models-check.py} .gpu-round/models/
cp native/fa3/build/selftest/fa3_selftest native/fa3/tests/prefill-device.sh native/fa3/tests/sdpa_baseline.py .gpu-round/fa3/
cp tooling/gpu/round-check.sh .gpu-round/
# FA3_BASELINE_SELFTEST="NAME=PATH ...": earlier builds of the self-test (e.g. from a worktree of
# the previous commit), each carried as .gpu-round/NAME/fa3_selftest for prefill-device.sh's
# GRID_BASELINE.
for b in ${FA3_BASELINE_SELFTEST:-}; do mkdir -p ".gpu-round/${b%%=*}" && cp "${b#*=}" ".gpu-round/${b%%=*}/fa3_selftest"; done
du -sh .gpu-round
bash tooling/gpu/pack.sh
