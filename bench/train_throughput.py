#!/usr/bin/env python3
"""Compile time, training throughput and peak memory of compiled models.

For each model (examples/<name>.nl, its model line set to the given width,
layers, heads, context and batch), in one run:
  * `nlc -o` for each variant asked for (default: `fused`, nlc's default
    -O2 lowering with fuse-memory-updates and OpenMP; `unfused`, the same
    IR without fuse-memory-updates; `O0`), with `--mlir-timing` (where the
    compile time goes);
  * `train --steps N --threads K` on the data for each thread count asked
    for, the tokens/s of the last logged window (metrics.jsonl) and the
    peak resident set (/usr/bin/time -v).
Ratios are against `unfused` (one thread) when it is in the run.

Prints a Markdown table. Nothing here is a test.

Usage: train_throughput.py [--build DIR] [--models titans hope] [--steps 2]
           [--width 128] [--layers 4] [--heads 4] [--context 256]
           [--batch 16] [--variants fused unfused O0] [--threads 1 2]
           [--data FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--build", default=os.path.join(root, "build"))
p.add_argument("--models", nargs="+", default=["titans"])
p.add_argument("--steps", type=int, default=2)
p.add_argument("--width", type=int, default=128)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--context", type=int, default=256)
p.add_argument("--batch", type=int, default=16)
VARIANTS = {
    "fused": ["-O2"],
    "unfused": ["-O2", "--fuse-memory-updates=false", "--openmp=false"],
    "O0": ["-O0", "--fuse-memory-updates=false", "--openmp=false"],
    "O3": ["-O3"],
}
p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["fused", "unfused", "O0"])
p.add_argument("--threads", nargs="+", type=int, default=[1, os.cpu_count() or 1])
p.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "tinyshakespeare.txt"))
a = p.parse_args()

nlc = os.path.join(a.build, "bin", "nlc")
work = tempfile.mkdtemp(prefix="nl-bench-")
rows = []
for name in a.models:
    text = open(os.path.join(root, "examples", f"{name}.nl")).read()
    text, n = re.subn(r"^model (\w+)\(.*\)$",
                      rf"model \1(vocab = 256, d = {a.width}, layers = {a.layers}, heads = {a.heads}, context = {a.context}, batch = {a.batch})",
                      text, count=1, flags=re.M)
    assert n == 1
    src = os.path.join(work, f"{name}.nl")
    open(src, "w").write(text)
    for variant in a.variants:
        exe = os.path.join(work, f"{name}-{variant}")
        t0 = time.time()
        r = subprocess.run([nlc, src, *VARIANTS[variant], "-o", exe, "--mlir-timing"],
                           capture_output=True, text=True)
        compile_s = time.time() - t0
        if r.returncode:
            sys.exit(f"nlc failed on {name}:\n{r.stderr[-2000:]}")
        # Wall seconds of LLVM's stages: optimization, code generation, or
        # both together when they run on several threads.
        llvm = re.findall(r"([\d.]+) \(\s*[\d.]+%\)\s+(LLVM code generation|LLVM optimization"
                          r"|LLVM optimization and code generation)(?: \(\d+ threads\))?\n", r.stderr)
        llvm = dict((k, float(v)) for v, k in llvm)
        # A model without fused chunks has no parallel loops: one thread.
        for threads in (a.threads if variant in ("fused", "O3") else [1]):
            run = os.path.join(work, f"run-{name}-{variant}-{threads}")
            r = subprocess.run(["/usr/bin/time", "-v", exe, "train", "--data", a.data,
                                "--run-dir", run, "--steps", str(a.steps),
                                "--threads", str(threads),
                                "--eval-every", "0", "--eval-batches", "1",
                                "--log-every", "1"], capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"training {name} failed:\n{r.stderr[-2000:]}")
            rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
            lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
            train = [l for l in lines if l["split"] == "train"]
            tps = train[-1]["tokens_per_s"]
            rows.append((name, variant, threads, compile_s, llvm, tps, rss / 1024, train[-1]["loss"]))
            print(f"{name} {variant} ({threads} thread(s)): compile {compile_s:.1f} s, {tps:.1f} tokens/s, peak RSS {rss / 1024:.0f} MiB", file=sys.stderr)

print(f"\nwidth {a.width}, {a.layers} layers, {a.heads} heads, context {a.context}, batch {a.batch}, {a.steps} steps (last one timed), {os.cpu_count()} CPU(s)\n")
print("| model | variant | threads | compile (s) | of which LLVM opt + codegen (s) | train tokens/s | ratio to unfused | peak RSS (MiB) | loss at last step |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, variant, threads, cs, llvm, tps, rss, loss in rows:
    base = next((r[5] for r in rows if r[0] == name and r[1] == "unfused"), None)
    ratio = f"{tps / base:.2f}x" if base else "-"
    lv = sum(llvm.values())
    print(f"| {name} | {variant} | {threads} | {cs:.1f} | {lv:.1f} | {tps:.1f} | {ratio} | {rss:.0f} | {loss:.4f} |")
