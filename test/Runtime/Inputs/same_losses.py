#!/usr/bin/env python3
"""Compares the training losses of two runs step by step (metrics.jsonl):
exits 1 when the steps differ or a loss differs by more than REL relative.

Usage: same_losses.py A/metrics.jsonl B/metrics.jsonl REL
"""
import json
import sys


def losses(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return {r["step"]: r["loss"] for r in rows if r["split"] == "train"}


a, b, rel = losses(sys.argv[1]), losses(sys.argv[2]), float(sys.argv[3])
if not a or a.keys() != b.keys():
    sys.exit(f"steps differ: {sorted(a)} and {sorted(b)}")
worst = max(abs(a[s] - b[s]) / abs(b[s]) for s in a)
print(f"{len(a)} steps, worst relative difference {worst:.3g}")
sys.exit(0 if worst <= rel else 1)
