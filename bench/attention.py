#!/usr/bin/env python3
"""What causal attention costs in a Transformer step, fused or decomposed
(issue 19): examples/transformer.nl (or --set sizes) compiled three ways,
trained side by side in one run:

  fused       nlc's default: the runtime's flash-style kernels
              (runtime/lib/Attention.cpp), no T x T matrix
  decomposed  --fused-attention=false: q kᵀ, the causal mask, softmax and
              the weighted sum as separate ops (products on BLIS), as nlc
              did before 2026-12-04
  none        the same model with attention replaced by an elementwise
              product of q, k and v (not a model anyone would train: it
              measures the step without attention)

at each configuration of --configs (comma-separated --set values; "" is
the example as shipped). Each trains --steps steps (--repeats interleaved
repeats, median); the tokens/s of the steps after the first --warmup,
attention's share of the step (time per step minus the `none` variant's)
and the heap after the last step (the decomposition holds B·H·T·T scores
and probabilities per layer for the backward pass; the kernels none).
Writes the section `attention.py` of --out (docs/results.md). Nothing here
is a test.

Usage: .venv/bin/python bench/attention.py [--configs "" context=1024,batch=2]
           [--steps 40] [--warmup 10] [--repeats 3] [--threads 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nl_examples import ROOT, parse_run_args, write_section  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build", default=os.path.join(ROOT, "build"))
ap.add_argument("--configs", nargs="+", default=["", "context=1024,batch=2"],
                help="configurations: comma-separated NAME=VALUE for nlc --set")
ap.add_argument("--steps", type=int, default=40)
ap.add_argument("--warmup", type=int, default=10)
ap.add_argument("--repeats", type=int, default=3)
a, nlc, work = parse_run_args(ap, "nl-attention-")

src = open(os.path.join(ROOT, "examples", "transformer.nl")).read()
line = "  a = attention(heads(h @ wq, heads), heads(h @ wk, heads), heads(h @ wv, heads))"
if line not in src:
    sys.exit("attention.py: examples/transformer.nl has no attention line to replace")
none_src = os.path.join(work, "transformer_none.nl")
with open(none_src, "w") as f:
    f.write(src.replace(line, "  a = heads(h @ wq, heads) * heads(h @ wk, heads) * heads(h @ wv, heads)"))


def run(exe):
    """(tokens/s after the warm-up, heap MiB after the last step, tokens per
    step) of one training run."""
    run_dir = os.path.join(work, "run")
    subprocess.run(["rm", "-rf", run_dir])
    subprocess.run([exe, "train", "--data", a.data, "--run-dir", run_dir, "--steps", str(a.steps),
                    "--eval-every", "0", "--log-every", "1", "--threads", str(a.threads)],
                   check=True, capture_output=True)
    rows = [json.loads(x) for x in open(os.path.join(run_dir, "metrics.jsonl"))]
    train = {r["step"]: r for r in rows if r["split"] == "train"}
    tokens = train[1]["tokens"]
    tps = tokens * (a.steps - a.warmup) / (train[a.steps]["wall_s"] - train[a.warmup]["wall_s"])
    return tps, train[a.steps]["heap_mib"], tokens


tables = []
for config in a.configs:
    sets = [x for kv in config.split(",") if kv for x in ("--set", kv)]
    variants = {
        "fused": [os.path.join(ROOT, "examples", "transformer.nl")],
        "decomposed": [os.path.join(ROOT, "examples", "transformer.nl"), "--fused-attention=false"],
        "none": [none_src],
    }
    exes = {}
    for name, args in variants.items():
        exes[name] = os.path.join(work, name)
        subprocess.run([nlc] + args + sets + ["-o", exes[name]], check=True)
    got = {name: [] for name in variants}
    for _ in range(a.repeats):
        for name, exe in exes.items():
            got[name].append(run(exe))
    info = subprocess.run([exes["fused"], "info"], capture_output=True, text=True,
                          check=True).stdout.splitlines()[0]
    med = {name: statistics.median(r[0] for r in v) for name, v in got.items()}
    heap = {name: max(r[1] for r in v) for name, v in got.items()}
    tokens = got["fused"][0][2]
    ms = {name: 1000 * tokens / med[name] for name in med}
    rows = "\n".join(
        f"| {name} | {med[name]:,.0f} | {ms[name]:.0f} | "
        + (f"{ms[name] - ms['none']:.0f} ({(ms[name] - ms['none']) / ms[name]:.0%})" if name != "none" else "-")
        + f" | {heap[name]:,.0f} |" for name in variants)
    tables.append(f"""{info.strip().removeprefix('model ')}:

| attention | tokens/s | ms per step | attention's ms per step (share) | heap (MiB) |
| --- | --- | --- | --- | --- |
{rows}
""")
    print(tables[-1], file=sys.stderr)


cmd = " ".join(["bench/attention.py"] + [x for i, x in enumerate(sys.argv[1:])
                                         if x not in ("--work", "--out") and sys.argv[i] not in ("--work", "--out")])
body = f"""<!-- attention.py -->
## Causal attention in the Transformer step: fused kernels against the decomposition

Generated by `.venv/bin/python {cmd}` ({os.cpu_count()} cores, {a.threads} threads); do not edit by hand.
examples/transformer.nl at each configuration; {a.repeats} interleaved repeats of {a.steps} steps, median
tokens/s after {a.warmup} warm-up steps. `fused`: nlc's default, the runtime's flash-style kernels;
`decomposed`: `--fused-attention=false` (q kᵀ, mask, softmax and the weighted sum as separate ops,
the products on BLIS); `none`: attention replaced by an elementwise product (the step without
attention). Attention's share: ms per step minus `none`'s. Heap: malloc's after the last step.

""" + "\n".join(tables) + """
<!-- end attention.py -->
"""
write_section(a.out, "attention.py", body)
print(body)
