#!/usr/bin/env python3
"""Robustness to label noise: momentum as a memory with the dot-product
objective against delta momentum (the L2 objective, NL-N Eq. 22 / NL-A
Eq. 49; diagonal and matrix forms), all compiled by nlc, training
examples/regression.nl.

The task: rows of 16 standard normal features x; the clean target is a fixed
teacher, y = tanh(x . w1) + 0.5 sin(x . w2) (w1, w2 drawn once, unit norm).
The training labels (the first 90 % of the rows, the runtime's training
split) carry noise; the validation rows (the last 10 %) are clean, so the
validation loss measures how well each optimizer recovers the teacher:

  clean          no noise
  gaussian-0.5   + N(0, 0.5^2) on every label
  gaussian-1     + N(0, 1) on every label
  outliers-10%   10 % of the labels replaced by N(0, 5^2)

Each optimizer is the `optimizer` line of examples/optimizers/<name>.nl
(momentum.nl: `momentum_as_memory`, the dot-product objective;
delta_momentum.nl, one scalar memory per entry; delta_momentum_matrix.nl,
Eq. 22 as written) with weight decay set to 0, so that they differ only by
their inner objective. The learning rate is swept (--lr-scales times the
example's rate, the executables' --lr) and, per optimizer and noise, the
scale with the lowest mean final validation loss is reported; every seed
runs on its own data draw and initialization. The table goes to the section
`label-noise` of docs/results.md and the full grid to
docs/results-label-noise.json. Nothing here is a test.

Usage: .venv/bin/python bench/label_noise.py [--steps 2000] [--seeds 0 1 2]
           [--rows 20480] [--lr-scales 0.125 0.25 0.5 1 2 4 8] [--out docs/results.md]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from nl_examples import outer_optimizer, write_section
from safetensors.numpy import load_file, save_file

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--optimizers", nargs="+", default=["momentum", "delta_momentum", "delta_momentum_matrix"])
ap.add_argument("--noise", nargs="+", default=["clean", "gaussian-0.5", "gaussian-1", "outliers-10%"])
ap.add_argument("--steps", type=int, default=2000)
ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
ap.add_argument("--rows", type=int, default=20480, help="rows of each data file (10 %% are the clean validation rows)")
ap.add_argument("--lr-scales", nargs="+", default=["0.125", "0.25", "0.5", "1", "2", "4", "8"])
ap.add_argument("--out", default=os.path.join(root, "docs", "results.md"))
ap.add_argument("--work", help="keep executables, data and runs here (default: a temporary directory)")
a = ap.parse_args()

nlc = os.path.join(a.build, "bin", "nlc")
work = a.work or tempfile.mkdtemp(prefix="nl-label-noise-")
os.makedirs(work, exist_ok=True)
FEATURES, BATCH = 16, 32


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r


def make_data(path, noise, seed):
    """`data` [rows, features + 1]: features, then the (noisy) label; the
    last 10 % of the rows keep their clean labels."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((2, FEATURES))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    x = rng.standard_normal((a.rows, FEATURES))
    y = np.tanh(x @ w[0]) + 0.5 * np.sin(x @ w[1])
    train = a.rows * 9 // 10
    noisy = y.copy()
    kind, _, level = noise.partition("-")
    if kind == "gaussian":
        noisy[:train] += float(level) * rng.standard_normal(train)
    elif kind == "outliers":
        hit = rng.random(train) < float(level.rstrip("%")) / 100
        noisy[:train][hit] = 5.0 * rng.standard_normal(hit.sum())
    elif kind != "clean":
        sys.exit(f"label_noise.py: unknown noise '{noise}'")
    save_file({"data": np.concatenate([x, noisy[:, None]], 1).astype(np.float32)}, path)


def source(opt):
    """examples/regression.nl trained by the outer optimizer of
    examples/optimizers/<opt>.nl, without weight decay."""
    definition, use = outer_optimizer(opt)
    use = re.sub(r"weight_decay\s*=\s*[0-9.eE+-]+", "weight_decay = 0", use)
    regression = os.path.join(root, "examples", "regression.nl")
    return f"""import "{regression}"
{definition}
model regression_{opt}(features = {FEATURES}, outputs = 1, hidden = 64, batch = {BATCH})

level train every 1 step {{
  {use}
}}

loss = mean((regressor(inputs) - targets)^2)
"""


