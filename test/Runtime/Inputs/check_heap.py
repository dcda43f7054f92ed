#!/usr/bin/env python3
"""Checks that training reaches a steady state without allocating: the heap
that malloc holds (`heap_mib` of metrics.jsonl) is the same after every step
of the second half of the run (the first steps lay the temporaries out and
let glibc's free lists settle; on small models the heap is already steady
after step 1). Prints the heap per step, then OK (exit 0) or FAIL (exit 1).

Usage: check_heap.py METRICS.jsonl
"""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
train = [r for r in rows if r["split"] == "train"]
assert len(train) >= 3, f"need at least 3 training lines, got {len(train)}"
heaps = [r["heap_mib"] for r in train]
print("heap (MiB) after each step:", " ".join(f"{h:.2f}" for h in heaps))
half = train[len(train) // 2:]
grown = [(r["step"], r["heap_mib"]) for r in half[1:] if r["heap_mib"] != half[0]["heap_mib"]]
if grown:
    print(f"FAIL: the heap changed after step {half[0]['step']}: {grown}")
    sys.exit(1)
print("OK")
