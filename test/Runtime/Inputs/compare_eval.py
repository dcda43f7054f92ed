#!/usr/bin/env python3
"""`eval --data` with memorize on (the compiled window) against
`--memorize off` (the windows read through the stream entry points, every
memory frozen): the same fields and counts, "memorize": false in the
second; the losses equal to float32 rounding (`equal`: a model without
memories), apart by ten times more (`differ`: memories that matter), or
either (`counts`: only the fields and counts compared).

Usage: compare_eval.py ON.json OFF.json equal|differ|counts   (prints OK or
what is wrong; exit 1)
"""
import json
import sys

on, off = (json.load(open(p)) for p in sys.argv[1:3])
mode = sys.argv[3]
problems = []
if off.pop("memorize", None) is not False:
    problems.append("the second line has no \"memorize\": false")
if sorted(on) != sorted(off):
    problems.append(f"fields {sorted(on)} against {sorted(off)}")
for k in ("tokens", "targets", "sequences", "step"):
    if on.get(k) != off.get(k):
        problems.append(f"{k}: {on.get(k)} against {off.get(k)}")
rel = abs(on["loss"] - off["loss"]) / on["loss"]
if mode == "equal" and not rel < 1e-5:
    problems.append(f"the losses differ by {rel:.2e} (relative), a model without memories")
if mode == "differ" and not rel > 1e-5:
    problems.append(f"the losses agree to {rel:.2e} (relative): the frozen memories changed nothing")
print("\n".join(problems) if problems else "OK")
sys.exit(1 if problems else 0)
