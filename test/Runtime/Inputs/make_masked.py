#!/usr/bin/env python3
"""Writes a data file of token sequences with a loss mask (docs/language.md,
"Loss masks"): I32 `tokens` [N, T + 1] and I32 `mask` [N, T], random tokens
below VOCAB and a random mask (about half the targets count), seeded.

    make_masked.py OUT N T VOCAB [--bad KIND]

--bad writes the bad files of the error tests: `mask2` (a mask value of 2),
`vocab` (a token at VOCAB), `shape` (mask [N, T + 1]), `nomask` (no mask
tensor), `zero` (a mask that is 0 everywhere), `extra` (a third tensor),
`f32` (F32 tokens), `trainzero` and `valzero` (no target counts in the
training split, the first 90 % of the sequences, or in the validation
split), `lastonly` (in the validation split only the last sequence has
targets).
"""
import argparse

import numpy as np
from safetensors.numpy import save_file

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("n", type=int)
ap.add_argument("t", type=int)
ap.add_argument("vocab", type=int)
ap.add_argument("--bad", choices=["mask2", "vocab", "shape", "nomask", "zero", "extra", "f32",
                                  "trainzero", "valzero", "lastonly"])
a = ap.parse_args()
rng = np.random.default_rng(7)
tokens = rng.integers(0, a.vocab, size=(a.n, a.t + 1), dtype=np.int32)
mask = (rng.random((a.n, a.t)) < 0.5).astype(np.int32)
mask[:, -1] = 1  # every sequence counts at least one target
tensors = {"tokens": tokens, "mask": mask}
if a.bad == "mask2":
    mask[3, 5] = 2
elif a.bad == "vocab":
    tokens[4, 2] = a.vocab
elif a.bad == "shape":
    tensors["mask"] = np.ones((a.n, a.t + 1), dtype=np.int32)
elif a.bad == "nomask":
    del tensors["mask"]
elif a.bad == "zero":
    tensors["mask"] = np.zeros_like(mask)
elif a.bad == "extra":
    tensors["data"] = np.zeros((2, 2), dtype=np.float32)
elif a.bad == "f32":
    tensors["tokens"] = tokens.astype(np.float32)
elif a.bad == "trainzero":
    mask[:a.n * 9 // 10] = 0
elif a.bad == "valzero":
    mask[a.n * 9 // 10:] = 0
elif a.bad == "lastonly":
    mask[a.n * 9 // 10:-1] = 0
save_file(tensors, a.out)
