#!/usr/bin/env bash
# The cuda target on a machine with an NVIDIA GPU (docs/gpu.md).
#
# The GPU machine has no LLVM/MLIR 22 to build nlc with, so the check has
# two halves:
#
#   bash scripts/device-check.sh prepare [DIR]
#       here (after scripts/setup.sh and a build): builds every example
#       model for the cpu and for the cuda target into DIR (default
#       .device, ignored by git), with the shared libraries they load and
#       the bundled text, packed into DIR.tar.xz (the one file to carry).
#   bash scripts/device-check.sh run [DIR]
#       on the GPU machine: for each model, the GPU build against the CPU
#       build: at the CPU build's weights after 0, 1 and 2 training steps,
#       the loss and every gradient of that step's batch (`dump`), relative
#       RMS error < 1e-4 (fp32); the losses of three training steps
#       (relative error < 1e-4); a CPU checkpoint resumed on the GPU; then
#       training tokens/s of both builds. One summary line per check;
#       figures in DIR/results.json (and $OUT/results.json when OUT is
#       set). Exits non-zero when a check fails.
set -euo pipefail
mode=${1:?usage: device-check.sh prepare|run [DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-$root/.device}
read -r -a models <<<"${NL_DEVICE_MODELS:-titans transformer hope deltanet linear_attention}"

if [ "$mode" = prepare ]; then
  nlc=$root/build/bin/nlc
  [ -x "$nlc" ] || { echo "device-check: build nlc first (scripts/setup.sh)" >&2; exit 1; }
  mkdir -p "$dir/lib" "$dir/data"
  cp "$root/../shared/data/tinyshakespeare.txt" "$dir/data/"
  cp "$root/scripts/device_compare.py" "$dir/"
  for m in "${models[@]}"; do
    echo "device-check: building $m (cpu, cuda)"
    "$nlc" "$root/examples/$m.nl" -o "$dir/$m.cpu"
    "$nlc" "$root/examples/$m.nl" --target=cuda -o "$dir/$m.cuda"
  done
  # The libraries outside glibc/libstdc++ that the executables load.
  bash "$root/scripts/bundle-libs.sh" "$dir/lib" "$dir"/*.cpu "$dir"/*.cuda
  # One compressed file to carry to the GPU machine (its PTX packs well).
  tar -C "$dir" -cJf "$dir.tar.xz" --exclude=results.json .
  du -sh "$dir" "$dir.tar.xz"
  exit 0
fi

[ "$mode" = run ] || { echo "device-check: unknown mode '$mode'" >&2; exit 2; }
if [ ! -d "$dir" ] && [ -f "$dir.tar.xz" ]; then
  mkdir -p "$dir" && tar -C "$dir" -xJf "$dir.tar.xz"
fi
export LD_LIBRARY_PATH=$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
data=$dir/data/tinyshakespeare.txt
work=$(mktemp -d)
py=${PYTHON:-python3}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
status=0
json="{"
sep=""
check() { # name value limit
  if "$py" -c "import sys; sys.exit(0 if float('$2') < float('$3') else 1)"; then
    echo "PASS $1: $2 < $3"
  else
    echo "FAIL $1: $2 >= $3"; status=1
  fi
}
for m in "${models[@]}"; do
  echo "device-check: $m ($(date +%T))"
  exe() { timeout 200 "$dir/$m.$1" "${@:2}"; }
  # The CPU build's weights after 0, 1 and 2 steps, and its 3-step run.
  ok=1
  for n in 1 2 3; do
    exe cpu train --data "$data" --run-dir "$work/$m.cpu.run$n" --steps $n \
      --eval-every 0 --log-every 1 --seed 0 >"$work/$m.cpu.train$n.log" 2>&1 ||
      { echo "FAIL $m train on cpu: $(tail -2 "$work/$m.cpu.train$n.log")"; ok=0; }
  done
  # At each of those weights, the batch of that step: the GPU build's loss
  # and every gradient against the CPU build's.
  worst='{"worst": 0}'
  for n in 0 1 2; do
    at=(); [ $n -gt 0 ] && at=(--run-dir "$work/$m.cpu.run$n")
    for t in cpu cuda; do
      exe $t dump --data "$data" --seed 0 "${at[@]}" --batch-step $n \
        --out "$work/$m.$t.dump$n" >"$work/$m.$t.dump$n.log" 2>&1 ||
        { echo "FAIL $m dump on $t: $(tail -2 "$work/$m.$t.dump$n.log")"; ok=0; }
    done
    [ $ok = 1 ] || break
    d=$("$py" "$dir/device_compare.py" dump "$work/$m.cpu.dump$n" "$work/$m.cuda.dump$n")
    worst=$("$py" -c "import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); print(json.dumps(b if b['worst']>=a['worst'] else a))" "$worst" "$d")
  done
  [ $ok = 1 ] || { status=1; continue; }
  field() { echo "$1" | "$py" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
  check "$m loss and gradients at steps 0-2 ($(field "$worst" tensor))" "$(field "$worst" worst)" 1e-4
  # Three training steps on the GPU: each step's loss against the CPU's,
  # and (reported) every parameter's change (AdamW divides gradients by
  # their own size, so an element whose gradient is near zero moves by a
  # different fraction of its step on each: not a check).
  exe cuda train --data "$data" --run-dir "$work/$m.cuda.run3" --steps 3 \
    --eval-every 0 --log-every 1 --seed 0 >"$work/$m.cuda.train3.log" 2>&1 ||
    { echo "FAIL $m train on cuda: $(tail -2 "$work/$m.cuda.train3.log")"; status=1; continue; }
  r=$("$py" "$dir/device_compare.py" train "$work/$m.cpu.dump0" "$work/$m.cpu.run3" "$work/$m.cuda.run3")
  check "$m losses of 3 training steps" "$(field "$r" loss_error)" 1e-4
  echo "INFO $m 3 steps: parameter change, worst relative RMS error $(field "$r" worst) ($(field "$r" tensor))"
  d=$worst
  # A CPU checkpoint resumes on the GPU.
  cp -r "$work/$m.cpu.run3" "$work/$m.resume"
  if exe cuda train --data "$data" --run-dir "$work/$m.resume" --resume --steps 5 \
      --eval-every 0 --log-every 1 >"$work/$m.resume.log" 2>&1; then
    echo "PASS $m: the CPU build's checkpoint resumes on the GPU"
  else
    echo "FAIL $m: resuming the CPU checkpoint on the GPU: $(tail -2 "$work/$m.resume.log")"; status=1
  fi
  # Throughput: 10 steps of each build (the CPU build on every core here).
  for t in cpu cuda; do
    timeout 120 "$dir/$m.$t" train --data "$data" --run-dir "$work/$m.$t.speed" --steps 10 \
      --eval-every 0 --log-every 5 --seed 1 >"$work/$m.$t.speed.log" 2>&1 || true
  done
  tps() { "$py" -c "
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1]) if '\"train\"' in l]
print(rows[-1].get('tokens_per_s', rows[-1].get('tok_per_s', 0)) if rows else 0)" "$1/metrics.jsonl" 2>/dev/null || echo 0; }
  cpu_tps=$(tps "$work/$m.cpu.speed"); gpu_tps=$(tps "$work/$m.cuda.speed")
  echo "INFO $m training tokens/s: cuda $gpu_tps, cpu (this machine's cores) $cpu_tps"
  json+="$sep\"$m\": {\"dump\": $d, \"train\": $r, \"tokens_per_s\": {\"cuda\": $gpu_tps, \"cpu\": $cpu_tps}}"
  sep=", "
done
json+="}"
echo "$json" >"$dir/results.json"
if [ -n "${OUT:-}" ]; then
  cp "$dir/results.json" "$OUT/results.json"
  tar -czf "$OUT/logs.tar.gz" -C "$work" $(cd "$work" && ls *.log) || true
fi
[ "$status" = 0 ] && echo "device-check: all checks passed" || echo "device-check: some checks FAILED"
exit $status
