#!/usr/bin/env python3
"""Shrinks an example model for gradient checks: prints the .nl file with
vocab 7, width 4, one layer, 2 heads, context T, batch 2, and every memory
level written every C tokens. The architecture is the example's own.

Usage: tiny_model.py EXAMPLE.nl T C
"""
import re
import sys


def shrink(text, T, C, vocab=7, d=4):
    """The example's text with its model line and memory frequencies set."""
    text, n = re.subn(r"^model (\w+)\(.*\)$",
                      rf"model \1(vocab = {vocab}, d = {d}, layers = 1, heads = 2, context = {T}, batch = 2)",
                      text, count=1, flags=re.M)
    assert n == 1, "no model line"
    return re.sub(r"every \d+ tokens \{", f"every {C} tokens {{", text)


if __name__ == "__main__":
    path, T, C = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.stdout.write(shrink(open(path).read(), T, C))
