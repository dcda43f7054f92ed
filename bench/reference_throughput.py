#!/usr/bin/env python3
"""Training tokens/s of compiled models against their PyTorch references
(test/reference/nlref.py), same configuration, same thread count, one run.

For each model: `nlc examples/<model>.nl --set ...`, `train --steps N
--threads K` (tokens/s of the last logged window, metrics.jsonl), then the
reference's training step (forward, torch backward, AdamW) in float32 with
torch.set_num_threads(K) on batches of the same shape, timed over the same
number of steps after one warmup step. The reference is the plain recurrent
form (memories token by token, as written from the paper); the ratio is what
compiling buys over that program, not over a hand-fused PyTorch kernel.
Prints a Markdown table. Nothing here is a test.

Usage: .venv/bin/python bench/reference_throughput.py [--models titans hope]
           [--width 32] [--layers 2] [--heads 2] [--context 64] [--batch 8]
           [--steps 20] [--threads 2]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import torch

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "test", "reference"))
import nlref  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--models", nargs="+", default=["titans", "hope"])
ap.add_argument("--width", type=int, default=32)
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--heads", type=int, default=2)
ap.add_argument("--context", type=int, default=64)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt"))
a = ap.parse_args()

nlc = os.path.join(a.build, "bin", "nlc")
work = tempfile.mkdtemp(prefix="nl-refbench-")
torch.set_num_threads(a.threads)
data = torch.tensor(list(open(a.data, "rb").read()), dtype=torch.long)


def chunks_of(text):
    """Each level's frequency in tokens or steps, from the example's text."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"level (\w+) every (\d+)", text)}


rows = []
for model in a.models:
    src = os.path.join(root, "examples", f"{model}.nl")
    exe = os.path.join(work, model)
    sets = [f"d={a.width}", f"layers={a.layers}", f"heads={a.heads}", f"context={a.context}", f"batch={a.batch}"]
    subprocess.run([nlc, src, "-o", exe] + [x for s in sets for x in ("--set", s)], check=True)
    run_dir = os.path.join(work, f"{model}-run")
    subprocess.run([exe, "train", "--data", a.data, "--run-dir", run_dir, "--steps", str(a.steps + 1),
                    "--log-every", str(a.steps), "--eval-every", "0", "--eval-batches", "1",
                    "--threads", str(a.threads)], check=True, capture_output=True)
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        train = [json.loads(line) for line in f if '"train"' in line]
    compiled = train[-1]["tokens_per_s"]  # the window after the first step
    init = os.path.join(work, f"{model}-init.safetensors")
    subprocess.run([exe, "dump", "--data", a.data, "--out", init], check=True, capture_output=True)

    from safetensors.torch import load_file
    P = {k[len("param."):]: v.float().requires_grad_(True) for k, v in load_file(init).items()
         if k.startswith("param.")}
    cfg = {"heads": a.heads, "layers": a.layers, "chunk": chunks_of(open(src).read())}
    opt = {n: nlref.AdamW(period=cfg["chunk"].get(nlref.level_of(model, n), 1)) for n in P}
    g = torch.Generator().manual_seed(0)

    def step(t):
        pos = torch.randint(0, len(data) - a.context - 1, (a.batch,), generator=g)
        tokens = torch.stack([data[p:p + a.context + 1] for p in pos])
        loss = nlref.cross_entropy(nlref.MODELS[model](P, tokens[:, :-1], cfg), tokens[:, 1:])
        grads = torch.autograd.grad(loss, list(P.values()))
        with torch.no_grad():
            for (n, p), gr in zip(P.items(), grads):
                p.copy_(opt[n].step(p, gr, t))
        return loss.item()

    step(1)
    t0 = time.time()
    for t in range(2, a.steps + 2):
        step(t)
    reference = a.steps * a.batch * a.context / (time.time() - t0)
    rows.append(f"| {model} | {compiled:,.0f} | {reference:,.0f} | {compiled / reference:.1f}x |")
    print(f"{model}: compiled {compiled:.0f} tok/s, reference {reference:.0f} tok/s", file=sys.stderr)

print(f"\nwidth {a.width}, {a.layers} layers, {a.heads} heads, context {a.context}, batch {a.batch}, "
      f"{a.threads} thread(s), {a.steps} steps each\n")
print("| model | compiled (tokens/s) | PyTorch reference, float32 (tokens/s) | ratio |")
print("| --- | --- | --- | --- |")
print("\n".join(rows))
