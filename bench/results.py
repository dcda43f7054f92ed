#!/usr/bin/env python3
"""Regenerates docs/results.md and docs/results.png: the example models
trained on the same data split with the same token budget, several seeds
each, by their compiled executables.

For each model (examples/<name>.nl at the given width, layers, heads,
context and batch): `nlc` once, then `train --steps N --seed S` for each
seed, with validation every --eval-every steps. The table holds the
parameter count, the final validation loss (mean +- sd over seeds, nats/token
and bits per byte), the training tokens/s (mean of each run's logged
windows) and the wall-clock; the PNG the validation loss against tokens and
against wall-clock. Beside them, the nanoGPT CPU baseline as its README
reports it (not rerun here). Nothing here is a test.

With --optimizers, each model is trained by each outer optimizer of
examples/optimizers/ instead (the model's `optimizer adamw(...)` lines
replaced by the example's, at the example's learning rate times --lr), and
the section `optimizers-<models>` of the output is written (with
docs/results-optimizers-<models>.png).
Each invocation replaces only its own section of --out.

Usage: .venv/bin/python bench/results.py [--models transformer titans deltanet hope]
           [--optimizers adamw muon m3 delta_momentum momentum]
           [--width 32] [--layers 2] [--heads 2] [--context 64] [--batch 8]
           [--steps 400] [--seeds 0 1 2] [--eval-every 50] [--lr 3] [--threads 2]
           [--out docs/results.md] [--section NAME] [--work DIR [--reuse]]

Beside the PNG, a JSON file of the same name holds every run's validation
points and tokens/s. With --work DIR --reuse, an executable already in DIR
is not compiled again and a run whose metrics already reach --steps is not
trained again (its numbers are read back): a section can be regenerated,
e.g. into docs/results.md, from runs made with --out elsewhere.

The research variants (examples/variants/) beside their base models:
    --models transformer variants/transformer_rope ... --section variants
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from nl_examples import outer_optimizer, parse_run_args, write_section  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--models", nargs="+", default=["transformer", "titans", "deltanet", "hope"],
                help="examples/<name>.nl each, e.g. titans or variants/titans_huber")
ap.add_argument("--section", help="the section of --out to replace (default: models, or "
                                  "optimizers-<models> with --optimizers)")
ap.add_argument("--title", help="the section's heading (default: from the section)")
ap.add_argument("--optimizers", nargs="+", help="compare these outer optimizers (examples/optimizers/<name>.nl)")
ap.add_argument("--width", type=int, default=32)
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--heads", type=int, default=2)
ap.add_argument("--context", type=int, default=64)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--steps", type=int, default=400)
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--eval-every", type=int, default=50)
ap.add_argument("--lr", default="3", help="--lr of train (scale of each example's compiled rate)")
ap.add_argument("--warmup", type=int, default=20)
ap.add_argument("--reuse", action="store_true",
                help="with --work: keep the executables and finished runs already there")
a, nlc, work = parse_run_args(ap, "nl-results-")
LN2 = 0.6931471805599453
# nanoGPT's README (Tiny Shakespeare, characters, the same 90/10 split): a
# 4-layer, width-128 Transformer on CPU, 2000 iterations of 12 x 64 tokens.
NANOGPT = {"val_loss": 1.88, "tokens": 2000 * 12 * 64}


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"results.py: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return r


def params_of(exe):
    """The parameter count that `info` prints."""
    out = sh([exe, "info"]).stdout
    m = re.search(r"parameters: (\d+)", out)
    return int(m.group(1).replace(",", "")) if m else None


def with_optimizer(text, opt):
    """The model's text with every `optimizer adamw(...)` line replaced by the
    outer optimizer of examples/optimizers/<opt>.nl (and its definition, for
    an optimizer written in .nl, added)."""
    definition, use = outer_optimizer(opt)
    text, n = re.subn(r"optimizer adamw\(.*\)", use, text)
    if n == 0:
        sys.exit("results.py: the model has no optimizer adamw(...) line to replace")
    return (definition + "\n" if definition else "") + text


def read_run(run_dir):
    """(validation points [(tokens, wall s, loss)], the logged tokens/s, the
    wall-clock of the last entry) of a finished run in `run_dir`, or
    (None, None, None) when it has no metrics or stopped before --steps."""
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return None, None, None
    val, tps, last = [], [], None
    with open(path) as f:
        for line in f:
            m = json.loads(line)
            last = m
            if m["split"] == "val":
                val.append((m["tokens"], m["wall_s"], m["loss"]))
            elif m["tokens_per_s"] > 0:
                tps.append(m["tokens_per_s"])
    if not val or last is None or last.get("step") != a.steps:
        return None, None, None
    return val, tps, last["wall_s"]


sets = [f"d={a.width}", f"layers={a.layers}", f"heads={a.heads}", f"context={a.context}", f"batch={a.batch}"]
variants = [(m, o) for m in a.models for o in (a.optimizers or [None])]
runs = {}  # label -> list of (val points [(tokens, wall, loss)], tokens/s list, wall)
nparams = {}
for model, opt in variants:
    label = f"{model} / {opt}" if opt else model
    tag = (f"{model}-{opt}" if opt else model).replace("/", "-")
    src = os.path.join(root, "examples", f"{model}.nl")
    if opt:  # (an edited copy; the examples' imports are of files beside them)
        text = open(src).read()
        src = os.path.join(work, f"{tag}.nl")
        with open(src, "w") as f:
            f.write(with_optimizer(text, opt))
    exe = os.path.join(work, tag)
    t0 = time.time()
    if not (a.reuse and os.path.exists(exe)):
        sh([nlc, src, "-o", exe] + [x for s in sets for x in ("--set", s)])
        print(f"{label}: compiled in {time.time() - t0:.0f} s", file=sys.stderr)
    model = label
    nparams[model] = params_of(exe)
    runs[model] = []
    for seed in a.seeds:
        run_dir = os.path.join(work, f"{tag}-seed{seed}")
        val, tps, wall = read_run(run_dir) if a.reuse else (None, None, None)
        if val is None:
            sh(["rm", "-rf", run_dir])
            sh([exe, "train", "--data", a.data, "--run-dir", run_dir, "--steps", str(a.steps), "--seed", str(seed),
                "--lr", a.lr, "--warmup", str(a.warmup), "--schedule", "cosine", "--eval-every", str(a.eval_every),
                "--log-every", "10", "--threads", str(a.threads)])
            val, tps, wall = read_run(run_dir)
            if val is None:
                sys.exit(f"results.py: {run_dir} has no validation at step {a.steps}")
        runs[model].append((val, tps, wall))
        print(f"{model} seed {seed}: val {val[-1][2]:.4f} in {wall:.0f} s", file=sys.stderr)

# The plot: validation loss against tokens and against wall-clock.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
for i, model in enumerate(runs):
    color = f"C{i}"
    for j, (val, _, _) in enumerate(runs[model]):
        label = model if j == 0 else None
        ax1.plot([v[0] for v in val], [v[2] for v in val], color=color, lw=1, alpha=0.8, label=label)
        ax2.plot([v[1] for v in val], [v[2] for v in val], color=color, lw=1, alpha=0.8, label=label)
for ax in (ax1, ax2):
    ax.axhline(NANOGPT["val_loss"], color="gray", ls="--", lw=1, label="nanoGPT CPU baseline (its README)")
    ax.grid(alpha=0.3)
    ax.set_ylabel("validation loss (nats/token)")
ax1.set_xlabel("training tokens")
ax2.set_xlabel("wall-clock (s, training + validation)")
ax1.legend()
fig.suptitle(f"Tiny Shakespeare, width {a.width}, {a.layers} layers, {a.heads} heads, context {a.context}, "
             f"batch {a.batch}, {a.steps} steps, seeds {' '.join(map(str, a.seeds))}")
fig.tight_layout()
section = a.section or ("optimizers-" + "-".join(a.models) if a.optimizers else "models")
png = os.path.splitext(a.out)[0] + ("" if section == "models" else "-" + section) + ".png"
fig.savefig(png, dpi=100)
with open(os.path.splitext(png)[0] + ".json", "w") as f:
    json.dump({"command": shlex.join(["bench/results.py"] + sys.argv[1:]), "parameters": nparams,
               "runs": {m: [{"seed": s, "val": v, "tokens_per_s": t, "wall_s": w}
                            for s, (v, t, w) in zip(a.seeds, runs[m])] for m in runs}}, f, indent=1)

rows = []
for model in runs:
    finals = [r[0][-1][2] for r in runs[model]]
    mean = statistics.mean(finals)
    sd = statistics.stdev(finals) if len(finals) > 1 else 0.0
    tps = statistics.mean(statistics.mean(r[1]) for r in runs[model])
    wall = statistics.mean(r[2] for r in runs[model])
    rows.append(f"| {model} | {nparams[model] or '?':,} | {mean:.3f} ± {sd:.3f} | {mean / LN2:.3f} | "
                f"{tps:,.0f} | {wall:.0f} |")
tokens = a.steps * a.batch * a.context
cmd = shlex.join(["bench/results.py"] + sys.argv[1:])
what = ("each trained by each outer optimizer of examples/optimizers/ (its `optimizer` line in place of "
        f"the model's AdamW) at the example's learning rate times `--lr {a.lr}`" if a.optimizers else
        f"each trained with its compiled AdamW at `--lr {a.lr}` times the example's rate")
body = f"""<!-- results.py:{section} -->
## {a.title or ("Outer optimizers: " + ", ".join(a.models) if a.optimizers else
    "Research variants beside their base models" if section.startswith("variants") else "The example models")}

