#!/usr/bin/env python3
"""Writes a data file for a model of rows (runtime/README.md): a safetensors
file holding `data` [N, WIDTH], standard normal features and, in the last
column, a smooth function of them (tanh of a fixed projection).

    make_rows.py OUT N WIDTH [--name NAME] [--dtype f32|i32] [--nan ROW]
                 [--overflow]

--name, --dtype, --nan and --overflow write the bad files of the error
tests: another tensor name, an integer tensor, a NaN in row ROW, a header
whose shape [2^62 + N, WIDTH] overflows 64 bits (to N x WIDTH x 4 bytes,
which the data section holds).
"""
import argparse
import json
import struct

import numpy as np
from safetensors.numpy import save_file

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("n", type=int)
ap.add_argument("width", type=int)
ap.add_argument("--name", default="data")
ap.add_argument("--dtype", default="f32", choices=["f32", "i32"])
ap.add_argument("--nan", type=int)
ap.add_argument("--overflow", action="store_true")
a = ap.parse_args()
if a.overflow:
    size = a.n * a.width * 4
    header = json.dumps({"data": {"dtype": "F32", "shape": [2**62 + a.n, a.width],
                                  "data_offsets": [0, size]}}).encode()
    with open(a.out, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + bytes(size))
    raise SystemExit
rng = np.random.default_rng(1)
x = rng.standard_normal((a.n, a.width - 1))
w = rng.standard_normal(a.width - 1) / np.sqrt(a.width - 1)
rows = np.concatenate([x, np.tanh(x @ w)[:, None]], axis=1)
if a.nan is not None:
    rows[a.nan, 0] = np.nan
save_file({a.name: rows.astype(np.float32 if a.dtype == "f32" else np.int32)},
          a.out)
