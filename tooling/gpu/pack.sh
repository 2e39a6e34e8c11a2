#!/usr/bin/env bash
# Packs prepared device folders (default .gpu-round, plus .gpu-models when present) into
# .gpu-pack/ so one call can carry them: the device tool sends at most 64 MiB with the working
# tree, and .gpu-round alone is ~70 MB unpacked (the fa3 self-test is 18 MB of mostly-zero
# cubins). xz takes it to a few MB; node.xz (already compressed) travels once, not per folder.
# On the device, from the repository root:   bash .gpu-pack/unpack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
dirs=("$@")
if ((${#dirs[@]} == 0)); then
  dirs=(.gpu-round)
  [[ -d .gpu-models ]] && dirs+=(.gpu-models)
fi
for d in "${dirs[@]}"; do [[ -f $d/node.xz ]] || { echo "pack.sh: $d/node.xz missing (prepare $d first)" >&2; exit 1; }; done
rm -rf .gpu-pack && mkdir -p .gpu-pack
tar --exclude='*/node.xz' -cf - "${dirs[@]}" | xz -T2 -6 > .gpu-pack/folders.tar.xz
cp "${dirs[0]}/node.xz" .gpu-pack/node.xz
{
  echo '#!/usr/bin/env bash'
  echo '# Written by tooling/gpu/pack.sh: unpacks the prepared folders in the repository root.'
  echo 'set -euo pipefail'
  echo 'cd "$(dirname "$0")/.."'
  echo 'tar -xJf .gpu-pack/folders.tar.xz'
  for d in "${dirs[@]}"; do echo "cp .gpu-pack/node.xz $d/node.xz"; done
} > .gpu-pack/unpack.sh
du -sh .gpu-pack