exes = {}
for opt in a.optimizers:
    src = os.path.join(work, f"regression_{opt}.nl")
    with open(src, "w") as f:
        f.write(source(opt))
    exes[opt] = os.path.join(work, f"regression_{opt}")
    r = sh([nlc, src, "-o", exes[opt]])
    if r.returncode:
        sys.exit(f"label_noise.py: nlc {src} failed:\n{r.stderr[-3000:]}")

data = {}
for noise in a.noise:
    for seed in a.seeds:
        data[noise, seed] = os.path.join(work, f"{noise}-seed{seed}.safetensors")
        make_data(data[noise, seed], noise, 1000 + seed)

val_batches = (a.rows - a.rows * 9 // 10 + BATCH - 1) // BATCH
grid = {}  # (opt, noise, scale) -> [final clean validation loss per seed]
t0 = time.time()
for opt in a.optimizers:
    for noise in a.noise:
        for scale in a.lr_scales:
            losses = []
            for seed in a.seeds:
                run = os.path.join(work, f"{opt}-{noise}-{scale}-{seed}")
                sh(["rm", "-rf", run])
                r = sh([exes[opt], "train", "--data", data[noise, seed], "--run-dir", run, "--steps", str(a.steps),
                        "--seed", str(seed), "--lr", scale, "--eval-every", "0", "--eval-batches",
                        str(val_batches), "--log-every", str(a.steps), "--threads", "1"])
                if r.returncode == 3:  # a non-finite loss: diverged
                    losses.append(float("inf"))
                    continue
                if r.returncode:
                    sys.exit(f"label_noise.py: training {run} failed:\n{r.stderr[-3000:]}")
                with open(os.path.join(run, "metrics.jsonl")) as f:
                    val = [json.loads(line) for line in f if '"val"' in line]
                losses.append(val[-1]["loss"])
            grid[opt, noise, scale] = losses
            print(f"{opt:>15} {noise:>13} lr x{scale:<5}: " + " ".join(f"{v:.4f}" for v in losses), file=sys.stderr)
print(f"label_noise.py: {len(grid) * len(a.seeds)} runs in {time.time() - t0:.0f} s", file=sys.stderr)


def mean_sd(v):
    if any(not np.isfinite(x) for x in v):
        return float("inf"), 0.0
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def lr_of(opt):
    return float(re.search(r"lr\s*=\s*([0-9.eE+-]+)", outer_optimizer(opt)[1]).group(1))


best = {}
for opt in a.optimizers:
    for noise in a.noise:
        scale = min(a.lr_scales, key=lambda s: mean_sd(grid[opt, noise, s])[0])
        best[opt, noise] = (scale, *mean_sd(grid[opt, noise, scale]))

json_path = os.path.splitext(a.out)[0] + "-label-noise.json"
with open(json_path + ".tmp", "w") as f:
    json.dump({"steps": a.steps, "rows": a.rows, "batch": BATCH, "seeds": a.seeds,
               "grid": [{"optimizer": o, "noise": n, "lr_scale": s, "lr": lr_of(o) * float(s),
                         "val_loss": [v if np.isfinite(v) else None for v in grid[o, n, s]]}
                        for (o, n, s) in grid]}, f, indent=1)
os.replace(json_path + ".tmp", json_path)

# What separates the objectives: delta momentum forgets the momentum by a
# factor (beta - lr g^2) per entry; the matrix form by (beta I - lr g^T g),
# i.e. lr times the squared singular values of each matrix's gradient
# (a vector's: lr |g|^2). Measured, against beta = 0.9, on the gradient of
# the last training batch of seed 0's run at each one's best learning rate:
# the median and the largest over entries (diagonal) or over parameters
# (matrix: lr sigma_max^2).
forget = {}  # (opt, noise) -> (median, max)
for opt in [o for o in a.optimizers if o.startswith("delta_momentum")]:
    for noise in a.noise:
        scale = best[opt, noise][0]
        run = os.path.join(work, f"{opt}-{noise}-{scale}-{a.seeds[0]}")
        out = os.path.join(work, f"dump-{opt}-{noise}.safetensors")
        r = sh([exes[opt], "dump", "--data", data[noise, a.seeds[0]], "--run-dir", run,
                "--seed", str(a.seeds[0]), "--batch-step", str(a.steps - 1), "--out", out])
        if r.returncode:
            continue
        lr = lr_of(opt) * float(scale)
        grads = [v.astype(np.float64) for k, v in load_file(out).items() if k.startswith("grad.")]
        if opt == "delta_momentum":
            v = lr * np.concatenate([g.ravel() for g in grads]) ** 2
        else:
            v = lr * np.array([np.linalg.norm(g, 2) ** 2 if g.ndim == 2 else np.sum(g * g) for g in grads])
        forget[opt, noise] = (float(np.median(v)), float(v.max()))

# The teacher's variance: the validation loss of predicting its mean.
rng = np.random.default_rng(0)
w = rng.standard_normal((2, FEATURES))
w /= np.linalg.norm(w, axis=1, keepdims=True)
x = rng.standard_normal((100000, FEATURES))
teacher_var = float(np.var(np.tanh(x @ w[0]) + 0.5 * np.sin(x @ w[1])))

forgetting = sorted({o for o, _ in forget})
# Paired by seed (each seed is one data draw and one initialization, shared
# by the optimizers): the difference from the first optimizer (momentum).
base = a.optimizers[0]
paired = [o for o in a.optimizers[1:]]
header = "| noise | " + " | ".join(f"{o} (best lr)" for o in a.optimizers) + " |"
header += "".join(f" {o} − {base}, paired (seeds better) |" for o in paired)
header += "".join(f" forgetting of {o} (median / max) |" for o in forgetting)
rule = "|---|" + "---|" * (len(a.optimizers) + len(paired) + len(forgetting))
rows = []
for noise in a.noise:
    cells = []
    for opt in a.optimizers:
        scale, m, sd = best[opt, noise]
        cells.append("diverged" if not np.isfinite(m) else f"{m:.4f} ± {sd:.4f} (lr {lr_of(opt) * float(scale):g})")
    for o in paired:
        mine, theirs = grid[o, noise, best[o, noise][0]], grid[base, noise, best[base, noise][0]]
        diff = [x - y for x, y in zip(mine, theirs)]
        dm, dsd = mean_sd(diff)
        cells.append("—" if not np.isfinite(dm) else
                     f"{dm:+.4f} ± {dsd:.4f} ({sum(d < 0 for d in diff)}/{len(diff)})")
    for o in forgetting:
        cells.append("{:.1e} / {:.1e}".format(*forget[o, noise]) if (o, noise) in forget else "?")
    rows.append(f"| {noise} | " + " | ".join(cells) + " |")
section = "label-noise"
body = f"""<!-- label_noise.py:{section} -->
## Label noise: delta momentum against momentum

`bench/label_noise.py` (`--steps {a.steps} --rows {a.rows} --seeds {' '.join(map(str, a.seeds))} --lr-scales
{' '.join(a.lr_scales)}`; do not edit this section by hand): examples/regression.nl (16 features, a
64-unit GELU MLP, batch {BATCH}, mean squared error) trained by momentum as a memory (dot-product
objective) and by delta momentum (L2 objective; diagonal and matrix forms, docs/optimizers.md),
all at β = 0.9 and without weight decay. The
training labels carry the noise; the validation rows are clean. Final validation loss (MSE
against the clean teacher, mean ± sd over {len(a.seeds)} seeds, each its own data draw) at the
learning rate of the sweep that is best for that optimizer and noise, and each delta momentum's
difference from momentum paired by seed (negative: lower loss; in how many seeds it is lower);
predicting the teacher's
mean scores about {teacher_var:.3f}. The forgetting columns say how much the L2 objective
acts, against β = 0.9: `delta_momentum` steps m ← (β − lr g²) m − lr g, so its column is
lr g² over the parameter entries; `delta_momentum_matrix` steps m ← m (β I − lr gᵀg) − lr g,
so its column is lr σ_max(g)² over the parameter tensors (a vector's lr ‖g‖²), each on the
last training batch of seed {a.seeds[0]}'s run at its best learning rate. The whole grid is in
[results-label-noise.json]({os.path.basename(json_path)}).

{header}
{rule}
""" + "\n".join(rows) + f"""
<!-- end label_noise.py:{section} -->
"""
write_section(a.out, f"label_noise.py:{section}", body)
print(f"label_noise.py: wrote {a.out} and {json_path}", file=sys.stderr)
