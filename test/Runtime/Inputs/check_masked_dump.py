#!/usr/bin/env python3
"""Checks `dump` on a data file with a loss mask against numpy (float64):
the dumped tokens carry the mask (a target that does not count is
-(id + 1)) and match the file's sequences, and the dumped loss is the mean
cross-entropy of the dumped logits over exactly the targets that count.

    check_masked_dump.py DUMP.safetensors DATA.safetensors
"""
import sys

import numpy as np
from safetensors.numpy import load_file

d = load_file(sys.argv[1])
data = load_file(sys.argv[2])
tokens = d["tokens"].astype(np.int64)  # [B, T + 1], signed by the mask
logits = d["logits"].astype(np.float64)  # [B, T, V]
ids = np.where(tokens >= 0, tokens, -tokens - 1)
failures = []
# Each dumped row is one sequence of the file, its sign the file's mask.
for b in range(ids.shape[0]):
    rows = np.where((data["tokens"] == ids[b]).all(axis=1))[0]
    if len(rows) == 0:
        failures.append(f"row {b} is no sequence of the data file")
        continue
    want = np.where(data["mask"][rows[0]] == 1, 1, -1)
    got = np.where(tokens[b, 1:] >= 0, 1, -1)
    if not (want == got).all():
        failures.append(f"row {b}: the signs of its targets are not the file's mask")
    if tokens[b, 0] < 0:
        failures.append(f"row {b}: its first token (never a target) is negative")
targets = tokens[:, 1:]
counted = targets >= 0
m = logits.max(-1, keepdims=True)
lse = np.log(np.exp(logits - m).sum(-1)) + m[..., 0]
picked = np.take_along_axis(logits, np.where(counted, targets, 0)[..., None], -1)[..., 0]
loss = ((lse - picked) * counted).sum() / counted.sum()
everything = (lse - np.take_along_axis(logits, ids[:, 1:, None], -1)[..., 0]).mean()
got = float(d["loss"])
err = abs(got - loss) / abs(loss)
print(f"loss {got:.6f} (numpy over the {int(counted.sum())} of {counted.size} targets that count "
      f"{loss:.6f}; over every target {everything:.6f}); relative error {err:.1e}")
if err > 1e-5:
    failures.append("the loss is not the mean over the targets that count")
for f in failures:
    print("FAIL:", f)
print("check_masked_dump: " + ("FAIL" if failures else "PASS"))
sys.exit(1 if failures else 0)
