#!/usr/bin/env python3
"""Checks `dump` of examples/regression.nl against numpy (float64): the mean
squared error of the two-layer GELU (tanh form) MLP on the dumped rows, and
its gradient with respect to w1, b1 and w2, written out by hand here.

    check_rows_dump.py DUMP.safetensors FEATURES
"""
import sys

import numpy as np
from safetensors.numpy import load_file

d = load_file(sys.argv[1])
f = int(sys.argv[2])
rows = d["rows"].astype(np.float64)
x, y = rows[:, :f], rows[:, f:]
w1 = d["param.regressor.0.w1"].astype(np.float64)
b1 = d["param.regressor.0.b1"].astype(np.float64)
w2 = d["param.regressor.0.w2"].astype(np.float64)

c = np.sqrt(2 / np.pi)
a = x @ w1 + b1
u = c * (a + 0.044715 * a**3)
h = 0.5 * a * (1 + np.tanh(u))
dh_da = 0.5 * (1 + np.tanh(u)) + 0.5 * a * (1 - np.tanh(u) ** 2) * c * (
    1 + 3 * 0.044715 * a**2)
r = h @ w2 - y
loss = np.mean(r**2)
dr = 2 * r / r.size
grads = {"w2": h.T @ dr}
da = (dr @ w2.T) * dh_da
grads["w1"], grads["b1"] = x.T @ da, da.sum(0)

worst = abs(float(d["loss"]) - loss) / abs(loss)
print(f"loss {float(d['loss']):.6f} (numpy {loss:.6f})")
for k, g in grads.items():
    got = d["grad.regressor.0." + k].astype(np.float64)
    err = np.linalg.norm(got - g) / np.linalg.norm(g)
    print(f"grad {k}: relative error {err:.2e}")
    worst = max(worst, err)
assert worst < 1e-5, f"compiled and numpy disagree: {worst:.2e}"
print("OK")
