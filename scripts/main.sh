#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, compiles
# examples/hope.nl (self-modifying Titans + a three-level Continuum Memory
# System) to an executable, trains it on ../shared/data/tinyshakespeare.txt,
# then prints the validation loss (nats/token and bits per byte), a generated
# sample, and draws the loss curve. The run directory (metrics.jsonl,
# checkpoint.safetensors, eval.json, loss.png) is runs/hope (replaced each
# time).
#
# The default run is a reduced configuration of the example (width 64, 2
# layers, 4 heads, context 64, batch 8; NL_HOPE_CONFIG overrides it with nlc
# --set flags) for NL_STEPS steps (default 1400, 717k tokens: about 70
# seconds of training here on both cores, validation loss about 2.28
# nats/token, which depends on the CPU; NL_THREADS sets the threads). The
# example's own size (width 128, 4 layers, context 256, batch 16) trains at
# about 1,700 tokens/s here on both cores (docs/results.md, bench/peers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build="${NL_BUILD_DIR:-build}"
data="${NL_DATA:-../shared/data/tinyshakespeare.txt}"
steps="${NL_STEPS:-1400}"
threads="${NL_THREADS:-$(nproc)}"
run="${NL_RUN_DIR:-runs/hope}"
read -r -a config <<< "${NL_HOPE_CONFIG:---set d=64 --set layers=2 --set heads=4 --set context=64 --set batch=8}"

echo "== compiling examples/hope.nl ${config[*]}"
"$build/bin/nlc" examples/hope.nl "${config[@]}" -o "$build/hope"
"$build/hope" info
rm -rf "$run"
echo "== training on $data"
"$build/hope" train --data "$data" --run-dir "$run" --steps "$steps" \
  --lr 3 --warmup 20 --schedule cosine --eval-every 200 --log-every 50 \
  --threads "$threads"
echo "== validation"
"$build/hope" eval --data "$data" --run-dir "$run" | tee "$run/eval.json"
.venv/bin/python - "$run/eval.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"validation loss after {m['step']} steps: {m['loss']:.4f} nats/token, {m['bpb']:.4f} bits per byte")
PY
echo "== sample"
"$build/hope" generate --run-dir "$run" --prompt "ROMEO:" --tokens 200 --temperature 0.8
.venv/bin/python scripts/plot_run.py "$run" --title "Hope on Tiny Shakespeare (scripts/main.sh)"
echo "== run directory: $run (metrics.jsonl, checkpoint.safetensors, loss.png, eval.json)"
