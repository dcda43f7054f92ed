#!/usr/bin/env python3
"""Compares two checkpoints of the same model tensor by tensor: the relative
RMS error rms(a - b) / rms(a) of every tensor must be below TOL (docs/testing.md),
with no NaN or Inf. Prints the worst tensor and OK, or each failure and
exits 1.

--perturb X multiplies B by 1 + X first (to show that the check fails).
--only PREFIX compares only the tensors whose names start with PREFIX (e.g.
`grad.` of two `dump` files whose batches differ in length).

Usage: compare_checkpoints.py A.safetensors B.safetensors TOL [--perturb X] [--only PREFIX]
"""
import argparse

import numpy as np
from safetensors.numpy import load_file

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("tol", type=float)
ap.add_argument("--perturb", type=float, default=0.0)
ap.add_argument("--only", default="")
args = ap.parse_args()
a = {k: v for k, v in load_file(args.a).items() if k.startswith(args.only)}
b = {k: v for k, v in load_file(args.b).items() if k.startswith(args.only)}
tol, perturb = args.tol, args.perturb
assert a, f"no tensor named {args.only}..."
assert set(a) == set(b), set(a) ^ set(b)
worst, failed = (-1.0, ""), False
for name in sorted(a):
    x, y = a[name].astype(np.float64), b[name].astype(np.float64) * (1 + perturb)
    assert x.shape == y.shape, name
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        print(f"FAIL {name}: not finite")
        failed = True
        continue
    scale = np.sqrt(np.mean(x * x)) if x.size else 0.0
    err = np.sqrt(np.mean((x - y) ** 2)) / scale if scale > 0 else float(np.abs(y).max(initial=0.0))
    worst = max(worst, (err, name))
    if err > tol:
        print(f"FAIL {name}: relative RMS error {err:.3e} > {tol:.1e}")
        failed = True
print(f"worst: {worst[1]} {worst[0]:.3e}")
if failed:
    raise SystemExit(1)
print("OK")
