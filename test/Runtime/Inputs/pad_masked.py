#!/usr/bin/env python3
"""Lengthens a data file with a loss mask (docs/language.md, "Loss masks")
to context T: each sequence keeps its tokens and mask in front and gets
random tokens below VOCAB after them (seeded), whose targets do not count.
A causal model then has the same loss and gradients on both files, whatever
the tail holds.

--count-tail counts the last target of every sequence (to show that the
comparison of the two files' gradients fails when the tail does count).

    pad_masked.py IN OUT T VOCAB [--count-tail]
"""
import argparse

import numpy as np
from safetensors.numpy import load_file, save_file

ap = argparse.ArgumentParser()
ap.add_argument("inp")
ap.add_argument("out")
ap.add_argument("t", type=int)
ap.add_argument("vocab", type=int)
ap.add_argument("--count-tail", action="store_true")
a = ap.parse_args()
d = load_file(a.inp)
n, short = d["mask"].shape
assert a.t > short, f"T {a.t} must exceed the file's context {short}"
rng = np.random.default_rng(11)
tokens = rng.integers(0, a.vocab, size=(n, a.t + 1), dtype=np.int32)
tokens[:, :short + 1] = d["tokens"]
mask = np.zeros((n, a.t), dtype=np.int32)
mask[:, :short] = d["mask"]
if a.count_tail:
    mask[:, -1] = 1
save_file({"tokens": tokens, "mask": mask}, a.out)