Generated by `.venv/bin/python {cmd}` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores,
`--threads {a.threads}`); do not edit this section by hand.

Width {a.width}, {a.layers} layers, {a.heads} heads, context {a.context}, batch {a.batch}
(`nlc examples/<model>.nl --set d={a.width} --set layers={a.layers} ...`), {what},
for {a.steps} steps ({tokens:,} tokens) on the first 90 % of Tiny Shakespeare
(byte tokens), {a.warmup} warmup steps and a cosine schedule; validation loss
on the last 10 % (8 fixed batches) every {a.eval_every} steps; seeds
{', '.join(map(str, a.seeds))}.

| {"model / optimizer" if a.optimizers else "model"} | parameters | final validation loss (nats/token, mean ± sd) | bits per byte | training tokens/s | wall-clock per run (s) |
| --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

nanoGPT's CPU baseline (its README, not rerun here): validation loss
{NANOGPT['val_loss']} after 2000 iterations of 12 x 64 characters
({NANOGPT['tokens']:,} tokens), a 4-layer, width-128 Transformer.

![validation loss against tokens and wall-clock]({os.path.basename(png)})
<!-- end results.py:{section} -->
"""
write_section(a.out, f"results.py:{section}", body, "# Results\n\nGenerated by bench/results.py.\n")
print(f"results.py: wrote {a.out} and {png}", file=sys.stderr)
