#!/usr/bin/env python3
"""Writes a damaged copy of a safetensors checkpoint, editing its header and
data directly (the safetensors package refuses to write most of these).

Usage: corrupt_checkpoint.py IN OUT MODE [ARGS...]
  overlap           the second tensor (in data order) moved 4 bytes back,
                    into the first
  hole              8 bytes of padding after the first tensor
  set NAME I VALUE  element I (flat) of tensor NAME set to VALUE (nan, inf,
                    or a number)
  fill NAME VALUE   every element of tensor NAME set to VALUE
"""
import json
import struct
import sys

src, dst, mode = sys.argv[1:4]
args = sys.argv[4:]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8 : 8 + n])
data = bytearray(raw[8 + n :])
tensors = sorted(
    (k for k in header if k != "__metadata__"),
    key=lambda k: header[k]["data_offsets"][0],
)

if mode == "overlap":
    b, e = header[tensors[1]]["data_offsets"]
    header[tensors[1]]["data_offsets"] = [b - 4, e - 4]
elif mode == "hole":
    end = header[tensors[0]]["data_offsets"][1]
    data[end:end] = bytes(8)
    for k in tensors[1:]:
        b, e = header[k]["data_offsets"]
        header[k]["data_offsets"] = [b + 8, e + 8]
elif mode in ("set", "fill"):
    name = args[0]
    b, e = header[name]["data_offsets"]
    indices = [int(args[1])] if mode == "set" else range((e - b) // 4)
    value = float(args[-1])
    for i in indices:
        struct.pack_into("<f", data, b + 4 * i, value)
else:
    sys.exit(f"corrupt_checkpoint: unknown mode {mode}")

text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + bytes(data))
