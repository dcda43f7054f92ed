#!/usr/bin/env python3
"""Compares a model compiled by nlc with its independent PyTorch reference
(test/reference/nlref.py) on the same initial weights and the same batches.

    check.py --nlc build/bin/nlc --data ../shared/data/tinyshakespeare.txt \\
             --model hope --context 23 [--every mem=4 --every proj=8 ...]

1. Writes examples/<model>.nl with the given level frequencies (`--every
   LEVEL=N`, tokens or steps as the level declares) and compiles it with
   `--set` for width, layers, heads, context and batch.
2. The starting weights: nlc's initialization (seed 0) with the memories'
   initial states scaled by --memory-scale, as a step-0 checkpoint.
3. `<exe> dump` writes the batches of steps 0, 1, 2, and nlc's logits, loss
   and gradients on batch 0; `<exe> train --resume --steps 3` (constant
   learning rate) the weights after three outer steps.
4. The reference, in float64 from the same float32 initial weights,
   computes the logits, the loss, every gradient and three AdamW steps (CMS
   levels accumulate and fire at their periods).

Each comparison is a relative RMS error (rms(nlc - ref) / rms(ref)); the
check fails when any exceeds --tol (default 1e-4). Exit 0 when all pass.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nlref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def with_frequencies(text, every):
    """The example's text with `level NAME every N ...` set from `every`."""
    for level, n in every.items():
        text, k = re.subn(rf"(level {level} every )\d+", rf"\g<1>{n}", text)
        if k != 1:
            sys.exit(f"check.py: level '{level}' not found (once) in the example")
    return text


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"check.py: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nlc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True, choices=sorted(nlref.MODELS))
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--context", type=int, default=23)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--every", action="append", default=[], metavar="LEVEL=N",
                    help="a level's frequency (chunk size in tokens, or period in steps)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--memory-scale", type=float, default=20.0,
                    help="scale of the memories' initial states (params named *.init.*)")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--workdir", help="keep the files here (default: a temporary directory)")
    a = ap.parse_args()
    every = dict(e.split("=", 1) for e in a.every)
    for k, v in every.items():
        every[k] = int(v)

    work = a.workdir or tempfile.mkdtemp(prefix=f"nlref-{a.model}-")
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, f"{a.model}.nl")
    with open(os.path.join(ROOT, "examples", f"{a.model}.nl")) as f:
        text = with_frequencies(f.read(), every)
    with open(src, "w") as f:
        f.write(text)
    exe = os.path.join(work, a.model)
    sets = [f"d={a.d}", f"layers={a.layers}", f"heads={a.heads}", f"context={a.context}", f"batch={a.batch}"]
    run([a.nlc, src, "-o", exe] + [x for s in sets for x in ("--set", s)])

    # The starting point: nlc's initialization (seed 0), with the memories'
    # initial states scaled by --memory-scale (at std 0.02 the memories are
    # near the identity and their parameters' gradients are ~1e-10, below
    # what float32 resolves), written as a step-0 checkpoint that `dump`
    # reads and `train --resume` continues.
    run_dir = os.path.join(work, "run")
    ckpt = os.path.join(run_dir, "checkpoint.safetensors")
    if os.path.exists(ckpt):
        os.remove(ckpt)
    common = ["--data", a.data, "--seed", "0", "--threads", "1"]
    init = os.path.join(work, "init.safetensors")
    run([exe, "dump", "--out", init] + common)
    run([exe, "train", "--run-dir", run_dir, "--steps", "1", "--eval-every", "0", "--eval-batches", "1"] + common)
    params = {k[len("param."):]: v for k, v in load_file(init).items() if k.startswith("param.")}
    with safe_open(ckpt, "pt") as f:
        meta = f.metadata()
        start = {k: f.get_tensor(k) for k in f.keys()}
    for k in start:
        if k in params:
            start[k] = params[k] * (a.memory_scale if ".init." in k else 1.0)
        else:
            start[k] = torch.zeros_like(start[k])  # optimizer state
    meta["nl.step"] = "0"
    save_file(start, ckpt, metadata=meta)

    dumps = []
    for s in range(a.steps):
        out = os.path.join(work, f"batch{s}.safetensors")
        run([exe, "dump", "--run-dir", run_dir, "--batch-step", str(s), "--out", out] + common)
        dumps.append(load_file(out))
    run([exe, "train", "--run-dir", run_dir, "--resume", "--steps", str(a.steps), "--lr", "1", "--warmup", "0",
         "--schedule", "constant", "--eval-every", "0", "--eval-batches", "1"] + common)
    trained = load_file(ckpt)

    d0 = dumps[0]
    names = sorted(k[len("param."):] for k in d0 if k.startswith("param."))
    cfg = {"heads": a.heads, "layers": a.layers, "chunk": every}
    forward = nlref.MODELS[a.model]
    torch.set_grad_enabled(True)

    def loss_and_grads(P, tokens):
        leaves = {n: P[n].detach().clone().requires_grad_(True) for n in names}
        ids, targets = tokens[:, :-1].long(), tokens[:, 1:].long()
        logits = forward(leaves, ids, cfg)
        loss = nlref.cross_entropy(logits, targets)
        grads = torch.autograd.grad(loss, [leaves[n] for n in names])
        return logits.detach(), loss.detach(), dict(zip(names, grads))

    results = []  # (what, error)
    P = {n: d0[f"param.{n}"].double() for n in names}
    logits, loss, grads = loss_and_grads(P, d0["tokens"])
    results.append(("logits", nlref.rel_rms(d0["logits"], logits)))
    results.append(("loss", nlref.rel_rms(d0["loss"], loss)))
    for n in names:
        results.append((f"grad {n}", nlref.rel_rms(d0[f"grad.{n}"], grads[n])))

    # Three outer steps from the same initial weights and batches.
    periods = {"pretrain": 1}
    for level in ("cms_mid", "cms_low"):
        if level in every:
            periods[level] = every[level]
    opt = {n: nlref.AdamW(period=periods.get(nlref.level_of(a.model, n), None) or
                          sys.exit(f"check.py: give --every {nlref.level_of(a.model, n)}=N")) for n in names}
    for s in range(a.steps):
        _, _, g = loss_and_grads(P, dumps[s]["tokens"])
        g = nlref.clip_grads(g, nlref.OUTER_CLIP.get(a.model))
        P = {n: opt[n].step(P[n], g[n], s + 1) for n in names}
    for n in names:
        results.append((f"step {a.steps} weight {n}", nlref.rel_rms(trained[n], P[n])))

    worst = max(e for _, e in results)
    failed = [(w, e) for w, e in results if not e < a.tol]
    for w, e in results:
        print(f"{'FAIL' if not e < a.tol else 'ok  '} {w}: relative RMS error {e:.2e}")
    print(f"{'FAIL' if failed else 'PASS'}: {a.model} (d {a.d}, {a.layers} layers, {a.heads} heads, "
          f"T {a.context}, B {a.batch}, {' '.join(f'{k}={v}' for k, v in every.items()) or 'no memory levels'}): "
          f"{len(results)} comparisons, worst {worst:.2e}, tolerance {a.tol:g}; nlc loss {d0['loss'].item():.6f}, "
          f"reference {loss.item():.6f} nats/token")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
