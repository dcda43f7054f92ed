#!/usr/bin/env python3
"""Shrinks an example model for gradient checks: prints the .nl file with
vocab 7, width 4, one layer, 2 heads, context T, batch 2, and every memory
level written every C tokens. The architecture is the example's own.

Usage: tiny_model.py EXAMPLE.nl T C
"""
import re
import sys

path, T, C = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = open(path).read()
text, n = re.subn(r"^model (\w+)\(.*\)$",
                  rf"model \1(vocab = 7, d = 4, layers = 1, heads = 2, context = {T}, batch = 2)",
                  text, count=1, flags=re.M)
assert n == 1, "no model line"
text = re.sub(r"every \d+ tokens \{", f"every {C} tokens {{", text)
sys.stdout.write(text)
