#!/usr/bin/env python3
"""A research variant of examples/variants/ compiles and trains.

    train_variant.py --nlc build/bin/nlc --data FILE --variant titans_huber [--workdir DIR]

Compiles examples/variants/<variant>.nl at a small size (width 16, one
layer, 2 heads, context 32, batch 4; `--mcpu`, default $NL_TEST_MCPU),
trains it for --steps steps (seed 0, validation at the end) and checks the
run's metrics.jsonl: every loss finite, and the mean training loss of the
last quarter of the steps at least --margin nats/token below the first
step's (the byte vocabulary starts near ln 256 = 5.55). Exit 0 when it
trains; 1 with the reason otherwise.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"train_variant.py: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nlc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--variant", required=True)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--margin", type=float, default=1.0, help="nats/token the training loss must fall")
    ap.add_argument("--mcpu", default=os.environ.get("NL_TEST_MCPU", ""))
    ap.add_argument("--workdir")
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix=f"nl-variant-{a.variant}-")
    os.makedirs(work, exist_ok=True)
    src = os.path.join(ROOT, "examples", "variants", f"{a.variant}.nl")
    exe = os.path.join(work, a.variant)
    sets = ["d=16", "layers=1", "heads=2", "context=32", "batch=4"]
    run([a.nlc, src, "-o", exe] + [x for s in sets for x in ("--set", s)] +
        ([f"--mcpu={a.mcpu}"] if a.mcpu else []))
    run_dir = os.path.join(work, "run")
    run(["rm", "-rf", run_dir])
    run([exe, "train", "--data", a.data, "--run-dir", run_dir, "--steps", str(a.steps), "--seed", "0",
         "--lr", "3", "--warmup", "5", "--eval-every", str(a.steps), "--eval-batches", "2", "--log-every", "1",
         "--threads", "1"])
    rows = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    train = [r["loss"] for r in rows if r["split"] == "train"]
    val = [r["loss"] for r in rows if r["split"] == "val"]
    if not train or not val:
        sys.exit(f"FAIL: {a.variant}: no training or validation lines in metrics.jsonl")
    bad = [x for x in train + val if not math.isfinite(x)]
    if bad:
        sys.exit(f"FAIL: {a.variant}: a non-finite loss ({bad[0]})")
    q = max(1, len(train) // 4)
    first, last = train[0], sum(train[-q:]) / q
    verdict = "PASS" if last < first - a.margin else "FAIL"
    print(f"{verdict}: {a.variant}: training loss {first:.3f} -> {last:.3f} nats/token over {a.steps} steps "
          f"(must fall by {a.margin}); validation {val[-1]:.3f}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
