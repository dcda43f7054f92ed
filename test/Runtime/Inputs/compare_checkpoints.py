#!/usr/bin/env python3
"""Compares two checkpoints of the same model tensor by tensor: the relative
RMS error rms(a - b) / rms(a) of every tensor must be below TOL (docs/testing.md),
with no NaN or Inf. Prints the worst tensor and OK, or each failure and
exits 1.

--perturb X multiplies B by 1 + X first (to show that the check fails).

Usage: compare_checkpoints.py A.safetensors B.safetensors TOL [--perturb X]
"""
import sys

import numpy as np
from safetensors.numpy import load_file

a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
tol = float(sys.argv[3])
perturb = float(sys.argv[5]) if sys.argv[4:5] == ["--perturb"] else 0.0
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
    sys.exit(1)
print("OK")
