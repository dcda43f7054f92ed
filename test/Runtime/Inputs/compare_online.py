#!/usr/bin/env python3
"""A stream that learns online, read at once against the same stream read
in two runs (the first saving its state, the second continuing it): the
online levels' weights and optimizer state and the tokens since their last
step are bitwise equal (they depend on tokens and weights only), the step
counts add up, and the per-token losses (eval --long --bucket 1) agree to
float32 rounding (prefill and decode split the text differently).

Usage: compare_online.py WHOLE.json FIRST.json SECOND.json WHOLE.safetensors
           TWO.safetensors   (prints OK, or what differs; exit 1)
"""
import json
import sys

from safetensors.numpy import load_file

whole, first, second = (json.load(open(p)) for p in sys.argv[1:4])
a, b = load_file(sys.argv[4]), load_file(sys.argv[5])
problems = []
online = sorted(k for k in a if k.startswith("online."))
if not online or online != sorted(k for k in b if k.startswith("online.")):
    problems.append(f"online tensors {online} against {sorted(k for k in b if k.startswith('online.'))}")
for k in online:
    if k in b and not (a[k].shape == b[k].shape and (a[k] == b[k]).all()):
        problems.append(f"'{k}' differs")
if first["online_steps"] + second["online_steps"] != whole["online_steps"]:
    problems.append(f"test-time steps {first['online_steps']} + {second['online_steps']} != {whole['online_steps']}")
split = first["bucket_loss"] + second["bucket_loss"]
if len(split) != len(whole["bucket_loss"]):
    problems.append(f"{len(split)} token losses against {len(whole['bucket_loss'])}")
worst = max(abs(x - y) / max(abs(y), 1e-9) for x, y in zip(split, whole["bucket_loss"]))
if not worst < 1e-4:
    problems.append(f"a token's loss differs by {worst:.2e} (relative)")
print("\n".join(problems) if problems else "OK")
sys.exit(1 if problems else 0)
