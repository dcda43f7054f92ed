#!/usr/bin/env python3
"""Memory bandwidth of the compiled outer-optimizer updates against a plain
copy of the same bytes, measured in the same run.

The model is a bigram table split in two large parameters, so that a step
is almost only the optimizer's update: `embed(inputs, table) @ head` with
table [256, D] and head [D, 256] (D = --width), batch 1, context 1. Each
step computes the gradient (a row of `table`, an outer product for `head`:
one write of each parameter's size) and then the optimizer's update, which
reads every parameter, its gradient and its state and writes the parameter
and the state: (2 + 2 s) N floats for s state tensors of N floats, plus the
gradient's N. The reported bandwidth counts only the optimizer's own
(2 + 2 s + 1) N floats per step over the whole step's time, so it is a
lower bound of the update's bandwidth. The same model trained by plain GD
runs beside them: an optimizer's step time over GD's is the time of its
extra state traffic (2 s N floats; the gradient and the rest of the step
are the same), which gives the update's bandwidth without the gradient's
cost. The baseline is numpy's copy of a buffer of the same total bytes
(read + write = 2 x its size) in the same run, one thread, best of several
repetitions. Nothing here is a test. (dmgd's update also reduces the
gradient and evaluates its MLP on every entry, so its byte count is only
its state's.)

Usage: .venv/bin/python bench/optimizer_bandwidth.py [--optimizers adamw momentum ...]
           [--width 65536] [--steps 30]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from nl_examples import outer_optimizer

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--optimizers", nargs="+", default=["adamw", "momentum", "delta_momentum", "muon"])
ap.add_argument("--width", type=int, default=65536)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt"))
a = ap.parse_args()
nlc = os.path.join(a.build, "bin", "nlc")
work = tempfile.mkdtemp(prefix="nl-optbw-")
STATE = {"adamw": 2, "momentum": 1, "delta_momentum": 1, "muon": 1, "m3": 6, "dmgd": 1}


def copy_bandwidth(nbytes, reps=7):
    """Bytes moved per second (read + write) by numpy copying nbytes."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return 2 * nbytes / best


def step_rate(opt, definition, use):
    """Steps per second of the bandwidth model trained by `use` (best
    logging window after the first)."""
    text = f"""{definition}
model bw(vocab = 256, d = {a.width}, batch = 1, context = 1)
level pretrain every 1 step {{
  {use}
  param table [vocab, d]
  param head [d, vocab]
}}
loss = cross_entropy(embed(inputs, table) @ head, targets)
"""
    src = os.path.join(work, f"{opt}.nl")
    open(src, "w").write(text)
    exe = os.path.join(work, opt)
    subprocess.run([nlc, src, "-o", exe], check=True)
    run_dir = os.path.join(work, f"{opt}-run")
    subprocess.run([exe, "train", "--data", a.data, "--run-dir", run_dir, "--steps", str(a.steps + 5),
                    "--log-every", "5", "--eval-every", "0", "--eval-batches", "1", "--threads", "1"],
                   check=True, capture_output=True)
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        tps = [json.loads(l)["tokens_per_s"] for l in f if '"train"' in l][1:]  # after the first window
    return max(tps)  # one token per step


rows = []
n = 2 * 256 * a.width  # floats in the two parameters
# The baseline beside the optimizers: plain GD, whose update reads the
# parameter and its gradient and writes the parameter (3 N floats). An
# optimizer with s state tensors moves (3 + 2 s) N floats, so the time its
# step takes over GD's is the time of its extra 2 s N floats (the gradient
# and everything else in the step are the same), which gives the update's
# bandwidth without the gradient's cost.
gd_rate = step_rate("gd", "", "optimizer gd(lr = 0.001)")
for opt in a.optimizers:
    steps_per_s = step_rate(opt, *outer_optimizer(opt))
    moved = (2 + 2 * STATE[opt] + 1) * n * 4
    bw = moved * steps_per_s
    extra = 2 * STATE[opt] * n * 4
    over_gd = 1 / steps_per_s - 1 / gd_rate
    inc = extra / over_gd if over_gd > 0 else float("nan")
    base = copy_bandwidth(moved // 2)
    rows.append(f"| {opt} | {STATE[opt]} | {moved / 2**20:,.0f} | {1e3 / steps_per_s:.1f} | "
                f"{bw / 1e9:.2f} | {1e3 * over_gd:.1f} | {inc / 1e9:.2f} | {base / 1e9:.2f} | "
                f"{100 * bw / base:.0f} % | {100 * inc / base:.0f} % |")
    print(f"{opt}: {bw / 1e9:.2f} GB/s (whole step), {inc / 1e9:.2f} GB/s (over gd), copy {base / 1e9:.2f} GB/s",
          file=sys.stderr)

print(f"\ntwo parameters of 256 x {a.width} floats ({n * 4 / 2**20:.0f} MiB), one thread; "
      f"gd: {1e3 / gd_rate:.1f} ms / step\n")
print("| optimizer | state tensors | bytes moved by the update (MiB) | ms / step | update GB/s over the whole step "
      "(lower bound) | ms / step over gd | state traffic GB/s over gd | copy GB/s | whole step of copy | over gd of copy |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
