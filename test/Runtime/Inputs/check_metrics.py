#!/usr/bin/env python3
"""Checks a run's metrics.jsonl: every line has the documented fields, steps
increase, and the training loss falls (the mean of the last quarter of the
train lines is below the first line's by at least MARGIN: nats/token for a
language model, the loss's own unit for a model of rows).

Usage: check_metrics.py METRICS.jsonl MARGIN
"""
import json
import math
import sys

path, margin = sys.argv[1], float(sys.argv[2])
rows = [json.loads(line) for line in open(path)]
# A language model counts tokens and reports bits per byte; a model of rows
# of real values counts rows.
lm = "tokens" in rows[0]
fields = ({"step", "tokens", "split", "loss", "bpb", "tokens_per_s", "wall_s", "heap_mib"}
          if lm else {"step", "rows", "split", "loss", "rows_per_s", "wall_s", "heap_mib"})
for r in rows:
    missing = fields - r.keys()
    assert not missing, f"line {r} lacks {missing}"
    assert r["split"] in ("train", "val"), r
    if lm:
        assert math.isclose(r["bpb"], r["loss"] / math.log(2), rel_tol=1e-6), r
    else:
        assert "bpb" not in r, f"a model of rows has no bits per byte: {r}"
train = [r for r in rows if r["split"] == "train"]
val = [r for r in rows if r["split"] == "val"]
steps = [r["step"] for r in train]
assert steps == sorted(steps) and len(set(steps)) == len(steps), steps
assert val, "no validation lines"
q = max(1, len(train) // 4)
first, last = train[0]["loss"], sum(r["loss"] for r in train[-q:]) / q
print(f"train loss {first:.4f} -> {last:.4f}; val loss {val[0]['loss']:.4f} -> {val[-1]['loss']:.4f}")
assert last < first - margin, f"the training loss did not fall by {margin}: {first} -> {last}"
print("OK")
