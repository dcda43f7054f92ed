#!/usr/bin/env python3
"""Writes a copy of a checkpoint with one metadata entry changed (a
checkpoint of another model), with the `safetensors` package.

Usage: edit_checkpoint.py IN OUT KEY VALUE
"""
import sys

from safetensors import safe_open
from safetensors.numpy import save_file

src, dst, key, value = sys.argv[1:5]
with safe_open(src, framework="numpy") as f:
    meta = dict(f.metadata())
    tensors = {k: f.get_tensor(k) for k in f.keys()}
meta[key] = value
save_file(tensors, dst, metadata=meta)
