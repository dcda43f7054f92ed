#!/usr/bin/env python3
"""Reads a checkpoint written by a compiled model with the `safetensors`
package and, independently, with a plain parser of the format (8-byte
length, JSON header, raw little-endian data); both must give the same
tensors. Prints the tensor count, the metadata and one line per tensor.

Usage: read_checkpoint.py CHECKPOINT.safetensors
"""
import json
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path = sys.argv[1]
tensors = load_file(path)
raw = open(path, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__", {})
assert set(header) == set(tensors), (set(header) ^ set(tensors))
for name, entry in header.items():
    begin, end = entry["data_offsets"]
    plain = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype="<f4").reshape(entry["shape"])
    assert entry["dtype"] == "F32", entry
    assert tensors[name].dtype == np.float32
    assert tensors[name].shape == tuple(entry["shape"]), name
    assert np.array_equal(tensors[name], plain), name
    assert np.all(np.isfinite(plain)), name
with safe_open(path, framework="numpy") as f:
    assert f.metadata() == meta
print(f"{len(tensors)} tensors")
for k in sorted(meta):
    print(f"{k} = {meta[k]}")
for name in sorted(tensors):
    print(name, list(tensors[name].shape))
