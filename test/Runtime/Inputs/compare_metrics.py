#!/usr/bin/env python3
"""Compares the lines of two metrics.jsonl files after a step: the same
lines (step, split, token or row count, loss, bpb) in the same order; the
timing fields differ from run to run and are not compared.

Usage: compare_metrics.py A B AFTER_STEP   (prints OK or the difference)
"""
import json
import sys

KEYS = ("step", "split", "tokens", "rows", "loss", "bpb")


def lines(path, after):
    out = []
    for line in open(path):
        j = json.loads(line)
        if j["step"] > after:
            out.append(tuple((k, j.get(k)) for k in KEYS))
    return out


a, b = lines(sys.argv[1], int(sys.argv[3])), lines(sys.argv[2], int(sys.argv[3]))
if not a:
    sys.exit(f"compare_metrics: no lines after step {sys.argv[3]} in {sys.argv[1]}")
if a != b:
    for x, y in zip(a, b):
        if x != y:
            print(f"differ:\n  {dict(x)}\n  {dict(y)}")
            break
    else:
        print(f"differ: {len(a)} lines and {len(b)} lines")
    sys.exit(1)
print("OK")
