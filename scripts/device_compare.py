#!/usr/bin/env python3
"""Compares a model's GPU build with its CPU build (scripts/device-check.sh).

  device_compare.py dump CPU.safetensors GPU.safetensors
      the `dump` of both builds at the same seed: same parameters and batch,
      then the loss and every gradient, relative RMS error each.
  device_compare.py train DUMP.safetensors CPU_RUN GPU_RUN
      the checkpoints after the same training steps: every parameter's
      change from the initial one (DUMP's params) compared, relative RMS of
      the difference over the CPU's change; and the per-step losses of
      metrics.jsonl.

Prints one JSON object: the worst relative error and its tensor. Only
numpy is needed (safetensors are read by hand).
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32,
          "I64": np.int64}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b],
                                  dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return out


def rel_rms(x, y, scale=None):
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    den = np.sqrt(np.mean(np.square(y if scale is None else scale)))
    num = np.sqrt(np.mean(np.square(x - y)))
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / den)


def worst(errors):
    name = max(errors, key=errors.get)
    return {"worst": errors[name], "tensor": name, "tensors": len(errors)}


def main():
    mode = sys.argv[1]
    if mode == "dump":
        cpu, gpu = load(sys.argv[2]), load(sys.argv[3])
        if sorted(cpu) != sorted(gpu):
            raise SystemExit("the dumps hold different tensors")
        inputs = {k: rel_rms(gpu[k], cpu[k]) for k in cpu
                  if k.startswith("param.") or k in ("tokens", "rows")}
        if any(v != 0 for v in inputs.values()):
            raise SystemExit("the dumps start from different parameters or "
                             "batches: " + json.dumps(inputs))
        errors = {k: rel_rms(gpu[k], cpu[k]) for k in cpu
                  if k.startswith("grad.") or k == "loss"}
        result = worst(errors)
        result["loss_cpu"] = float(cpu["loss"])
        result["loss_gpu"] = float(gpu["loss"])
    else:
        init = load(sys.argv[2])
        cpu = load(sys.argv[3] + "/checkpoint.safetensors")
        gpu = load(sys.argv[4] + "/checkpoint.safetensors")
        errors = {}
        for k in cpu:
            p0 = init.get("param." + k)
            if p0 is None:
                continue  # optimizer state
            errors[k] = rel_rms(gpu[k] - p0, cpu[k] - p0, scale=cpu[k] - p0)
        result = worst(errors)
        losses = []
        for run in sys.argv[3:5]:
            with open(run + "/metrics.jsonl") as f:
                losses.append([json.loads(line)["loss"] for line in f
                               if json.loads(line).get("split") == "train"])
        result["losses_cpu"], result["losses_gpu"] = losses
        result["loss_error"] = max(
            abs(a - b) / max(abs(a), 1e-12) for a, b in zip(*losses))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
