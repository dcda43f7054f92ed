#!/usr/bin/env python3
"""Memory of the backward pass against sequence length, with and without
chunk checkpointing (derive-inner-updates{checkpoint=true|false}), in one run.

Compiles examples/titans.nl shrunk to width 64, 2 heads, one layer, batch 2,
chunk size 16, float64, for several context lengths T; runs @loss_grad once
through nl-gradcheck --run-only (JIT) and reports the growth of the peak
resident set during the call. Checkpointing keeps the memory state at chunk
boundaries only (O(T/C) states) and recomputes a chunk's per-token states in
the backward pass; without it every per-token state of every chunk stays
alive until the backward pass (O(T)).

Usage: python3 bench/backward_memory.py [BUILD_DIR] [T ...]
"""
import os
import re
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
lengths = [int(t) for t in sys.argv[2:]] or [64, 256, 1024]
bin_ = os.path.join(build, "bin")


def model(T):
    text = open(os.path.join(root, "examples", "titans.nl")).read()
    text = re.sub(r"^model (\w+)\(.*\)$",
                  rf"model \1(vocab = 256, d = 64, layers = 1, heads = 2, context = {T}, batch = 2)",
                  text, count=1, flags=re.M)
    return re.sub(r"every \d+ tokens \{", "every 16 tokens {", text)


def measure(T, checkpoint):
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "m.nl")
        open(src, "w").write(model(T))
        ir = subprocess.run([os.path.join(bin_, "nlc"), "--f64", src], check=True,
                            capture_output=True, text=True).stdout
        ir = subprocess.run([os.path.join(bin_, "nl-opt"),
                             f"--derive-inner-updates=checkpoint={str(checkpoint).lower()}",
                             "--build-train-step"], input=ir, check=True,
                            capture_output=True, text=True).stdout
        out = subprocess.run([os.path.join(bin_, "nl-gradcheck"), "--run-only", "--scale=0.1", "-"],
                             input=ir, check=True, capture_output=True, text=True).stdout
        m = re.search(r"loss ([-\d.e+]+), ([\d.]+) s, .*\(\+([\d.]+) MiB", out)
        return float(m.group(1)), float(m.group(2)), float(m.group(3))


print("| T | checkpointed: MiB, s | not checkpointed: MiB, s | memory ratio | same loss |")
print("|---|---|---|---|---|")
for T in lengths:
    lc, tc, mc = measure(T, True)
    ln, tn, mn = measure(T, False)
    ratio = mn / mc if mc > 0 else float("inf")
    print(f"| {T} | {mc:.1f}, {tc:.2f} | {mn:.1f}, {tn:.2f} | {ratio:.1f}x | {abs(lc - ln) <= 1e-9 * max(1, abs(ln))} |")
