#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, compiles
# examples/hope.nl (self-modifying Titans + a three-level Continuum Memory
# System) to an executable, trains it on ../shared/data/tinyshakespeare.txt,
# then prints the validation loss and a generated sample. The run directory
# (metrics.jsonl, checkpoint.safetensors) is runs/hope (replaced each time).
#
# The CPU code is not yet fast, so the default run is a reduced
# configuration of the example (width 32, 2 layers, 2 heads, context 64,
# batch 8; NL_HOPE_CONFIG overrides it with nlc --set flags) for NL_STEPS
# steps (default 800, about 2 minutes of training here on both cores:
# validation loss 2.50 nats/token; NL_THREADS sets the threads of the fused
# memory kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build="${NL_BUILD_DIR:-build}"
data="${NL_DATA:-../shared/data/tinyshakespeare.txt}"
steps="${NL_STEPS:-800}"
threads="${NL_THREADS:-$(nproc)}"
run="${NL_RUN_DIR:-runs/hope}"
read -r -a config <<< "${NL_HOPE_CONFIG:---set d=32 --set layers=2 --set heads=2 --set context=64 --set batch=8}"

echo "== compiling examples/hope.nl ${config[*]}"
"$build/bin/nlc" examples/hope.nl "${config[@]}" -o "$build/hope"
"$build/hope" info
rm -rf "$run"
echo "== training on $data"
"$build/hope" train --data "$data" --run-dir "$run" --steps "$steps" \
  --lr 3 --warmup 20 --schedule cosine --eval-every 200 --log-every 20 \
  --threads "$threads"
echo "== validation"
"$build/hope" eval --data "$data" --run-dir "$run"
echo "== sample"
"$build/hope" generate --run-dir "$run" --prompt "ROMEO:" --tokens 120 --temperature 0.8
echo "== run directory: $run (metrics.jsonl, checkpoint.safetensors)"
