#!/usr/bin/env python3
"""Shrinks an example model for the runtime tests: the gradient checks'
shrinking (test/Autodiff/Inputs/tiny_model.py) with the byte vocabulary
(256) and width 8, context T, memories written every C tokens, and the
levels of N > 1 steps written every S1, S2, ... steps in order of
appearance (so that a few steps cross several firings).

Usage: shrink.py EXAMPLE.nl [T] [C] [S1,S2,...]
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Autodiff", "Inputs"))
from tiny_model import shrink  # noqa: E402

path = sys.argv[1]
T = int(sys.argv[2]) if len(sys.argv) > 2 else 16
C = int(sys.argv[3]) if len(sys.argv) > 3 else 4
text = shrink(open(path).read(), T, C, vocab=256, d=8)
if len(sys.argv) > 4:
    periods = iter(sys.argv[4].split(","))
    text = re.sub(r"every (\d+) steps \{",
                  lambda m: m.group(0) if m.group(1) == "1" else f"every {next(periods)} steps {{",
                  text)
sys.stdout.write(text)
