#!/usr/bin/env python3
"""Checks that training lays its memory out once: the heap that malloc holds
(`heap_mib` of metrics.jsonl) is the same after every training step as after
the first one. Prints the heap per step, then OK (exit 0) or FAIL (exit 1).

Usage: check_heap.py METRICS.jsonl
"""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
train = [r for r in rows if r["split"] == "train"]
assert len(train) >= 3, f"need at least 3 training lines, got {len(train)}"
heaps = [r["heap_mib"] for r in train]
print("heap (MiB) after each step:", " ".join(f"{h:.2f}" for h in heaps))
grown = [(r["step"], r["heap_mib"]) for r in train[1:] if r["heap_mib"] != heaps[0]]
if grown:
    print(f"FAIL: the heap changed after step {train[0]['step']}: {grown}")
    sys.exit(1)
print("OK")
